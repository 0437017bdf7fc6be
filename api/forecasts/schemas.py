"""Response schemas of the forecast, job, compare and backtest operations (the OpenAPI document's types).

The bodies are built by the forecasting core and the workers (canonical JSON,
content-addressed), not by these models: the models document them for clients
and generated SDKs, and the schemathesis run checks real responses against
them. They allow extra fields, so that adding a field is not a breaking change;
every field a client relies on is typed. Interval bounds are keyed by the
interval width (``lo-80``/``hi-80`` for 0.8), so they are additional properties
of a forecast row.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AnyResult", "BacktestReport", "ForecastResult", "JobDocument", "ScenarioOut", "ScenarioSetResult"]

OPEN = ConfigDict(extra="allow")


class DriverPathOut(BaseModel):
    """How one driver evolves after its last observation."""

    model_config = OPEN
    mode: str = Field(description="hold, trend, growth, level, ...")
    values: dict[str, float] = Field(description="Values (or growth rates) by year")
    fill: str = Field(description="Between and after the given years: hold or linear")
    trend_years: int


class DriverChangeOut(BaseModel):
    """A what-if change to a base path: ``op`` by ``value`` from ``from_year`` to ``to_year``."""

    model_config = OPEN
    driver: str
    op: str
    value: float
    from_year: int
    to_year: int | None


class ScenarioOut(BaseModel):
    """A scenario: built-in (``/v1/scenarios``) or custom, as resolved into a forecast."""

    model_config = OPEN
    name: str
    title: str
    description: str
    base: str | None = Field(description="The scenario this one starts from; null: none")
    drivers: dict[str, DriverPathOut]
    changes: list[DriverChangeOut]
    settings: dict[str, Any] = Field(description="Model settings of the scenario")
    known_deliveries: dict[str, float] = Field(description="Deliveries known in advance, TIV by year")
    countries: list[str] | None = Field(description="The countries it applies to; null: every country")
    builtin: bool
    pipeline: dict[str, Any] | None = Field(description="Japan's deal-pipeline rules; null: as the base scenario")


class TargetOut(BaseModel):
    model_config = OPEN
    country: str = Field(description="ISO3 code, or WLD for the world total")
    measure: Literal["share", "tiv"]
    unit: str


class ForecastRow(BaseModel):
    """One forecast year; the interval bounds are ``lo-<width>`` and ``hi-<width>`` (e.g. ``lo-80``)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": {"type": "number"}})
    year: int
    point: float = Field(description="In the target's unit")
    components_model_scale: dict[str, float]
    effects: dict[str, float]
    drivers: dict[str, float]
    known_delivery: float
    difference_from_baseline: dict[str, float]


class HistoryRow(BaseModel):
    model_config = OPEN
    year: int
    value: float | None
    tiv: float | None
    world_tiv: float | None
    used_in_fit: bool
    flags: list[str]
    excluded_because: str | None
    fitted: float | None = None


class Member(BaseModel):
    model_config = OPEN
    weight: float = Field(description="Weight of the member in the ensemble")


class ModelOut(BaseModel):
    """The method: members and weights, coherence, calibration, held-out accuracy, drivers."""

    model_config = OPEN
    method: str
    engine: dict[str, str]
    members: dict[str, Member]
    coherence: dict[str, Any]
    interval: str
    accuracy: dict[str, Any]
    evaluated_on_these_data: bool
    drivers: dict[str, dict[str, Any]]


class Assumption(BaseModel):
    model_config = OPEN
    name: str
    value: Any
    unit: str
    source: Any
    estimated_or_asserted: str


class PipelineOut(BaseModel):
    """Japan's deal pipeline in this scenario: deals, the difference from the baseline by cause, assumptions."""

    model_config = OPEN
    deals: list[dict[str, Any]]
    world_total: dict[str, float]
    breakdown: list[dict[str, float]]
    assumptions: list[Assumption]


class ForecastResult(BaseModel):
    """One scenario's forecast (``kind`` forecast): its key is its content hash and its ETag."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    target: TargetOut
    scenario: ScenarioOut
    request: dict[str, Any]
    data_version: str
    model_version: str
    interval_width: float
    model: ModelOut
    history: list[HistoryRow]
    forecast: list[ForecastRow]
    notes: list[str]
    pipeline: PipelineOut | None = None


class ScenarioSetResult(BaseModel):
    """Several scenarios side by side (``/v1/forecasts/compare``, ``"scenarios": [...]``)."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: Literal["scenario_set"]
    forecasts: dict[str, ForecastResult]
    fit_groups: list[list[str]]
    comparison: list[dict[str, float]]


class BacktestReport(BaseModel):
    """Held-out accuracy of the served model against every benchmark (``/v1/backtests``)."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: Literal["backtest"]
    target: TargetOut
    model_version: str
    evaluated_on: dict[str, Any]
    metrics_h1_5: dict[str, Any]
    all_suppliers_h1_5: dict[str, Any]
    interval_calibration: dict[str, dict[str, float | None]]
    verdict: str
    notes: list[str]


class JobLinks(BaseModel):
    model_config = OPEN
    self_: str = Field(alias="self")
    result: str


class JobDocument(BaseModel):
    """A job's state (202 bodies and ``GET /v1/jobs/{key}``)."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: Literal["forecast", "scenario_set", "backtest"]
    state: Literal["queued", "running", "succeeded", "failed"]
    attempts: int
    error: str | None
    age_seconds: float | None
    links: JobLinks
    status_url: str


AnyResult = ForecastResult | ScenarioSetResult | BacktestReport  # what a content key can name
