"""What the forecast routes share: the request body, job documents, and the cache-or-submit flow."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.datasets.catalog import Snapshot
from api.errors import PROBLEM_JSON, InvalidParameter, TivcastError, problem
from api.forecasts.schemas import JobDocument
from api.operations.security import TOO_LARGE
from api.web.cache import matches
from api.web.deps import AppState
from api.web.responses import ERRORS
from forecasting import ForecastingError, ForecastInputs
from workers.jobs import Job
from workers.requests import JobSpec

IMMUTABLE = "public, max-age=31536000, immutable"
LATEST = "no-cache"  # revalidate every time: "latest" moves when the data or model changes
RETRY_SECONDS = 2


def job_responses(result: Any, what: str, *, pending: bool = True) -> dict[int | str, dict[str, Any]]:
    """The responses of a forecast route: 200 with ``result`` (a model, or a union of models), and with
    ``pending`` the 202 job document while it is computed and the 304 of a matching ETag.

    Each status has its own typed body (``api.forecasts.schemas``), so that a generated client parses every
    response into its class (``GET /v1/jobs/{key}`` answers the job document itself with 200)."""
    waiting: dict[int | str, dict[str, Any]] = {
        202: {"description": "Accepted: the job is queued or running; poll the Location / status URL",
              "model": JobDocument},
        304: {"description": "Not modified (If-None-Match matched the content key)"},
    }
    return {
        200: {"description": what, "model": result},
        **(waiting if pending else {}),
        **ERRORS,
        **TOO_LARGE,  # the router's body limit applies to every route on it (Starlette checks Content-Length)
        503: {
            "description": "Redis or the workers are unavailable; retry after Retry-After",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        },
    }


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    country: str = Field(pattern=r"^[A-Za-z]{3}$", examples=["JPN"])
    measure: Literal["share", "tiv"] = "share"


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int | None = Field(default=None, ge=1950, le=2100, strict=True)
    end: int | None = Field(default=None, ge=1950, le=2100, strict=True)


MAX_SCENARIO_CHARS, MAX_SCENARIO_DEPTH = 16_384, 6


def _bounded(value: dict[str, Any]) -> dict[str, Any]:
    """A custom scenario's size is bounded here; its content is checked by ``forecasting.parsing``."""
    if len(json.dumps(value, separators=(",", ":"))) > MAX_SCENARIO_CHARS:
        raise ValueError(f"a custom scenario may have at most {MAX_SCENARIO_CHARS} characters of JSON")
    if _depth(value) > MAX_SCENARIO_DEPTH:
        raise ValueError(f"a custom scenario may nest at most {MAX_SCENARIO_DEPTH} levels deep")
    return value


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


ScenarioName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="A built-in scenario")]
CustomScenario = Annotated[
    dict[str, Any],
    Field(max_length=12, description="A custom scenario (see the examples); at most 16 KiB of JSON"),
    AfterValidator(_bounded),
]
Scenario = ScenarioName | CustomScenario


class ForecastIn(BaseModel):
    """One scenario (``scenario``: a built-in name or a custom object) or several (``scenarios``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"target": {"country": "JPN", "measure": "share"}, "scenario": "baseline", "horizon": 10},
                {"target": {"country": "JPN"}, "scenarios": ["baseline", "liberalisation", "restriction"]},
                {
                    "target": {"country": "JPN"},
                    "scenario": {
                        "name": "gcap-boost",
                        "base": "baseline",
                        "changes": [{"driver": "export_policy_openness", "op": "set", "value": 0.8, "from_year": 2027}],
                    },
                },
            ]
        },
    )
    target: TargetIn
    scenario: Scenario | None = None
    scenarios: Annotated[list[Scenario] | None, Field(min_length=1, max_length=10)] = None
    # Strict: a JSON bool or string is not a number (``true`` was horizon 1, ``"10"`` was 10); a strict float
    # still takes a JSON integer, and NaN or an infinity is refused as not finite.
    horizon: int = Field(default=10, ge=1, le=30, strict=True, description="Years ahead")
    interval_width: float = Field(
        default=0.8, gt=0, lt=1, strict=True, allow_inf_nan=False, description="e.g. 0.8 for an 80 % interval"
    )
    history_window: WindowIn | None = None

    def model_post_init(self, _context: Any) -> None:
        if self.scenario is not None and self.scenarios is not None:
            raise InvalidParameter("scenarios", "give either 'scenario' or 'scenarios', not both")


class InvalidForecast(TivcastError):
    status, title, slug = 422, "Invalid forecast request", "invalid-forecast"


def spec_or_422(build: Callable[[], JobSpec], prefix: str = "") -> JobSpec:
    """Run a job builder; the core's validation errors become a 422 naming the field."""
    try:
        return build()
    except ForecastingError as exc:
        field = getattr(exc, "field", None) or prefix or "body"
        raise InvalidForecast(str(exc), errors=[{"field": field, "message": str(exc)}]) from None


async def inputs_for(state: AppState, snapshot: Snapshot, country: str) -> ForecastInputs:
    """The country's inputs at the current data version; the database is read once per version."""
    code = snapshot.country(country).code
    cached = state.inputs.get(code, snapshot.version)
    return cached if cached is not None else await run_in_threadpool(state.inputs.load, state.engine, snapshot, code)


def result_response(key: str, body: bytes, *, latest: bool) -> Response:
    headers = {
        "ETag": f'"{key}"',
        "Cache-Control": LATEST if latest else IMMUTABLE,
        "Content-Location": f"/v1/forecasts/{key}",
    }
    return Response(body, media_type="application/json", headers=headers)


def failed_problem(job: Job) -> JSONResponse:
    return problem(
        422,
        "Forecast failed",
        f"the forecast job failed: {job.error}",
        slug="forecast-failed",
        errors=[{"field": "job", "message": job.error or "failed"}],
        instance=f"/v1/jobs/{job.key}",
    )


async def job_document(state: AppState, job: Job) -> dict[str, Any]:
    document = job.to_dict()
    document["links"] = {"self": f"/v1/jobs/{job.key}", "result": f"/v1/forecasts/{job.key}"}
    document["status_url"] = f"/v1/jobs/{job.key}"
    if job.state == "queued":
        online = await state.service.workers_online()
        document["workers_online"] = online
        age = document.get("age_seconds")
        document["note"] = (
            f"no worker is running: the job waits in the queue (queued {age:.0f} s ago)"
            if online == 0
            else "waiting for a free worker"
        )
    return document


async def job_response(state: AppState, job: Job, *, status: int) -> JSONResponse:
    headers = {"Location": f"/v1/forecasts/{job.key}", "Cache-Control": "no-store"}
    if job.state in ("queued", "running"):
        headers["Retry-After"] = str(RETRY_SECONDS)
    return JSONResponse(await job_document(state, job), status_code=status, headers=headers)


async def serve_spec(
    request: Request, state: AppState, spec: JobSpec, *, latest: bool, version: str | None = None
) -> Response:
    """304, the cached result, or submit (single-flight) and answer 202 with the job."""
    etag = f'"{spec.key}"'
    if matches(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": LATEST if latest else IMMUTABLE})
    body = await state.service.get_result(spec.key)
    if body is None:
        job = await state.service.submit(spec)  # a failed job is reset and queued again by submit
        if job.state == "failed":  # not reset: it crashed its workers and is cooling off (its reason says so)
            return failed_problem(job)
        if job.state != "succeeded":
            return await job_response(state, job, status=202)
        body = await state.service.get_result(spec.key)
        if body is None:  # evicted between the two reads: compute again
            return await job_response(state, await state.service.submit(spec), status=202)
    response = result_response(spec.key, body, latest=latest)
    if latest and version is not None:
        state.urls.remember(request.scope, version, etag, response)
    return response
