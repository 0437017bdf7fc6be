"""Response schemas of the forecast, job, compare and backtest operations (the OpenAPI document's types).

The bodies are built by the forecasting core and the workers (canonical JSON,
content-addressed), not by these models: the models document them for clients
and generated SDKs, and the schemathesis run checks real responses against
them. They allow extra fields, so that adding a field is not a breaking change;
every field a client relies on is typed. Interval bounds are keyed by the
interval width (``lo-80``/``hi-80`` for 0.8), so they are additional properties
of a forecast row. A choice that several components share (a deal's status, a
job's kind) is a named type alias: the document has one schema component for it
(one enum in a generated client), and it stays a ``Literal``, which validates
the canonical JSON's strings strictly (a str enum would not, from Python).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from typing_extensions import TypeAliasType

__all__ = ["AnyResult", "BacktestReport", "ForecastResult", "JobDocument", "ScenarioOut", "ScenarioSetResult"]

OPEN = ConfigDict(extra="allow")

DealStatus = TypeAliasType("DealStatus", Literal["delivering", "ordered", "selected", "prospect"])
JobKind = TypeAliasType("JobKind", Literal["forecast", "scenario_set", "backtest"])
# An ISO 8601 UTC time as the service writes it (``2026-12-01T15:15:33Z``): a string, typed as a date-time.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class DriverPathOut(BaseModel):
    """How one driver evolves after its last observation."""

    model_config = OPEN
    mode: str = Field(description="hold, trend, growth, level, ...")
    values: dict[str, float] = Field(description="Values (or growth rates) by year")
    fill: str = Field(description="Between and after the given years: hold or linear")
    trend_years: int
    trend_from: int | None = Field(
        default=None, description="growth paths: from this year on, the trend growth of the last trend_years "
        "observed years (the baseline's rate), so the level reached keeps its gap to the baseline's path")


class DriverChangeOut(BaseModel):
    """A what-if change to a base path: ``op`` by ``value`` from ``from_year`` to ``to_year``."""

    model_config = OPEN
    driver: str
    op: str
    value: float
    from_year: int
    to_year: int | None


class ModelSettingsOut(BaseModel):
    """Settings the model is fitted with; scenarios sharing them share one fit."""

    model_config = OPEN
    growth: Literal["linear", "flat", "logistic"] = Field(
        description="Trend of the driver regression behind scenario differences (the baseline is the ensemble)"
    )
    cap: float | None = Field(
        description="A ceiling on point and bounds, in the target's unit (also the driver regression's logistic "
        "saturation); null: none"
    )
    changepoint_prior_scale: float = Field(
        description="Flexibility of the driver regression's trend (Prophet's default 0.05)"
    )
    driver_prior_scale: float = Field(description="Prior standard deviation of a driver's effect per step")
    drivers: list[str] | None = Field(description="Drivers used; null: every applicable driver with data")
    zero_offset: float | None = Field(description="Offset of the transform; null: the documented default")
    uncertainty_samples: int = Field(
        description="Simulated paths behind Japan's pipeline intervals; no effect on the conformal intervals of others"
    )


class TivPerUnitOut(BaseModel):
    """TIV million per unit: the point uses ``central``, the simulation draws from (low, central, high)."""

    model_config = OPEN
    low: float
    central: float
    high: float


class DealOut(BaseModel):
    """One deal of Japan's pipeline as stated (units in numbers, TIV in million per unit)."""

    model_config = OPEN
    deal_id: str = Field(description="The deal's id in the japan-export-pipeline dataset (or a custom one)")
    recipient: str = Field(description="ISO3 code of the buyer")
    system: str
    status: DealStatus = Field(
        description="delivering and ordered are committed (probability 1); selected and prospect may not happen"
    )
    order_year: int | None = Field(description="Year of the order (expected, for a prospect); null: not stated")
    units_ordered: float
    units_delivered: float
    units_remaining: float
    tiv_per_unit: TivPerUnitOut
    delivery_years: list[int] = Field(description="Years the remaining units are delivered in, in equal parts")
    probability: float = Field(description="Probability under today's rules (1 for committed deals)")
    probability_liberalised: float = Field(description="Probability if Japan eases its rules further")
    requires_liberalisation: bool = Field(description="Blocked by today's five-category rule")
    slip_probability: float = Field(description="Probability that deliveries slip one more year (up to three)")
    units_remaining_range: list[float] | None = Field(
        description="Low and high of the remaining units when tivcast assumes them; null: as stated"
    )
    past_deliveries: dict[str, float] = Field(description="Deliveries in the history, TIV million by year")
    sources: dict[str, str] = Field(description="Where each figure comes from, by figure")
    reasoning: str
    origin: dict[str, Literal["request", "default"]] | None = Field(
        default=None, description="For an edited or added deal: which figures the request states and which take "
        "tivcast's defaults; absent for a catalogue deal as it stands"
    )
    depends_on: str | None = Field(
        default=None, description="The deal of the contract this line hangs on: it happens only if that deal does, "
        "and shares its TIV per unit draw; null: none"
    )
    tivcast_assumptions: list[str] = Field(
        default_factory=list, description="The catalogue's figures of this deal that are tivcast's own assumptions "
        "(units, tiv_per_unit, delivery_years, probability, slip, requires_liberalisation, past_deliveries)"
    )


class DealEditOut(BaseModel):
    """A custom scenario's change to a catalogue deal; null fields are left as they are."""

    model_config = OPEN
    deal_id: str
    remove: bool
    units: float | None = Field(description="Units ordered")
    tiv_per_unit: list[float] | None = Field(description="Low, central and high TIV million per unit")
    delivery_years: list[int] | None
    probability: float | None


class AddedDealOut(BaseModel):
    """A deal a custom scenario adds, as the request stated it (figures left out take tivcast's defaults)."""

    model_config = OPEN
    deal_id: str
    recipient: str
    system: str
    status: DealStatus
    order_year: int | None
    units_delivered: float
    tiv_per_unit: list[float] = Field(description="Low, central and high TIV million per unit")
    delivery_years: list[int]
    sources: dict[str, str] = Field(description="The analyst's sources, by figure")
    reasoning: str
    units_remaining_range: list[float] | None
    units_ordered: float | None = Field(default=None, description="Absent: tivcast's default, 1")
    probability: float | None = Field(default=None, description="Absent: tivcast's default, 0.5")
    probability_liberalised: float | None = Field(default=None, description="Absent: the probability")
    slip_probability: float | None = Field(default=None, description="Absent: tivcast's default, 0")
    requires_liberalisation: bool | None = Field(default=None, description="Absent: tivcast's default, false")


class PipelineRulesOut(BaseModel):
    """A scenario's treatment of Japan's deal pipeline."""

    model_config = OPEN
    prospects: Literal["none", "baseline", "liberalised"] = Field(
        description="Which prospects count: none, at today's rules, or at the liberalised probabilities"
    )
    probability_shift: float = Field(description="Added to every open prospect's probability")
    edits: list[DealEditOut]
    added: list[AddedDealOut] = Field(description="Deals the scenario adds to the catalogue, as stated")
    elasticity: float | None = Field(description="Stated world-demand elasticity; null: the estimate")


class ScenarioOut(BaseModel):
    """A scenario: built-in (``/v1/scenarios``) or custom, as resolved into a forecast."""

    model_config = OPEN
    name: str
    title: str
    description: str
    base: str | None = Field(description="The scenario this one starts from; null: none")
    drivers: dict[str, DriverPathOut]
    changes: list[DriverChangeOut]
    settings: ModelSettingsOut = Field(description="Model settings of the scenario")
    known_deliveries: dict[str, float] = Field(description="Deliveries known in advance, TIV by year")
    countries: list[str] | None = Field(description="The countries it applies to; null: every country")
    builtin: bool
    pipeline: PipelineRulesOut | None = Field(description="Japan's deal-pipeline rules; null: as the base scenario")


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


class Member(BaseModel):
    """A member of the ensemble: its weight and its own forecast of the first 10 years."""

    model_config = OPEN
    weight: float = Field(description="Weight of the member in the ensemble")
    share_forecast: list[float] | None = Field(
        default=None, description="The member's share forecast, percent (a TIV target's too); absent for WLD"
    )
    tiv_forecast: list[float] | None = Field(
        default=None, description="The member's world TIV forecast, TIV million; present for WLD only"
    )


class PipelineRoomOut(BaseModel):
    """The room every other supplier makes for Japan's pipeline forecast, so that served shares add up."""

    model_config = OPEN
    rule: str
    factor: list[float] = Field(description="Factor on every other supplier's share, per forecast year (the first 10)")


class CoherenceOut(BaseModel):
    """How the suppliers' forecasts are made to add up to the world."""

    model_config = OPEN
    rule: str
    suppliers: int = Field(description="Suppliers forecast together")
    factor: list[float] | None = Field(
        description="The scaling factor of each forecast year (the first 10); null for WLD, which is not reconciled")
    intervals: str
    pipeline_room: PipelineRoomOut | None = Field(
        None, description="Present when Japan's deal pipeline is part of the data: the room the others make for it")


class CardEvaluatedOn(BaseModel):
    """The data and origins the model card's accuracy was measured on."""

    model_config = OPEN
    data_digest: str = Field(description="Digest of the data the card was computed on")
    first: int = Field(description="First forecast origin")
    first_scored: int = Field(description="First origin whose forecasts are scored")
    last: int = Field(description="Last forecast origin")
    horizons: str = Field(description="Horizons scored, e.g. 1-5")
    scored_by: str


class CoverageOut(BaseModel):
    """Nominal and measured coverage of the served 80 % and 95 % intervals in the evaluation."""

    model_config = OPEN
    nominal_80: float
    measured_80: float | None = Field(description="Share of held-out outcomes inside the 80 % interval")
    nominal_95: float
    measured_95: float | None = Field(description="Share of held-out outcomes inside the 95 % interval")


class VersusBenchmark(BaseModel):
    """Held-out MASE of the served forecast against the better of last value and the 5-year mean."""

    model_config = OPEN
    n: int = Field(description="Held-out forecasts scored")
    mase: float = Field(description="MASE of the served forecast")
    best_simple_benchmark: str | None = Field(description="naive or mean5, the lower MASE; null: neither scored")
    benchmark_mase: float | None = Field(description="MASE of that benchmark")
    ratio: float | None = Field(description="The served MASE over the benchmark's; below 1 beats it")
    beats_it: bool = Field(description="The served MASE is below the better of last value and the 5-year mean's")
    best_benchmark: str | None = Field(
        None, description="The benchmark with the lowest MASE of all (drift, damped ETS and Theta too), as the "
        "verdict of /v1/backtests names it")
    best_benchmark_mase: float | None = Field(None, description="MASE of that benchmark")
    beats_best_benchmark: bool | None = Field(None, description="The served MASE is below every benchmark's")
    mase_by_model: dict[str, float | None] = Field(description="MASE of the served forecast and every benchmark")
    interval_coverage: CoverageOut = Field(description="Measured coverage of the served intervals, horizons 1-5")


class AccuracyOut(BaseModel):
    """Held-out accuracy from the model card: this supplier's, all suppliers', and the interval calibration."""

    model_config = OPEN
    evaluated_on: CardEvaluatedOn
    measure: Literal["share", "tiv"] = Field(
        description="What the tables score: the share (percent), or TIV million (a TIV target's, and WLD's)"
    )
    this_supplier: VersusBenchmark | None = Field(
        description="This target's own held-out accuracy in that measure (WLD: the world total's); null: this "
        "supplier was not evaluated (too little history, or not in the shipped panel)"
    )
    all_suppliers: VersusBenchmark | None = Field(
        description="Pooled over every scored supplier, in the same measure; null for WLD, one series whose own "
        "figures are this_supplier")
    interval_calibration: dict[str, dict[str, float | None]] = Field(
        description="Nominal and measured coverage of the 80 % and 95 % intervals, by horizon: pooled over the "
        "suppliers in that measure (WLD: the world total's own)"
    )
    interval_note: str | None = Field(
        description="A sentence when this target's measured 80 % coverage lies outside 0.70-0.90 or its 95 % "
        "coverage outside 0.90-0.99 (the calibration is pooled over suppliers); null otherwise"
    )
    what_was_scored: str = Field(
        description="What the held-out scores measure: the forecast's statistical base as served, or for Japan's "
        "pipeline forecast the ensemble without the pipeline (whose deals cannot be cut at past origins)"
    )


class TargetHeldOut(BaseModel):
    """One target's scores in the perfect-foresight test of a driver."""

    model_config = OPEN
    mase_baseline: float
    mase_perfect_foresight: float


class DriverHeldOut(BaseModel):
    """The perfect-foresight test of a driver: the baseline against a scenario with the driver's actual path."""

    model_config = OPEN
    test: str = Field(description="How the test was made")
    scored_by: str = Field(description="The bench script that wrote the shipped result")
    data_digest: str = Field(description="Digest of the data the test ran on")
    targets: int = Field(description="Targets the driver was tried on")
    forecasts: int = Field(description="Held-out forecasts scored (target x origin x horizon)")
    origins: list[int] = Field(description="First and last origin")
    horizons: list[int] = Field(description="First and last horizon")
    mase_baseline: float
    mase_perfect_foresight: float
    ratio: float | None = Field(description="mase_perfect_foresight / mase_baseline")
    targets_improved: int
    targets_worse: int
    this_target: TargetHeldOut | None = Field(description="This forecast's target's own scores; null: not tried")


class HeldOutVerdict(BaseModel):
    """What the shipped perfect-foresight test found for a driver (``forecasting.model_card.driver_standing``)."""

    model_config = OPEN
    improved_held_out: bool | None = Field(
        description="Whether the driver's actual future path (perfect foresight) lowered the held-out MASE by at "
        "least 1 % (bench/forecast_drivers.py): a supplier's for a Prophet driver, the world total's through the "
        "elasticity for world military expenditure; null: not tested"
    )
    held_out: DriverHeldOut | None = Field(description="The perfect-foresight test's scores; null: not tested")
    held_out_note: str


class DriverStanding(HeldOutVerdict):
    """A driver of the fitted model: what it means, its coefficient, and whether it is scored."""

    model_config = OPEN
    title: str
    meaning: str
    unit: str
    source: str
    step: str = Field(description="The step the coefficient refers to (e.g. +10 %)")
    coefficient_per_step: float = Field(description="On the transformed scale")
    multiplier_per_step: float = Field(description="exp(coefficient): the odds (or TIV) multiplier per step")
    estimated_or_asserted: str = Field(
        description="estimated (from the history), or asserted (tivcast's or the scenario's assumption) with why"
    )
    in_baseline: bool


class TransformOut(BaseModel):
    """The transformed scale a scenario's driver differences act on: logit of a share, log of TIV."""

    model_config = OPEN
    kind: Literal["logit", "log"]
    offset: float = Field(description="Zero offset of the transform, in offset_unit")
    offset_unit: str = Field(description="percentage points (logit) or TIV million (log)")
    used_for: str


class FitYearsOut(BaseModel):
    """The history years the model was fitted on."""

    model_config = OPEN
    first: int = Field(description="First fitted year")
    last: int = Field(description="Last fitted year")
    count: int = Field(description="Years fitted")


class ElasticityAlternativeOut(BaseModel):
    """Another specification's estimate of the world-demand elasticity on the same data."""

    model_config = OPEN
    specification: str
    value: float
    standard_error: float
    n: int = Field(description="Years in the regression")
    years: str = Field(description="First and last year, e.g. 1989-2023")


class ElasticityOut(BaseModel):
    """The world-demand elasticity as estimated on the history."""

    model_config = OPEN
    value: float
    standard_error: float
    n: int = Field(description="Years in the regression")
    years: str = Field(description="First and last year, e.g. 1989-2023")
    r_squared: float
    method: str
    estimated_or_asserted: str = Field(
        description="estimated (from the history), or asserted (tivcast's or the scenario's assumption) with why"
    )
    lag_years: int | None = Field(
        default=None, description="The effect of a change of world military expenditure in year t builds up over "
        "years t..t+lag_years; absent when not estimated")
    difference_years: int | None = Field(default=None, description="Length of the log changes regressed")
    build_up: str | None = Field(default=None, description="The lag structure in words")
    alternatives: list[ElasticityAlternativeOut] | None = Field(
        default=None, description="Other specifications' estimates on the same data")
    specification_sensitivity: str | None = Field(
        default=None, description="How much the estimate depends on the specification, in words")
    standard_errors: dict[str, float] | None = Field(
        default=None, description="The standard error three ways (ols, newey_west, block_bootstrap); the served "
        "standard_error is the largest")
    bootstrap_interval_95: list[float] | None = Field(
        default=None, description="2.5 % and 97.5 % percentiles of the moving-block bootstrap")
    non_overlapping_subsamples: list[float] | None = Field(
        default=None, description="The estimate on each subsample of non-overlapping changes")
    independent_changes: float | None = Field(
        default=None, description="About how many independent changes the overlapping ones hold")
    uncertainty: str | None = Field(default=None, description="The standard error's basis, in words")


class ElasticityUsed(BaseModel):
    """The world-demand elasticity this forecast used: the estimate, or a scenario's stated value."""

    model_config = OPEN
    value: float
    estimated_or_asserted: str


class WorldDemandOut(ElasticityOut, HeldOutVerdict):
    """The world-demand elasticity of a fit and what it applies to."""

    applies_to: str = Field(description="The forecasts world demand moves")
    used_in_this_forecast: ElasticityUsed | None = Field(
        None, description="The elasticity this forecast used: the estimate, or the scenario's stated "
        "scenario.pipeline.elasticity")


class IntervalErrorsOut(BaseModel):
    """The past errors behind the intervals: those known by the history's end (an as-of forecast) or all."""

    model_config = OPEN
    known_by: int = Field(description="The last year whose outcomes the calibration has seen")
    as_of_history_end: bool = Field(
        description="true: a history_window.end before the card's last outcome, and the intervals use only the "
        "errors known by it, as the evaluation does for that origin"
    )
    note: str | None = Field(description="How an earlier history end was handled; null for a full history")


class RequestedIntervalOut(BaseModel):
    """How often intervals of the width asked for held on the evaluation (any width, not only 80 and 95 %)."""

    model_config = OPEN
    nominal: float = Field(description="The interval_width asked for")
    measured_h1_5: float | None = Field(description="Share of held-out outcomes inside such intervals, horizons 1-5")
    n_h1_5: int = Field(description="Held-out outcomes behind that share")
    measured_by_horizon: dict[str, float] = Field(description="The same by horizon, 1-10")
    measure: str = Field(description="share, tiv, or world (the world total's own errors)")
    scored_from: int = Field(description="The first scored origin")
    applies_to: str = Field(description="Which interval the figures describe")
    tail_note: str | None = Field(
        None, description="A sentence when at this width fewer than 10 past errors per horizon lie beyond a bound "
        "(a bound set by a handful of extreme errors); null otherwise")


class ModelOut(BaseModel):
    """The method: members and weights, coherence, calibration, held-out accuracy, drivers."""

    model_config = OPEN
    method: str
    engine: dict[str, str]
    members: dict[str, Member]
    members_of: str = Field(description="What the members forecast (Japan's pipeline model: its statistical base "
                            "besides the deals)")
    combination: str = Field(description="How the members are weighted")
    coherence: CoherenceOut
    point_forecast: str = Field(description="What the point forecast is")
    interval: str
    interval_errors: IntervalErrorsOut = Field(description="Which past errors the intervals are calibrated on")
    requested_interval: RequestedIntervalOut = Field(description="Measured coverage at the width asked for")
    accuracy: AccuracyOut
    evaluated_on_these_data: bool
    transform: TransformOut
    settings: ModelSettingsOut = Field(description="The settings fitted with; drivers: the drivers actually used")
    settings_effect: dict[str, str] = Field(
        description="What each setting changes in this forecast (growth and the priors: only the driver regression "
        "behind scenario differences; cap: a ceiling on point and bounds; uncertainty_samples: Japan's simulation)"
    )
    seed: int = Field(description="Seed of the fit")
    fit_years: FitYearsOut
    drivers: dict[str, DriverStanding] = Field(description="Drivers of the fitted model, by name")
    difference_from_baseline: str = Field(description="What a forecast row's difference_from_baseline is")
    world_demand: WorldDemandOut | None = Field(
        default=None, description="Present for TIV targets (WLD included) and for Japan's pipeline model when the "
        "data hold world military expenditure (for Japan: always, marked as not estimated without it); absent "
        "for other shares"
    )


class Assumption(BaseModel):
    model_config = OPEN
    name: str = Field(description="statistical_base, world_demand_elasticity, world_military_expenditure_growth, or "
                      "<deal_id>.<figure>")
    value: bool | float | list[int] | dict[str, float] | str = Field(
        description="A number (a probability, units, TIV per unit, the elasticity), delivery years, real growth by "
        "year (world military expenditure), or a description"
    )
    unit: str
    source: str | ElasticityOut = Field(description="Where the value comes from; the estimate for the elasticity")
    estimated_or_asserted: str
    standard_error: float | None = Field(
        default=None, description="world_demand_elasticity only: the estimate's standard error; null when stated"
    )
    range: list[float] | None = Field(
        default=None, description="low and high: TIV per unit and tivcast's units; a probability from restriction to "
        "liberalisation; delivery years with the slips simulated; the elasticity's 95 % confidence interval; null "
        "where range_note says why there is none"
    )
    range_note: str | None = Field(default=None, description="What the range is, or why there is none")
    tivcast_own: bool | None = Field(
        default=None, description="The figure is tivcast's own assumption or estimate, not SIPRI's or a published one"
    )
    origin: Literal["catalogue", "request", "default", "derived"] | None = Field(
        default=None, description="A deal's figure: the catalogue's, the request's own (an edit or an added deal), "
        "tivcast's default for a figure an added deal left out, or derived (a contract's line following the "
        "probability the request states for its contract)"
    )
    accuracy: AccuracyOut | None = Field(
        default=None, description="statistical_base only: its held-out accuracy from the model card"
    )


class ResolvedDealOut(DealOut):
    """A deal with its probability in the scenario."""

    scenario_probability: float = Field(description="Probability that the deal happens in this scenario")


class PipelineDealOut(ResolvedDealOut):
    """A deal of the scenario's pipeline and its expected deliveries."""

    expected_tiv: dict[str, float] = Field(description="Probability x TIV on the stated schedule, by forecast year")


class BreakdownRow(BaseModel):
    """One forecast year of (this scenario - baseline) by cause, in the target's unit; the parts sum to
    ``total``. Each deal's part is an additional property ``deal:<deal_id>``."""

    model_config = OPEN
    __pydantic_extra__: dict[str, float] = Field(init=False)
    year: int
    drivers: float
    known_deliveries: float
    world_demand: float
    statistical_base: float
    cap: float | None = Field(
        default=None, description="What a stated cap (settings.cap) takes off the difference; absent if it never binds"
    )
    total: float


class PipelineYearOut(BaseModel):
    """What the point (a mean over either/or deals) hides in one forecast year."""

    model_config = OPEN
    year: int
    median: float = Field(description="Median of the simulated paths, in the target's unit")
    probability_prospect_delivers: float = Field(
        description="Share of the simulated paths in which at least one prospective (not committed) deal delivers")
    probability_delivers: dict[str, float] = Field(description="The same per prospective deal, by deal id")
    point_inside_interval: bool = Field(
        description="false: the point (the expected value) lies outside this year's interval, which is not "
        "widened to hold it")


class PipelineOut(BaseModel):
    """Japan's deal pipeline in this scenario: deals, the difference from the baseline by cause, assumptions."""

    model_config = OPEN
    model: str = Field(description="How the forecast is made of the statistical base and the deals")
    deals: list[PipelineDealOut]
    world_total: dict[str, float] = Field(description="The world total in this scenario, TIV million by year")
    breakdown: list[BreakdownRow]
    breakdown_rule: str = Field(description="What the breakdown's parts are")
    assumptions: list[Assumption]
    interval: str = Field(description="How the interval is simulated")
    by_year: list[PipelineYearOut] = Field(
        default_factory=list, description="Per forecast year: the median of the paths, the probability that a "
        "prospective deal delivers, whether the point lies inside the interval")
    notes: list[str] = Field(
        default_factory=list, description="Where the point lies outside its interval, and from which year no deal "
        "delivers any more (the forecast is then the statistical base alone)")


class RequestTargetOut(BaseModel):
    model_config = OPEN
    country: str = Field(description="ISO3 code, or WLD for the world total")
    measure: Literal["share", "tiv"]


class HistoryWindowOut(BaseModel):
    model_config = OPEN
    start: int | None = Field(description="First year of history used; null: all")
    end: int | None = Field(description="Last year of history used; null: all")


class ResolvedPipelineOut(BaseModel):
    """The pipeline part of a resolved scenario: deals with their probabilities, world demand, elasticity."""

    model_config = OPEN
    deals: list[ResolvedDealOut]
    world_military_expenditure: dict[str, float] = Field(description="The world demand path, by forecast year")
    elasticity: float | None = Field(description="Stated world-demand elasticity; null: the estimate")


class ResolvedScenarioOut(BaseModel):
    """The scenario resolved into concrete yearly values: what the content key hashes."""

    model_config = OPEN
    name: str
    title: str
    description: str
    settings: ModelSettingsOut = Field(description="drivers: the drivers actually used")
    years: list[int] = Field(description="The forecast years")
    drivers: dict[str, dict[str, float]] = Field(description="Each driver's value by forecast year")
    known_deliveries: dict[str, float] = Field(description="TIV by year")
    pipeline: ResolvedPipelineOut | None = Field(
        default=None, description="Present for Japan's pipeline model and for TIV targets (world demand)"
    )


class RequestOut(BaseModel):
    """The canonical resolved request: its canonical JSON's SHA-256 is the key."""

    model_config = OPEN
    target: RequestTargetOut
    scenario: ResolvedScenarioOut
    horizon: int
    interval_width: float
    history_window: HistoryWindowOut
    seed: int
    data_version: str
    model_version: str


class ForecastResult(BaseModel):
    """One scenario's forecast (``kind`` forecast): its key is its content hash and its ETag."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    target: TargetOut
    scenario: ScenarioOut
    request: RequestOut
    data_version: str
    model_version: str
    interval_width: float
    model: ModelOut
    history: list[HistoryRow]
    forecast: list[ForecastRow]
    notes: list[str]
    pipeline: PipelineOut | None = None


class ComparisonRow(BaseModel):
    """One forecast year: each scenario's point forecast is an additional property named after the scenario."""

    model_config = OPEN
    __pydantic_extra__: dict[str, float] = Field(init=False)
    year: int


class ScenarioSetResult(BaseModel):
    """Several scenarios side by side (``/v1/forecasts/compare``, ``"scenarios": [...]``)."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: Literal["scenario_set"]
    forecasts: dict[str, ForecastResult]
    fit_groups: list[list[str]]
    comparison: list[ComparisonRow] = Field(description="The point forecasts side by side, by year")


class BacktestEvaluatedOn(BaseModel):
    """The data and origins the stored evaluation was computed on."""

    model_config = OPEN
    data_digest: str = Field(description="Digest of the data the evaluation was computed on")
    is_the_data_served: bool | None = Field(description="Whether that is the data now served; null: unknown")
    first: int = Field(description="First forecast origin")
    first_scored: int = Field(description="First origin whose forecasts are scored")
    last: int = Field(description="Last forecast origin")
    decided_on: str = Field(description="Which origins decided the method, and which were scored")
    horizon: int = Field(description="Longest horizon evaluated, years")


class ErrorMetrics(BaseModel):
    """Held-out errors of one model: in percentage points of the share, or in TIV million (see
    ``evaluated_measure``); MASE is scaled by the in-sample one-year change."""

    model_config = OPEN
    n: int = Field(description="Forecasts scored")
    mae: float
    rmse: float
    mase: float | None = Field(description="null: no forecast with a non-zero scale")


class ModelMetrics(ErrorMetrics):
    """Coverage and Winkler scores are given for the served forecast only."""

    coverage_80: float | None = Field(default=None, description="Share of outcomes inside the 80 % interval")
    coverage_95: float | None = Field(default=None, description="Share of outcomes inside the 95 % interval")
    winkler_80: float | None = Field(default=None, description="Winkler score of the 80 % interval")
    winkler_95: float | None = Field(default=None, description="Winkler score of the 95 % interval")


class IntermittentMetrics(BaseModel):
    """The forecasts from intermittent histories, where always-zero is scored too."""

    model_config = OPEN
    n: int
    served: ErrorMetrics
    zero: ErrorMetrics


class AccuracyTable(BaseModel):
    """Held-out accuracy over horizons 1-5: every model's errors on the same forecasts."""

    model_config = OPEN
    n: int = Field(description="Forecasts scored")
    models: dict[str, ModelMetrics] = Field(description="served and every benchmark (naive, mean5, drift, ...)")
    intermittent: IntermittentMetrics | None = Field(
        default=None, description="Absent when no forecast comes from an intermittent history"
    )


class BacktestReport(BaseModel):
    """Held-out accuracy of the served model against every benchmark (``/v1/backtests``)."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: Literal["backtest"]
    target: TargetOut
    model_version: str
    card_model_version: str = Field(description="The model version the stored evaluation was computed with")
    evaluated_measure: Literal["share", "tiv"] = Field(
        description="share: scores in percentage points of the share; tiv: in TIV million (measure=tiv, and WLD)"
    )
    evaluated_on: BacktestEvaluatedOn
    metrics_h1_5: AccuracyTable = Field(description="This supplier's")
    all_suppliers_h1_5: AccuracyTable = Field(description="Over all suppliers")
    all_suppliers_by_horizon: dict[str, AccuracyTable] = Field(
        description="Over all suppliers, by horizon in years (1 to the evaluated horizon)"
    )
    interval_calibration: dict[str, dict[str, float | None]]
    verdict: str
    notes: list[str]


class JobLinks(BaseModel):
    model_config = OPEN
    self_: str = Field(alias="self")
    result: str


class JobSummary(BaseModel):
    """What a job computes, in brief."""

    model_config = OPEN
    kind: JobKind
    target: TargetOut
    scenario: str | None = Field(default=None, description="forecast jobs: the scenario's name")
    scenarios: list[str] | None = Field(default=None, description="scenario_set jobs: the scenarios' names")
    horizon: int
    interval_width: float | None = Field(default=None, description="Absent for backtest jobs")
    data_version: str
    model_version: str


class JobDocument(BaseModel):
    """A job's state (202 bodies and ``GET /v1/jobs/{key}``)."""

    model_config = OPEN
    key: str = Field(pattern=r"^[0-9a-f]{64}$")
    kind: JobKind
    state: Literal["queued", "running", "succeeded", "failed"]
    created_at: Timestamp = Field(description="When the job was created (or last resubmitted), UTC")
    queued_at: Timestamp | None = Field(description="When it was queued, UTC")
    started_at: Timestamp | None = Field(description="When a worker last started it, UTC; null: not yet")
    finished_at: Timestamp | None = Field(description="When it finished, UTC; null: not yet")
    attempts: int
    error: str | None
    summary: JobSummary
    age_seconds: float | None
    links: JobLinks
    status_url: str
    workers_online: int | None = Field(default=None, description="Queued jobs only: workers online")
    note: str | None = Field(default=None, description="Queued jobs only: what the job waits for")


AnyResult = ForecastResult | ScenarioSetResult | BacktestReport  # what a content key can name
