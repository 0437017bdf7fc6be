"""tivcast forecasting core: a country's share of world arms exports under scenarios.

Pure: inputs are plain data, nothing is read or written (no database, Redis or
HTTP), so it works the same in a worker and in a notebook.

Modules
-------
``errors``      the error tree (every error names its field and value)
``inputs``      :class:`ForecastInputs`, the plain data handed in (JSON round trip)
``panel``       every supplier's exports and the world total, as shares that add up
``members``     the ensemble's members (naive, mean5, SES, damped ETS, Theta, log-SES, Prophet level, IMAPA)
``coherent``    the served statistical base: equal-weight ensemble, reconciled to 100 %, plausibility cap
``calibration`` split-conformal interval quantiles per horizon
``evaluation``  rolling-origin evaluation of exactly what is served, against benchmarks
``model_card``  the shipped calibration and accuracy tables (written by bench/forecast_accuracy.py)
``drivers``     the drivers, their meaning and units, the policy-regime index
``series``      targets, history windows, zeros and gaps, the bounded scales
``scenarios``   model settings, driver paths and changes, scenarios, the catalogue :data:`SCENARIOS`
``pipeline``    Japan's deals: expected and simulated deliveries
``prospects``   a scenario's pipeline rules (which prospects, what probability, edits)
``demand``      the world-demand elasticity (world TIV to world military expenditure)
``japan``       Japan's forecast from its pipeline: point, simulated interval, breakdown, assumptions
``paths``       resolution: stated paths, changes and pipeline rules become yearly values
``parsing``     :func:`parse_scenario` for custom scenarios sent as JSON (``parsing_pipeline`` for deals)
``keys``        requests, their resolution against the data, content keys
``output``      :class:`~forecasting.output.Forecast` and friends, JSON output
``model``       ``fit``, ``predict``, ``forecast_scenarios`` (imports Prophet on first fit)
``backtest``    the backtest report of ``GET /v1/backtests`` (from the model card)

This package namespace exports only what needs no Prophet, so that the API can
validate scenarios and compute content keys without importing the model stack.
Import the model explicitly::

    from forecasting import SCENARIOS, Target
    from forecasting.model import ModelSpec, fit, predict, forecast_scenarios

    fitted = fit(inputs, ModelSpec(Target("JPN", "share")), seed=0)
    forecast = predict(fitted, "liberalisation", horizon=10, interval_width=0.8)
    forecast.to_json()
"""

from forecasting.drivers import DRIVERS, REGIMES, DriverInfo, Regime, applicable_drivers, openness_by_year
from forecasting.errors import (
    ForecastingError,
    InsufficientData,
    InvalidInputs,
    InvalidScenario,
    InvalidTarget,
    NotFittedError,
)
from forecasting.inputs import ForecastInputs
from forecasting.keys import (
    MODEL_VERSION,
    ForecastRequest,
    ResolvedScenario,
    canonical_json,
    canonical_request,
    content_key,
    resolve_request,
)
from forecasting.parsing import parse_scenario
from forecasting.scenarios import SCENARIOS, DriverChange, DriverPath, ModelSettings, Scenario, get_scenario
from forecasting.series import HistoryWindow, Measure, Target

__all__ = [
    "DRIVERS",
    "MODEL_VERSION",
    "REGIMES",
    "SCENARIOS",
    "DriverChange",
    "DriverInfo",
    "DriverPath",
    "ForecastInputs",
    "ForecastRequest",
    "ForecastingError",
    "HistoryWindow",
    "InsufficientData",
    "InvalidInputs",
    "InvalidScenario",
    "InvalidTarget",
    "Measure",
    "ModelSettings",
    "NotFittedError",
    "Regime",
    "ResolvedScenario",
    "Scenario",
    "Target",
    "applicable_drivers",
    "canonical_json",
    "canonical_request",
    "content_key",
    "get_scenario",
    "openness_by_year",
    "parse_scenario",
    "resolve_request",
]
