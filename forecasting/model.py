"""The served model: a coherent statistical base, moved by scenarios through their drivers.

* Point forecast (baseline): the coherent equal-weight ensemble of
  :mod:`forecasting.coherent` (naive, mean of five years, SES, damped ETS,
  Theta, log-SES, Prophet's fitted level, and IMAPA for intermittent series),
  computed for every supplier at once so that shares add up to 100 % and a
  supplier's share times the world forecast is its TIV forecast.
* Interval: split-conformal bounds from the served model's own rolling-origin
  errors (:mod:`forecasting.calibration`, shipped in the model card), per
  horizon, any width.
* Scenarios: a scenario's driver paths minus the baseline's, times the driver
  coefficients of a Prophet regression on the transformed scale (logit of the
  share, log of TIV), shift the base and its bounds on that scale. The
  coefficients are associations fitted on the history and are *not* part of
  the scored baseline; the response says so. World military expenditure acts
  on the world total only.
* Known future deliveries are added after the shift (shares: against the
  world forecast).
* Determinism: every member is deterministic (the Stan optimiser is seeded),
  so the same request gives byte-identical output.
* Fit once, predict many: the statistical base depends on the data only and
  is memoised by content; the driver coefficients are fitted once per
  settings; a scenario costs a few array operations.

Importing this module does not import Prophet; the first fit does.
"""

from __future__ import annotations

import hashlib
import math
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.calibration import Calibration
from forecasting.coherent import PanelForecast, forecast_panel, interval_scale, make_room
from forecasting.demand import Elasticity, clear_estimates, estimate_elasticity
from forecasting.drivers import WORLD_MILEX, regressor_values
from forecasting.errors import InsufficientData, InvalidScenario, NotFittedError
from forecasting.evaluation import interval, supplier_tiv_interval
from forecasting.inputs import ForecastInputs
from forecasting.japan import (
    MODEL_TEXT,
    JapanParts,
    PipelineResult,
    assumptions,
    baseline_share,
    breakdown,
    by_year,
    capped,
    exports_besides_deals,
    pipeline_forecast,
    statistical_base,
)
from forecasting.keys import (
    MAX_HORIZON,
    Design,
    ForecastRequest,
    canonical_request,
    check_horizon,
    check_interval_width,
    design,
    key_of,
)
from forecasting.members import is_intermittent, prophet_class
from forecasting.model_card import ModelCard, driver_standing, load_card
from forecasting.output import Forecast, ForecastYear, ScenarioSetResult, Simulation, describe_model, forecast_years
from forecasting.panel import MIN_YEARS, REST, WORLD, Panel
from forecasting.paths import ResolvedScenario, resolve_scenario
from forecasting.pipeline import PIPELINE_COUNTRY, Deal
from forecasting.prospects import PipelineRules
from forecasting.scenarios import SCENARIOS, ModelSettings, Scenario, effective_pipeline, get_scenario
from forecasting.series import HistoryWindow, Target

__all__ = ["FittedModel", "ModelSpec", "clear_panel_cache", "fit", "forecast_scenarios", "panel_forecast", "predict"]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ModelSpec:
    """What a fit depends on: target, history window and model settings."""

    target: Target
    window: HistoryWindow = field(default_factory=HistoryWindow)
    settings: ModelSettings = field(default_factory=ModelSettings)


@dataclass(frozen=True, eq=False)
class FittedModel:
    """A fitted model; predict any scenario with the same settings from it."""

    spec: ModelSpec
    inputs: ForecastInputs
    design: Design
    seed: int
    coefficients: dict[str, float]  # per step of each driver, on the transformed scale (scenario differences)
    base: PanelForecast = field(repr=False)  # the coherent statistical base of every supplier
    calibration: Calibration = field(repr=False)
    spread: float = 0.0  # the target's interval scale (recent mean absolute one-year change)
    intermittent: bool = False  # the target's history is intermittent: its intervals' lower bound is 0
    world_spread: float = 0.0  # the world total's interval scale (a supplier's TIV upper bound is at most the world's)
    description: dict[str, Any] = field(repr=False, default_factory=dict)
    japan: JapanParts | None = field(repr=False, default=None)  # Japan's deal-pipeline model
    elasticity: Elasticity | None = field(repr=False, default=None)  # world demand, for TIV targets
    # Japan's baseline pipeline run per (horizon, interval width): every scenario's breakdown is against it, and
    # it is deterministic (the fit's seed), so a scenario set simulates it once (_japan_rows).
    baseline_runs: dict[tuple[int, float], PipelineResult] = field(repr=False, default_factory=dict)
    # the design the driver coefficients were fitted on: the share's for every supplier, a TIV target's too
    # (_driver_design), so that a what-if moves a supplier's share and TIV alike (TIV = share x world)
    driver_design: Design | None = field(repr=False, default=None)

    @property
    def drivers_fitted_on(self) -> Design:
        return self.driver_design or self.design


_PANEL_CACHE: OrderedDict[tuple[str, int, str], PanelForecast] = OrderedDict()
_PANEL_LOCK = threading.Lock()


def clear_panel_cache() -> None:
    """Forget the memoised statistical bases and world-demand estimates (benchmarks use it to time independent
    fits honestly)."""
    with _PANEL_LOCK:
        _PANEL_CACHE.clear()
    clear_estimates()


def panel_forecast(panel: Panel, horizon: int = MAX_HORIZON, deals: Sequence[Deal] = ()) -> PanelForecast:
    """:func:`forecasting.coherent.forecast_panel`, memoised by the panel's content (deterministic, so the
    cache changes no result; it lets every supplier's forecast on the same data reuse one computation).

    With Japan's deal pipeline (``deals``), Japan's share is the one its baseline serves (statistical base
    plus the deals' expected deliveries) and every other supplier makes room for it
    (:func:`forecasting.coherent.make_room`), so that the served baselines of all suppliers add up to 100 %."""
    key = (panel.digest(), horizon, hashlib.sha256(repr(tuple(deals)).encode()).hexdigest())
    with _PANEL_LOCK:
        if key in _PANEL_CACHE:
            _PANEL_CACHE.move_to_end(key)
            return _PANEL_CACHE[key]
    result = forecast_panel(panel, horizon)
    if deals and PIPELINE_COUNTRY in result.share:
        other, _, members = statistical_base(panel, result, deals)  # memoised with the panel: Japan's fit reuses it
        result = make_room(result, PIPELINE_COUNTRY, baseline_share(panel, result, deals, other), fixed_base=other,
                           fixed_members=members)
    with _PANEL_LOCK:
        _PANEL_CACHE[key] = result
        while len(_PANEL_CACHE) > 8:
            _PANEL_CACHE.popitem(last=False)
    return result


def _regressors(d: Design, years: Sequence[int], drivers: Mapping[str, Mapping[int, float]]) -> dict[str, Array]:
    """Each used driver as it enters the model (centred, in steps) for ``years``."""
    out = {}
    for name in d.settings.drivers or ():
        series = regressor_values(name, {y: drivers[name][y] for y in years}, d.centres[name])
        out[name] = np.array([series[y] for y in years], dtype=float)
    return out


def _frame(d: Design, years: Sequence[int], drivers: Mapping[str, Mapping[int, float]] | None = None,
           values: Sequence[float] | None = None) -> pd.DataFrame:
    """Prophet's input frame; without ``drivers`` every driver sits at its centre (0)."""
    data: dict[str, Any] = {"ds": pd.to_datetime([f"{y}-01-01" for y in years], format="%Y-%m-%d")}
    if values is not None:
        data["y"] = d.scale.forward(values)
    if drivers is None:
        data |= {name: np.zeros(len(years)) for name in d.settings.drivers or ()}
    else:
        data |= _regressors(d, years, drivers)
    if d.settings.growth == "logistic" and d.settings.cap is not None:
        data["cap"] = float(d.scale.forward(d.settings.cap))
        data["floor"] = float(d.scale.forward(0.0))
    return pd.DataFrame(data)


@contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator (Prophet's simulation uses it), then restore it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def fit(inputs: ForecastInputs, spec: ModelSpec, seed: int = 0) -> FittedModel:
    """Prepare the served model for the target: the coherent statistical base plus the driver coefficients.

    Parameters
    ----------
    inputs
        Plain data for the target country (with the supplier panel).
    spec
        Target, history window and model settings.
    seed
        Seed of the Stan optimiser of the driver model.

    Returns
    -------
    FittedModel
        The statistical base of every supplier (:mod:`forecasting.coherent`),
        the shipped calibration, and the driver coefficients that move a
        scenario away from the baseline.

    Raises
    ------
    InvalidTarget, InvalidScenario, InsufficientData
        When the target, the settings or the data do not allow a fit.
    """
    d = design(inputs, spec.target, spec.window, spec.settings)
    panel = inputs.panel()
    end = spec.window.end
    as_of = end is not None and end < panel.last_year
    if end is not None and as_of:
        panel = panel.cut(end)
    if spec.window.start is not None and spec.window.start > min(panel.world):
        panel = panel.since(spec.window.start)  # every supplier's, and the world's, history starts there
    # As of an earlier history end, other suppliers get the statistical set the evaluation scores: today's
    # pipeline (orders and prospects known now) would be look-ahead; Japan's own forecast keeps it and says so.
    base = panel_forecast(panel, deals=d.pipeline if as_of else inputs.deals())
    target_points(base, spec.target)  # raises for a supplier with too little history
    code = spec.target.country
    measure = "tiv" if code == WORLD else spec.target.measure
    spread = interval_scale(panel.array(code, measure)[1])
    sparse = code != WORLD and is_intermittent(panel.array(code, measure)[1])
    world_spread = interval_scale(panel.array(WORLD, "tiv")[1])
    driver_design = _driver_design(inputs, d, spec)
    coefficients = _driver_coefficients(driver_design, seed) if d.settings.drivers else {}
    card = load_card()
    needed = ("share", "tiv", "world") if d.pipeline else ("world" if code == WORLD else spec.target.measure,)
    calibration, interval_errors = _calibration_for(card, spec, needed)
    japan = _japan_parts(inputs, d, panel, base, calibration, spec.target) if d.pipeline else None
    elasticity = estimate_elasticity(panel.world, d.world_milex, panel.lower_bound_years) \
        if d.world_milex and japan is None else (japan.elasticity if japan else None)
    fitted = FittedModel(spec, inputs, d, seed, coefficients, base, calibration, spread, sparse,
                         world_spread=world_spread, japan=japan, elasticity=elasticity, driver_design=driver_design)
    description = describe_model(d, coefficients, seed, base, card, panel, spec.target, driver_design.scale)
    description["interval_errors"] = interval_errors
    if elasticity is not None:
        description["world_demand"] = {**elasticity.to_dict(), "applies_to": "the world total, and through it "
                                       "every TIV forecast and the share Japan's deals make of it; no supplier's "
                                       "statistical share", **driver_standing(WORLD_MILEX, WORLD)}
    object.__setattr__(fitted, "description", description)
    return fitted


def _calibration_for(card: ModelCard, spec: ModelSpec, measures: Sequence[str]
                     ) -> tuple[Calibration, dict[str, Any]]:
    """The calibration of a fit, and which past errors it holds (``model.interval_errors``): with a history that
    ends before the card's errors do, the errors known by that end (as the evaluation calibrates that origin), so
    an as-of forecast sees no error from its future; the whole card where that end has too few for ``measures``."""
    end = spec.window.end
    if end is None or end >= card.errors_known_by:
        return card.calibration, {"known_by": card.errors_known_by, "as_of_history_end": False, "note": None}
    as_of = card.calibration_as_of(end)
    if as_of is not None and all(m in as_of.quantiles for m in measures):
        return as_of, {"known_by": end, "as_of_history_end": True,
                       "note": f"calibrated on the errors known by {end}, the end of this history, as the "
                       "evaluation does"}
    return card.calibration, {
        "known_by": card.errors_known_by, "as_of_history_end": False,
        "note": f"too few past errors were known by {end} to calibrate these intervals, so they use the errors "
        f"known by {card.errors_known_by}: they have seen outcomes after this history's end"}


def _japan_parts(inputs: ForecastInputs, d: Design, panel: Panel, base: PanelForecast, calibration: Calibration,
                 target: Target) -> JapanParts:
    """The statistical base of everything but the pipeline's deals, the world forecast and world demand."""
    other_base = base.fixed_base  # the base panel_forecast made room for Japan's pipeline with (the same deals)
    assert other_base is not None, "fit passes the panel forecast the pipeline it gives the design"
    other = exports_besides_deals(panel, d.pipeline)
    world_history = panel.array(WORLD, "tiv")[1]
    # the design's world military expenditure: cut at an as-of history's end like the panel
    elasticity = estimate_elasticity(panel.world, d.world_milex, panel.lower_bound_years)
    return JapanParts(target.measure, other_base, interval_scale(other), base.world,
                      interval_scale(world_history), calibration, elasticity, is_intermittent(other))


def _driver_design(inputs: ForecastInputs, d: Design, spec: ModelSpec) -> Design:
    """The design a supplier's driver regression is fitted on: its share's, whatever the measure asked for.

    A TIV target's own regression (on log TIV) gave coefficients of their own, even of the opposite sign (the
    United States' spending: -0.013 per step on its share's logit, +0.045 on its TIV's log), so a what-if moved
    the share down and the TIV up, past the world total. One regression per supplier, on its share, and the TIV is
    that share times the world forecast. The share's logit has its default zero offset (``zero_offset`` of a TIV
    target is in TIV million, the unit of no share), and a logistic trend saturates at 100 % (``cap`` of a TIV
    target is in TIV million: it bounds the TIV forecast, :func:`_ceiling`)."""
    if spec.target.measure == "share" or spec.target.country == WORLD or not d.settings.drivers:
        return d
    settings = replace(d.settings, zero_offset=None, cap=100.0 if d.settings.growth == "logistic" else None)
    return design(inputs, Target(spec.target.country, "share"), spec.window, settings)


def _driver_coefficients(d: Design, seed: int) -> dict[str, float]:
    """Prophet with the drivers as additive regressors on the transformed scale: their coefficients per step."""
    points = d.history.fit_points
    frame = _frame(d, [p.year for p in points], d.observed, [p.value or 0.0 for p in points])
    settings = d.settings
    model = prophet_class()(
        growth=settings.growth, changepoint_prior_scale=settings.changepoint_prior_scale,
        yearly_seasonality=False, weekly_seasonality=False, daily_seasonality=False, uncertainty_samples=0,
    )
    # Prophet's prior applies to y / y_scale; dividing by y_scale makes
    # driver_prior_scale a prior on the transformed scale itself.
    z = frame["y"].abs().max() if "cap" not in frame else (frame["cap"] - frame["floor"]).abs().max()
    prior = settings.driver_prior_scale / (float(z) or 1.0)
    for name in settings.drivers or ():
        model.add_regressor(name, prior_scale=prior, standardize=False, mode="additive")
    with tempfile.TemporaryDirectory(prefix="tivcast-prophet-") as tmp, _seeded(seed):
        model.fit(frame, seed=seed, output_dir=tmp)
    from prophet.utilities import regressor_coefficients

    table = regressor_coefficients(model)
    return {str(r): float(c) for r, c in zip(table["regressor"], table["coef"], strict=True)}


def _contribution(coefficients: Mapping[str, float], regressors: Mapping[str, Array], n: int) -> Array:
    """Sum of the drivers' additive contributions (coefficient per step times steps from the centre).

    With ``standardize=False`` this is exactly Prophet's regressor term, so a
    scenario's simulated paths are the centred paths shifted by it.
    """
    total = np.zeros(n)
    for name, values in regressors.items():
        total = total + coefficients[name] * values
    return total


def _delivery_units(fitted: FittedModel, deliveries: Mapping[int, float], years: Sequence[int]) -> Array:
    """Known deliveries per forecast year in the target's unit (shares: against the world forecast)."""
    tiv = np.array([deliveries.get(y, 0.0) for y in years])
    if fitted.spec.target.measure == "tiv":
        return tiv
    world = fitted.base.world[: len(years)]
    return np.asarray(100.0 * tiv / np.where(world > 0, world, 1.0), dtype=float)


def _shift(fitted: FittedModel, resolved: ResolvedScenario) -> tuple[Array, dict[str, Array]]:
    """The scenario's driver contributions minus the baseline's, on the transformed scale.

    Zero for the baseline itself: drivers add nothing to the statistical base.
    """
    years = resolved.years
    if not fitted.coefficients:
        return np.zeros(len(years)), {}
    base = resolve_scenario(SCENARIOS["baseline"], fitted.design, len(years))
    ours = _regressors(fitted.drivers_fitted_on, years, resolved.drivers)
    theirs = _regressors(fitted.drivers_fitted_on, years, base.drivers)
    parts = {n: fitted.coefficients[n] * (ours[n] - theirs[n]) for n in ours}
    return _contribution(fitted.coefficients, ours, len(years)) - _contribution(
        fitted.coefficients, theirs, len(years)), parts


def _simulation(fitted: FittedModel, resolved: ResolvedScenario, baseline: ResolvedScenario,
                width: float) -> Simulation:
    """Point and calibrated interval of one resolved scenario, in the target's unit (bounded)."""
    n = len(resolved.years)
    point, lower, upper = base_interval(fitted, n, width)
    shift, parts = _shift(fitted, resolved)
    delivery = _delivery_units(fitted, resolved.known_deliveries, resolved.years)
    limit = _ceiling(fitted)
    demand, low_demand, high_demand = _world_demand(fitted, resolved, baseline, width)
    code = fitted.spec.target.country
    if fitted.spec.target.measure == "tiv" and code != WORLD:
        _refuse_deliveries_above(resolved, fitted.base.world[:n] * np.exp(demand), "under this scenario's world demand")
        return _tiv_simulation(fitted, (point, lower, upper), shift, parts, delivery,
                               (demand, low_demand, high_demand), limit, width)
    scale = fitted.design.scale

    def moved(values: Array, factor: Array) -> Array:
        shifted = scale.inverse(scale.forward(values) + shift) if shift.any() else values
        return np.asarray(np.clip(shifted * factor + delivery, 0.0, limit), dtype=float)

    z = scale.forward(point) + shift
    if demand.any():
        parts = {**parts, "world_demand": demand}
    return Simulation(z, {"statistical_base": scale.forward(point), **parts}, moved(point, np.exp(demand)),
                      np.vstack([moved(lower, np.exp(low_demand)), moved(upper, np.exp(high_demand))]).T, delivery)


def _tiv_simulation(fitted: FittedModel, base: tuple[Array, Array, Array], shift: Array, parts: dict[str, Array],
                    delivery: Array, demand: tuple[Array, Array, Array], limit: float, width: float) -> Simulation:
    """A supplier's TIV under a scenario: its share as the share forecast moves it (the drivers' shift on the
    share's logit, :func:`_driver_design`) times the world forecast (moved by world demand), plus known
    deliveries. The calibrated TIV bounds move by the same factor as the point (or by the same amount where the
    base share is 0), and the upper one stays at most the world total's upper bound of the same width (as
    :func:`~forecasting.evaluation.supplier_tiv_interval` keeps the baseline's). ``yhat`` and ``parts`` are on
    the share's logit (the scale the coefficients act on; world demand, a factor on the world's TIV, is not on
    it and is only among the effects, in TIV). Known deliveries count against the world total (as the deals of
    Japan's pipeline do): the point is at most the world forecast under the scenario's world demand, a delivery
    above that is refused, and the interval holds the point."""
    point, lower, upper = base
    n = len(point)
    share_scale = fitted.drivers_fitted_on.scale
    share = fitted.base.share[fitted.spec.target.country][:n]
    point_demand, low_demand, high_demand = demand
    world = fitted.base.world[:n] * np.exp(point_demand)  # this scenario's world forecast
    moved_share = share_scale.inverse(share_scale.forward(share) + shift) if shift.any() else share
    positive = share > 0
    ratio = np.where(positive, moved_share / np.where(positive, share, 1.0), 1.0)
    added = np.where(positive, 0.0, moved_share * fitted.base.world[:n] / 100.0)
    world_upper = _world_upper(fitted, n, width)

    def moved(values: Array, factor: Array, cap: Array | None = None) -> Array:
        out = (values * ratio + added) * factor + delivery
        if cap is not None:  # the world's (point or upper bound) under the same world demand
            out = np.minimum(out, cap)
        return np.asarray(np.clip(out, 0.0, limit), dtype=float)

    point_moved = moved(point, np.exp(point_demand), world)
    upper_moved = np.maximum(moved(upper, np.exp(high_demand), None if world_upper is None else
                                   world_upper * np.exp(high_demand)), point_moved)
    lower_moved = np.minimum(moved(lower, np.exp(low_demand)), point_moved)
    z = share_scale.forward(share) + shift
    effects = {name: (share_scale.inverse(z) - share_scale.inverse(z - v)) * world / 100.0
               for name, v in parts.items()}
    if point_demand.any():
        effects["world_demand"] = moved_share * fitted.base.world[:n] / 100.0 * (np.exp(point_demand) - 1.0)
    return Simulation(z, {"statistical_base": share_scale.forward(share), **parts}, point_moved,
                      np.vstack([lower_moved, upper_moved]).T, delivery, effects=effects)


def _world_upper(fitted: FittedModel, n: int, width: float) -> Array | None:
    """The world total's calibrated upper bound per horizon, where the calibration holds the world's errors."""
    if "world" not in fitted.calibration.quantiles or fitted.world_spread <= 0:
        return None
    return np.array([interval(float(w), fitted.world_spread, fitted.calibration, "world", h + 1, width)[1]
                     for h, w in enumerate(fitted.base.world[:n])])


def _ceiling(fitted: FittedModel) -> float:
    """The highest value a forecast may take, point and bounds: 100 for a share, none for TIV, or the
    scenario's stated ``cap`` (``settings.cap``, the target's unit) when it is lower."""
    limit = 100.0 if fitted.spec.target.measure == "share" else math.inf
    cap = fitted.spec.settings.cap
    return min(limit, cap) if cap is not None else limit


def _world_demand(fitted: FittedModel, resolved: ResolvedScenario, baseline: ResolvedScenario,
                  width: float) -> tuple[Array, Array, Array]:
    """log factors on TIV from world demand (point, for the lower bound, for the upper bound).

    ``elasticity x (log milex in this scenario - log milex in the baseline)``, the gap built up over the
    estimate's lag years; the bounds use the elasticity at its ``width`` confidence limits (the served standard
    error, :mod:`forecasting.demand`; the direction that widens the interval), so its uncertainty shows. A
    scenario's stated elasticity (``scenario.pipeline.elasticity``) replaces the estimate, with no uncertainty.
    """
    n = len(resolved.years)
    e = fitted.elasticity
    if e is None or not resolved.world_milex or fitted.spec.target.measure != "tiv":
        return np.zeros(n), np.zeros(n), np.zeros(n)
    gap = e.lagged(np.array([math.log(resolved.world_milex[y] / baseline.world_milex[y]) for y in resolved.years]))
    if resolved.elasticity is not None:
        stated = resolved.elasticity * gap
        return stated, stated, stated
    z = float(NormalDist().inv_cdf((1.0 + width) / 2.0))
    one, two = (e.value - z * e.standard_error) * gap, (e.value + z * e.standard_error) * gap
    return e.value * gap, np.minimum(one, two), np.maximum(one, two)


def base_interval(fitted: FittedModel, horizon: int, width: float) -> tuple[Array, Array, Array]:
    """The statistical base's point and conformal interval for horizons 1..``horizon``."""
    target = fitted.spec.target
    point = target_points(fitted.base, target)[:horizon]
    measure = "world" if target.country == WORLD else target.measure
    if measure == "tiv":
        bounds = [supplier_tiv_interval(float(p), fitted.spread, fitted.calibration, fitted.calibration, h + 1,
                                        width, fitted.intermittent, float(fitted.base.world[h]), fitted.world_spread)
                  for h, p in enumerate(point)]
    else:
        bounds = [interval(float(p), fitted.spread, fitted.calibration, measure, h + 1, width, fitted.intermittent)
                  for h, p in enumerate(point)]
    return point, np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])


def target_points(base: PanelForecast, target: Target) -> Array:
    """The coherent base forecast of ``target`` (share in percent, or TIV million)."""
    if target.country == WORLD:
        return base.world
    if target.country not in base.share or target.country == REST:
        raise InsufficientData(f"{target.country} has fewer than {MIN_YEARS} years of reported exports, too few "
                               "to forecast (it is counted in the rest of the world)", field="target.country")
    return base.share[target.country] if target.measure == "share" else base.tiv(target.country)


def predict(fitted: FittedModel, scenario: Scenario | str, horizon: int = 10,
            interval_width: float = 0.8) -> Forecast:
    """Forecast ``scenario`` from ``fitted`` for ``horizon`` years.

    Parameters
    ----------
    fitted
        Result of :func:`fit`; its settings must equal the scenario's.
    scenario
        A scenario or the name of a built-in one.
    horizon
        Years after the last history year, 1 to 30.
    interval_width
        Probability covered by the interval, in (0, 1); 0.8 gives ``lo-80``/``hi-80``.

    Returns
    -------
    Forecast
        Per year: point, interval, components, driver values and the
        difference from the baseline scenario's driver paths under the same
        fitted model; plus history, settings, versions and the content key.
    """
    if not isinstance(fitted, FittedModel):
        raise NotFittedError(f"predict() needs the result of fit(), got {type(fitted).__name__}")
    scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
    check_horizon(horizon)
    interval_width = check_interval_width(interval_width)
    if scenario.settings != fitted.spec.settings:
        raise NotFittedError(
            f"scenario {scenario.name!r} has settings {scenario.settings.to_dict()}, but the model was fitted "
            f"with {fitted.spec.settings.to_dict()}; fit a model with the scenario's settings",
            field="scenario.settings",
        )
    d = fitted.design
    resolved = resolve_scenario(scenario, d, horizon)
    _check_deliveries(fitted, resolved)
    baseline = resolve_scenario(SCENARIOS["baseline"], d, horizon)
    extra: dict[str, Any] | None = None
    if fitted.japan is not None:
        rows, extra = _japan_rows(fitted, fitted.japan, resolved, baseline, effective_pipeline(scenario),
                                  interval_width)
    else:
        rows = list(forecast_years(resolved, fitted.drivers_fitted_on.scale if fitted.spec.target.measure == "tiv"
                                   and fitted.spec.target.country != WORLD else d.scale,
                                   _simulation(fitted, resolved, baseline, interval_width),
                                   _simulation(fitted, baseline, baseline, interval_width)))
    request = ForecastRequest(fitted.spec.target, scenario, horizon, interval_width, fitted.spec.window, fitted.seed)
    canonical = canonical_request(request, fitted.inputs, resolved)
    return Forecast(
        key=key_of(canonical), request=canonical, scenario=scenario, resolved=resolved, design=d,
        years=tuple(rows), model={**_scenario_description(fitted.description, resolved),
                                  "requested_interval": _requested_interval(fitted, interval_width)},
        interval_width=interval_width, data_version=fitted.inputs.data_version,
        notes=tuple(resolved.notes) + fitted.inputs.notes, pipeline=extra,
    )


def _check_deliveries(fitted: FittedModel, resolved: ResolvedScenario) -> None:
    """A known delivery is part of the world total: one above the world forecast of its year is refused (it was
    added over an unchanged world: 50,000 TIV million for Korea in 2030 gave it 50,794 against a world of 28,680)."""
    _refuse_deliveries_above(resolved, fitted.base.world[: len(resolved.years)])


def _refuse_deliveries_above(resolved: ResolvedScenario, world: Array, which: str = "") -> None:
    for i, year in enumerate(resolved.years):
        tiv = resolved.known_deliveries.get(year, 0.0)
        if tiv > world[i]:
            raise InvalidScenario(
                f"a known delivery of {tiv:,.0f} TIV million in {year} is more than the world total forecast for "
                f"that year ({world[i]:,.0f}{', ' + which if which else ''}): no supplier delivers more than the "
                "world", field=f"scenario.known_deliveries[{year}]")


def _scenario_description(description: dict[str, Any], resolved: ResolvedScenario) -> dict[str, Any]:
    """The fit's description with what this scenario states over it: a stated world-demand elasticity is the one
    used (``model.world_demand.used_in_this_forecast``), the estimate is shown beside it."""
    demand = description.get("world_demand")
    if demand is None:
        return description
    stated = resolved.elasticity
    used = {"value": stated, "estimated_or_asserted": "asserted by the scenario (scenario.pipeline.elasticity); "
            "the estimate above is not used"} if stated is not None else \
        {"value": demand["value"], "estimated_or_asserted": "estimated: the estimate above"}
    return {**description, "world_demand": {**demand, "used_in_this_forecast": used}}


def _requested_interval(fitted: FittedModel, width: float) -> dict[str, Any]:
    """How well intervals of the width asked for held on the evaluation (the same calibration, any width)."""
    target = fitted.spec.target
    measure = "world" if target.country == WORLD else target.measure
    measured = load_card().coverage_at(measure, width)
    applies = ("this forecast's conformal interval, as served" if fitted.japan is None else
               "the statistical base's conformal intervals; Japan's served interval is simulated from them, the "
               "world total's and the deals', and the simulation as a whole cannot be scored at past origins")
    return {**measured, "applies_to": applies, "tail_note": tail_note(fitted.calibration, measure, width)}


TAIL_ERRORS = 10  # past errors beyond a bound, per horizon, below which the bound is read off a thin tail


def tail_note(calibration: Calibration, measure: str, width: float) -> str | None:
    """A sentence when, at this width, a bound lies beyond all but a few past errors (fewer than
    :data:`TAIL_ERRORS` of them outside it at some horizon): such a bound is set by a handful of extreme errors
    (at 99 %, a few risers from tiny shares set the shares' upper tail), so it is a rough guide, not a measured
    probability."""
    counts = calibration.counts.get(measure, {})
    thin = [h for h, n in sorted(counts.items()) if n * (1.0 - width) / 2.0 < TAIL_ERRORS]
    if not thin:
        return None
    sparsest = min(thin, key=lambda h: counts[h])
    fewest = counts[sparsest] * (1.0 - width) / 2.0
    where = f"horizons {thin[0]}-{thin[-1]}" if len(thin) > 1 else f"horizon {thin[0]}"
    return (f"At {width * 100:g} % each bound is set by the few most extreme past errors: at {where} fewer than "
            f"{TAIL_ERRORS} of them lie beyond it on each side (as few as {fewest:.1f}, at horizon {sparsest}), so "
            "read the bounds as a rough guide, not a measured probability.")


def _frozen(result: PipelineResult) -> PipelineResult:
    """``result`` with its arrays read-only: a shared (memoised) result that some caller changed in place would
    change every later scenario's breakdown, so that raises instead."""
    for value in vars(result).values():
        for array in (value.values() if isinstance(value, dict) else (value,)):
            if isinstance(array, np.ndarray):
                array.flags.writeable = False
    return result


def _japan_rows(fitted: FittedModel, parts: JapanParts, resolved: ResolvedScenario, baseline: ResolvedScenario,
                rules: PipelineRules, width: float) -> tuple[list[ForecastYear], dict[str, Any]]:
    """Japan's rows from the deal pipeline (:mod:`forecasting.japan`) and the pipeline section of the response."""
    n = len(resolved.years)
    share_scale = fitted.design.base_share_scale
    shift, driver_parts = _shift(fitted, resolved)
    base = parts.base[:n]
    shifted = share_scale.inverse(share_scale.forward(base) + shift) if shift.any() else base
    draws = fitted.spec.settings.uncertainty_samples
    ours = pipeline_forecast(parts, resolved, baseline, shifted, shift, share_scale.inverse, share_scale.forward,
                             width, fitted.seed, draws)
    theirs = fitted.baseline_runs.get((n, width))
    if theirs is None:  # a race computes the same result twice, never a different one (deterministic)
        theirs = pipeline_forecast(parts, baseline, baseline, base, np.zeros(n), share_scale.inverse,
                                   share_scale.forward, width, fitted.seed, draws)
        fitted.baseline_runs[(n, width)] = _frozen(theirs)
    ceiling = _ceiling(fitted)
    causes = breakdown(parts.measure, ours, theirs, base, ceiling)
    uncapped = ours.point
    ours, theirs = capped(ours, ceiling), capped(theirs, ceiling)
    unit = 1.0 if parts.measure == "share" else 0.0
    cap_binds = bool(np.any(ours.point != uncapped))  # then the components name what the cap took
    rows = []
    for i, year in enumerate(resolved.years):
        deal_part = float(sum(v[i] for v in ours.deals.values()))
        base_part = float(shifted[i] if unit else shifted[i] * ours.world[i] / 100.0)
        components = {"statistical_base": base_part,
                      "deals": 100.0 * deal_part / ours.world[i] if unit else deal_part,
                      **{f"driver:{k}": float(v[i]) for k, v in driver_parts.items()},
                      **({"cap": float(ours.point[i] - uncapped[i])} if cap_binds else {})}
        rows.append(ForecastYear(
            year, float(ours.point[i]), float(ours.lower[i]), float(ours.upper[i]), components,
            {k: v for k, v in causes[i].items() if k not in ("total", "statistical_base")},
            {name: resolved.drivers[name][year] for name in resolved.drivers}, float(ours.known[i]),
            (float(ours.point[i] - theirs.point[i]), float(ours.lower[i] - theirs.lower[i]),
             float(ours.upper[i] - theirs.upper[i])),
        ))
    section = {
        "model": MODEL_TEXT,
        "deals": [{**deal.to_dict(), "scenario_probability": p,
                   "expected_tiv": {str(y): float(v) for y, v in zip(resolved.years, ours.deals[deal.deal_id],
                                                                       strict=True)}}
                  for deal, p in resolved.deals],
        "world_total": {str(y): float(v) for y, v in zip(resolved.years, ours.world, strict=True)},
        "breakdown": [{"year": y, **row} for y, row in zip(resolved.years, causes, strict=True)],
        "breakdown_rule": "parts of (this scenario - baseline) at the point forecast; they sum to 'total'",
        "assumptions": assumptions(resolved, baseline, rules, parts.elasticity, fitted.description.get("accuracy", {}),
                                   fitted.design.world_milex),
        "interval": f"quantiles of {draws} simulated paths: the base's and the world total's calibrated "
        "errors, the world-demand elasticity's uncertainty, each prospect happening or not (the lines of one "
        "contract together), slips and TIV per unit; the point is not clamped into the interval",
        **by_year(ours, resolved.years, width),
    }
    return rows, section


def forecast_scenarios(
    inputs: ForecastInputs,
    scenarios: Sequence[Scenario | str],
    target: Target,
    *,
    horizon: int = 10,
    interval_width: float = 0.8,
    window: HistoryWindow | None = None,
    seed: int = 0,
) -> ScenarioSetResult:
    """Forecast several scenarios, fitting once per distinct model settings.

    Scenarios that differ only in driver paths, changes or known deliveries
    share one fitted model; each result equals fitting its scenario alone.

    Parameters
    ----------
    inputs, target
        Data and what to forecast.
    scenarios
        Scenarios or built-in names; names must be distinct.
    horizon, interval_width, window, seed
        As in :func:`predict` and :func:`fit`.

    Returns
    -------
    ScenarioSetResult
        One :class:`Forecast` per scenario (in the order given) and the fit groups.
    """
    chosen = [get_scenario(s) if isinstance(s, str) else s for s in scenarios]
    if not chosen:
        raise InvalidScenario("'scenarios' must name at least one scenario", field="scenarios")
    names = [s.name for s in chosen]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InvalidScenario(f"scenario names must be distinct, {duplicate!r} appears twice", field="scenarios")
    groups: dict[ModelSettings, list[Scenario]] = {}
    for scenario in chosen:
        groups.setdefault(scenario.settings, []).append(scenario)
    forecasts: dict[str, Forecast] = {}
    for settings, members in groups.items():
        fitted = fit(inputs, ModelSpec(target, window or HistoryWindow(), settings), seed=seed)
        for scenario in members:
            forecasts[scenario.name] = predict(fitted, scenario, horizon, interval_width)
    return ScenarioSetResult(
        forecasts={n: forecasts[n] for n in names},
        fit_groups=tuple(tuple(s.name for s in members) for members in groups.values()),
    )

