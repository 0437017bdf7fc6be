"""The catalogue of built-in forecast scenarios."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.deps import STRICT
from api.errors import NotFound
from api.responses import ERRORS
from forecasting import SCENARIOS

router = APIRouter(prefix="/v1/scenarios", tags=["forecasts"], dependencies=STRICT)
ScenarioName = Annotated[str, Path(description="A built-in scenario name", examples=["baseline"], max_length=64)]


class ScenarioListPublic(BaseModel):
    data: list[dict[str, Any]] = Field(description="Each scenario: name, title, description, driver paths, settings")
    count: int


@router.get("", summary="List built-in scenarios", response_model=ScenarioListPublic, responses=ERRORS)
async def list_scenarios() -> ScenarioListPublic:
    """Built-in scenarios with a description an analyst can quote, their driver paths and model settings."""
    data = [s.to_dict() for s in SCENARIOS.values()]
    return ScenarioListPublic(data=data, count=len(data))


@router.get("/{name}", summary="Describe a scenario", responses=ERRORS)
async def get_scenario(name: ScenarioName) -> dict[str, Any]:
    """One built-in scenario."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        raise NotFound(f"scenario {name!r} does not exist; built-in: {', '.join(SCENARIOS)}")
    return scenario.to_dict()
