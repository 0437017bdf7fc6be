"""Prophet on a bounded scale: fit once, predict many scenarios.

The model is Prophet (MAP fit, no seasonality: the data are annual) on the
transformed scale of :class:`forecasting.series.Scale` (logit for shares, log
for TIV), with the drivers of :mod:`forecasting.drivers` as additive extra
regressors. Every point and interval bound is mapped back through the
inverse transform, so shares stay in [0, 100] and TIV >= 0 by construction.

* Point forecast: the back-transformed Prophet ``yhat``. The transform is
  monotone and Prophet's noise is symmetric, so this is a median-type
  forecast of the share, not its mean.
* Interval: quantiles of ``uncertainty_samples`` simulated paths (trend
  changes and noise), back-transformed; width chosen at prediction time.
* Known future deliveries are added after the back-transform (TIV as given;
  shares against the last observed world total). Prophet's "holidays" cannot
  do this: a one-off event that never occurred in the history gets no
  estimated effect.
* Determinism: the Stan fit is seeded, and the simulation uses NumPy's global
  generator seeded with the same seed and restored afterwards, so the same
  request gives byte-identical output. Scenario and baseline are simulated
  with the same draws, so their difference reflects the scenario alone.
* Fit once, predict many: the trend and the simulated paths with every
  driver at its centre are computed once per horizon and cached on the
  :class:`FittedModel`; a scenario shifts them by its drivers' additive
  contributions, which is exactly Prophet's regressor term (tested against
  Prophet's own ``predict``).
* Driver priors: ``driver_prior_scale`` is rescaled by Prophet's ``y_scale``
  so that it is a prior on the transformed scale per driver step.
* Prophet's CmdStan files go to a private temporary directory that is removed
  after each fit; cmdstanpy's and Prophet's console logging is silenced.

Importing this module does not import Prophet; the first fit does.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.drivers import regressor_values
from forecasting.errors import InvalidScenario, NotFittedError
from forecasting.inputs import ForecastInputs
from forecasting.keys import (
    Design,
    ForecastRequest,
    canonical_request,
    check_horizon,
    check_interval_width,
    design,
    key_of,
)
from forecasting.output import Forecast, ScenarioSetResult, Simulation, describe_model, forecast_years
from forecasting.paths import ResolvedScenario, resolve_scenario
from forecasting.scenarios import SCENARIOS, ModelSettings, Scenario, get_scenario
from forecasting.series import HistoryWindow, Target

__all__ = ["FittedModel", "ModelSpec", "fit", "forecast_scenarios", "predict"]

Array = npt.NDArray[np.float64]


@functools.cache
def _prophet_class() -> Any:
    """Import Prophet with its console logging silenced (once per process)."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "plotly not installed" noise
    cmdstan = logging.getLogger("cmdstanpy")
    cmdstan.setLevel(logging.WARNING)
    # A handler stops cmdstanpy from installing its own console handler;
    # warnings still propagate to the application's logging configuration.
    if not any(isinstance(h, logging.NullHandler) for h in cmdstan.handlers):
        cmdstan.addHandler(logging.NullHandler())
    from prophet import Prophet

    logging.getLogger("prophet").setLevel(logging.WARNING)
    return Prophet


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
    coefficients: dict[str, float]  # per step of each driver, on the transformed scale
    prophet: Any = field(repr=False)
    description: dict[str, Any] = field(repr=False, default_factory=dict)
    in_sample: dict[int, float] = field(repr=False, default_factory=dict)  # back-transformed fit
    # Trend and simulated paths with every driver at its centre, by horizon
    # (deterministic given the seed, so caching them changes no result).
    draws: dict[int, tuple[Array, Array]] = field(repr=False, default_factory=dict)


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
    """Fit Prophet to the target's history on the transformed scale.

    Parameters
    ----------
    inputs
        Plain data for the target country.
    spec
        Target, history window and model settings.
    seed
        Seed of the Stan optimiser and of the interval simulation.

    Returns
    -------
    FittedModel
        The fitted model, with the design (history, drivers used, transform)
        and the driver coefficients.

    Raises
    ------
    InvalidTarget, InvalidScenario, InsufficientData
        When the target, the settings or the data do not allow a fit.
    """
    d = design(inputs, spec.target, spec.window, spec.settings)
    points = d.history.fit_points
    frame = _frame(d, [p.year for p in points], d.observed, [p.value or 0.0 for p in points])
    settings = d.settings
    model = _prophet_class()(
        growth=settings.growth, changepoint_prior_scale=settings.changepoint_prior_scale,
        yearly_seasonality=False, weekly_seasonality=False, daily_seasonality=False,
        uncertainty_samples=settings.uncertainty_samples,
    )
    # Prophet's prior applies to y / y_scale; dividing by y_scale makes
    # driver_prior_scale a prior on the transformed scale itself.
    z = frame["y"].abs().max() if "cap" not in frame else (frame["cap"] - frame["floor"]).abs().max()
    prior = settings.driver_prior_scale / (float(z) or 1.0)
    for name in settings.drivers or ():
        model.add_regressor(name, prior_scale=prior, standardize=False, mode="additive")
    with tempfile.TemporaryDirectory(prefix="tivcast-prophet-") as tmp, _seeded(seed):
        model.fit(frame, seed=seed, output_dir=tmp)
    # The CmdStan result objects point at the deleted files; keep only the parameters.
    model.stan_fit = None
    model.stan_backend.stan_fit = None
    coefficients: dict[str, float] = {}
    if model.extra_regressors:
        from prophet.utilities import regressor_coefficients

        table = regressor_coefficients(model)
        coefficients = {str(r): float(c) for r, c in zip(table["regressor"], table["coef"], strict=True)}
    years = [p.year for p in points]
    regressors = _regressors(d, years, d.observed)
    in_sample = _trend(model, _frame(d, years)) + _contribution(coefficients, regressors, len(years))
    return FittedModel(spec, inputs, d, seed, coefficients, model, describe_model(d, coefficients, seed),
                       dict(zip(years, d.scale.inverse(in_sample).tolist(), strict=True)))


def _trend(model: Any, frame: pd.DataFrame) -> Array:
    return np.asarray(model.predict_trend(model.setup_dataframe(frame.copy())), dtype=float)


def _contribution(coefficients: Mapping[str, float], regressors: Mapping[str, Array], n: int) -> Array:
    """Sum of the drivers' additive contributions (coefficient per step times steps from the centre).

    With ``standardize=False`` this is exactly Prophet's regressor term, so a
    scenario's simulated paths are the centred paths shifted by it.
    """
    total = np.zeros(n)
    for name, values in regressors.items():
        total = total + coefficients[name] * values
    return total


def _centred_draws(fitted: FittedModel, years: Sequence[int]) -> tuple[Array, Array]:
    """Trend and simulated paths (rows: years) with every driver at its centre; cached by horizon."""
    if len(years) not in fitted.draws:
        frame = _frame(fitted.design, years)
        with _seeded(fitted.seed):
            samples = np.asarray(fitted.prophet.predictive_samples(frame)["yhat"], dtype=float)
        fitted.draws[len(years)] = (_trend(fitted.prophet, frame), samples)
    return fitted.draws[len(years)]


def _simulate(fitted: FittedModel, years: Sequence[int], drivers: Mapping[str, Mapping[int, float]]
              ) -> tuple[Array, dict[str, Array], Array]:
    """yhat, its parts (trend and each driver) and the simulated paths for one set of driver paths."""
    trend, centred = _centred_draws(fitted, years)
    regressors = _regressors(fitted.design, years, drivers)
    parts = {"trend": trend} | {n: fitted.coefficients[n] * x for n, x in regressors.items()}
    shift = _contribution(fitted.coefficients, regressors, len(years))
    return trend + shift, parts, centred + shift[:, None]


def _delivery_units(fitted: FittedModel, deliveries: Mapping[int, float], years: Sequence[int]) -> Array:
    """Known deliveries per forecast year in the target's unit."""
    tiv = np.array([deliveries.get(y, 0.0) for y in years])
    if fitted.spec.target.measure == "tiv":
        return tiv
    last = [p for p in fitted.design.history.points if p.world_tiv is not None][-1]
    return 100.0 * tiv / float(last.world_tiv or 1.0)


def _simulation(fitted: FittedModel, resolved: ResolvedScenario) -> Simulation:
    """Point, simulated paths and parts of one resolved scenario, in the target's unit (bounded)."""
    yhat, parts, samples = _simulate(fitted, resolved.years, resolved.drivers)
    delivery = _delivery_units(fitted, resolved.known_deliveries, resolved.years)
    upper = 100.0 if fitted.spec.target.measure == "share" else np.inf
    scale = fitted.design.scale
    return Simulation(yhat, parts, np.clip(scale.inverse(yhat) + delivery, 0.0, upper),
                      np.clip(scale.inverse(samples) + delivery[:, None], 0.0, upper), delivery)


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
    rows = forecast_years(resolved, d.scale, interval_width, _simulation(fitted, resolved),
                          _simulation(fitted, resolve_scenario(SCENARIOS["baseline"], d, horizon)))
    request = ForecastRequest(fitted.spec.target, scenario, horizon, interval_width, fitted.spec.window, fitted.seed)
    canonical = canonical_request(request, fitted.inputs, resolved)
    return Forecast(
        key=key_of(canonical), request=canonical, scenario=scenario, resolved=resolved, design=d,
        years=tuple(rows), fitted_history=fitted.in_sample, model=fitted.description,
        interval_width=interval_width, data_version=fitted.inputs.data_version,
        notes=tuple(resolved.notes) + fitted.inputs.notes,
    )


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

