"""Forecast jobs and results: submit, poll, fetch, the dashboard's "latest" URL, comparisons, backtests.

A forecast is identified by its content key (DESIGN.md, "Forecast identity"): the key is the job id
and the result's ETag, and a result never changes, so it is served with ``Cache-Control: immutable``.
The API never waits on a worker: a missing result answers 202 with the job and a ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Body, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.errors import InvalidParameter, NotFound
from api.forecasts.jobs import (
    IMMUTABLE,
    ForecastIn,
    failed_problem,
    inputs_for,
    job_response,
    job_responses,
    result_response,
    serve_spec,
    spec_or_422,
)
from api.forecasts.schemas import AnyResult, BacktestReport, ForecastResult, JobDocument, ScenarioSetResult
from api.operations.security import LIMITED, rate_limited
from api.web.cache import matches
from api.web.deps import JSON_ONLY, STRICT, SnapshotDep, StateDep
from forecasting.panel import WORLD
from workers.requests import backtest_job, forecast_job, scenario_set_job

# Unknown or repeated query parameters are a 422 (POST takes none: everything is in the body); JSON only.
router = APIRouter(tags=["forecasts"], dependencies=[*STRICT, *JSON_ONLY])
Key = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="Content key of a forecast (64 hex digits)")]
Country = Annotated[str, Query(pattern=r"^[A-Za-z]{3}$", description="ISO3 code", examples=["JPN"])]
Measure = Annotated[str, Query(pattern=r"^(share|tiv)$", description="share (percent of world) or tiv")]


@router.post(
    "/v1/forecasts",
    summary="Request a forecast",
    status_code=202,
    responses={**job_responses(ForecastResult | ScenarioSetResult, "The result, already computed"), **LIMITED},
    dependencies=[rate_limited("forecasts")],
)
async def post_forecast(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    body: Annotated[ForecastIn, Body()],
    idempotency_key: Annotated[str | None, Header(max_length=200, description="Replays are safe")] = None,
) -> Response:
    """Start (or find) the forecast of one scenario, or of several side by side.

    200 with the result when it is already computed; otherwise 202 with the job, a ``Location``
    header (the result URL) and a status URL. Identical requests share one computation."""
    country = snapshot.country(body.target.country).code
    inputs = await inputs_for(state, snapshot, country)
    target = {"country": country, "measure": body.target.measure}
    window = body.history_window.model_dump() if body.history_window else None
    if body.scenarios is not None:
        spec = spec_or_422(
            lambda: scenario_set_job(target, body.scenarios or [], body.horizon, body.interval_width, inputs, window)
        )
    else:
        raw = {
            "target": target,
            "scenario": body.scenario or "baseline",
            "horizon": body.horizon,
            "interval_width": body.interval_width,
            "history_window": window,
        }
        spec = spec_or_422(lambda: forecast_job(raw, inputs))
    if idempotency_key is None:
        return await serve_spec(request, state, spec, latest=False)
    digest = hashlib.sha256(json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()).hexdigest()
    reused = InvalidParameter("Idempotency-Key", "was already used with a different request body")
    previous = await state.service.idempotency_seen(idempotency_key)
    if previous is not None and previous != digest:
        raise reused
    response = await serve_spec(request, state, spec, latest=False)
    if response.status_code in (200, 202):
        # Stored only once the request was answered (a refused one leaves nothing), and within admission.
        previous = await state.service.idempotency(idempotency_key, digest, spec.key)
        if previous is not None and previous != digest:
            raise reused  # a concurrent first use with another body won; this request's job is harmless (content-keyed)
    return response


@router.get(
    "/v1/forecasts/latest",
    summary="The current forecast of a country and scenario",
    responses=job_responses(ForecastResult, "The current forecast"),
)
async def latest_forecast(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    country: Country,
    scenario: Annotated[str, Query(max_length=64, description="A built-in scenario")] = "baseline",
    measure: Measure = "share",
) -> Response:
    """The URL a dashboard polls: resolves to the current content key, answers from cache with ETag/304,
    and starts the computation when it is missing (202 + Retry-After)."""
    inputs = await inputs_for(state, snapshot, country)
    raw = {"target": {"country": inputs.country, "measure": measure}, "scenario": scenario}
    spec = spec_or_422(lambda: forecast_job(raw, inputs))
    return await serve_spec(request, state, spec, latest=True, version=snapshot.version)


@router.get(
    "/v1/forecasts/compare",
    summary="Scenarios side by side",
    responses=job_responses(ScenarioSetResult, "The scenarios side by side"),
)
async def compare_forecasts(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    country: Country,
    scenarios: Annotated[
        str,
        Query(
            max_length=300,
            description="Comma-separated built-in scenarios",
            examples=["baseline,liberalisation,restriction"],
        ),
    ] = "baseline,liberalisation,restriction",
    measure: Measure = "share",
    horizon: Annotated[int, Query(ge=1, le=30)] = 10,
) -> Response:
    """Each scenario's forecast, a side-by-side table, and every scenario's difference from the baseline."""
    names = [s.strip() for s in scenarios.split(",") if s.strip()]
    if not names or len(names) > 10:
        raise InvalidParameter("scenarios", "name between 1 and 10 scenarios, comma-separated")
    inputs = await inputs_for(state, snapshot, country)
    target = {"country": inputs.country, "measure": measure}
    spec = spec_or_422(lambda: scenario_set_job(target, names, horizon, 0.8, inputs), prefix="scenarios")
    return await serve_spec(request, state, spec, latest=True, version=snapshot.version)


@router.get(
    "/v1/backtests",
    summary="Backtest of the model against naive baselines",
    responses=job_responses(BacktestReport, "The backtest report"),
)
async def get_backtest(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    country: Country,
    measure: Annotated[
        str | None,
        Query(
            pattern=r"^(share|tiv)$",
            description="share (percent of world) or tiv; by default share, and tiv for WLD (the world total is "
            "evaluated in TIV only: its share is 100 %)",
        ),
    ] = None,
) -> Response:
    """Rolling-origin accuracy (MAE, RMSE, sMAPE, MASE, interval coverage) against naive baselines,
    with a skill score and a plain verdict; computed once per data and model version."""
    inputs = await inputs_for(state, snapshot, country)
    evaluated = _backtest_measure(inputs.country, measure)
    spec = spec_or_422(lambda: backtest_job({"country": inputs.country, "measure": evaluated}, inputs))
    return await serve_spec(request, state, spec, latest=True, version=snapshot.version)


def _backtest_measure(country: str, measure: str | None) -> str:
    """The measure a backtest is evaluated (and labelled) in: the world total only in TIV, as POST
    /v1/forecasts refuses its share; a stated ``measure=share`` for it is a 422 naming the parameter."""
    if country != WORLD:
        return measure or "share"
    if measure == "share":
        raise InvalidParameter("measure", "the world's share of world exports is 100 %; the world total is "
                                          "evaluated in 'tiv' only (measure=tiv, its default)")
    return "tiv"


@router.get(
    "/v1/forecasts/{key}",
    summary="A forecast result",
    responses=job_responses(AnyResult, "The result under its key: a forecast, a scenario set or a backtest"),
)
async def get_forecast(key: Key, request: Request, state: StateDep) -> Response:
    """The result under its content key: immutable, ``ETag`` = key; 202 with ``Retry-After`` while it runs."""
    etag = f'"{key}"'
    if matches(request, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
    body = await state.service.get_result(key)
    if body is not None:
        return result_response(key, body, latest=False)
    job = await state.service.get_job(key)
    if job is None:
        raise NotFound(f"no forecast or job with key {key!r}; POST /v1/forecasts to request one")
    if job.state == "failed":
        return failed_problem(job)
    if job.state == "succeeded":  # stored before the job was marked succeeded, so since expired or evicted
        raise NotFound(f"the result of {key!r} is no longer stored (the result cache expired or evicted it); POST "
                       "/v1/forecasts with the same request to compute it again")
    return await job_response(state, job, status=202)


@router.get(
    "/v1/jobs/{key}", summary="A job's state", responses=job_responses(JobDocument, "The job", pending=False)
)
async def get_job(key: Key, state: StateDep) -> JSONResponse:
    """State (queued, running, succeeded, failed), timestamps, attempts, error, age; a link to the result."""
    job = await state.service.get_job(key)
    if job is None:
        raise NotFound(f"no job with key {key!r}")
    return await job_response(state, job, status=200)
