"""The catalogue of built-in forecast scenarios."""

from __future__ import annotations

from functools import cache
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from api.errors import NotFound
from api.forecasts.schemas import ScenarioOut
from api.web.cache import make_etag, matches
from api.web.deps import JSON_ONLY, STRICT, StateDep
from api.web.responses import ERRORS
from forecasting import SCENARIOS

router = APIRouter(prefix="/v1/scenarios", tags=["forecasts"], dependencies=[*STRICT, *JSON_ONLY])
ScenarioName = Annotated[str, Path(description="A built-in scenario name", examples=["baseline"], max_length=64)]


class ScenarioListPublic(BaseModel):
    data: list[ScenarioOut] = Field(description="Each scenario: name, title, description, driver paths, settings")
    count: int


@cache
def _body(name: str | None) -> tuple[bytes, str]:
    """The scenario (or the list) as JSON and its ETag. Built-in scenarios are fixed for the life of the
    process (they ship with the model), so both are computed once."""
    if name is None:
        data = [s.to_dict() for s in SCENARIOS.values()]
        document: BaseModel = ScenarioListPublic.model_validate({"data": data, "count": len(data)})  # as documented
    else:
        document = ScenarioOut.model_validate(SCENARIOS[name].to_dict())
    body = document.model_dump_json(by_alias=True).encode()
    return body, make_etag("scenario", name, body)


def _answer(request: Request, state: StateDep, name: str | None) -> Response:
    body, etag = _body(name)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={state.settings.cache_max_age}"}
    if matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get(
    "",
    summary="List built-in scenarios",
    response_model=ScenarioListPublic,
    responses={304: {"description": "Not modified"}, **ERRORS},
)
async def list_scenarios(request: Request, state: StateDep) -> Response:
    """Built-in scenarios with a description an analyst can quote, their driver paths and model settings."""
    return _answer(request, state, None)


@router.get(
    "/{name}",
    summary="Describe a scenario",
    response_model=ScenarioOut,
    responses={304: {"description": "Not modified"}, **ERRORS},
)
async def get_scenario(name: ScenarioName, request: Request, state: StateDep) -> Response:
    """One built-in scenario."""
    if name not in SCENARIOS:
        raise NotFound(f"scenario {name!r} does not exist; built-in: {', '.join(SCENARIOS)}")
    return _answer(request, state, name)
