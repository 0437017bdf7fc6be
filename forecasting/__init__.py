"""tivcast forecasting core: a country's share of world arms exports under scenarios.

Pure: inputs are plain data, nothing is read or written (no database, Redis or
HTTP), so it works the same in a worker and in a notebook.

Modules
-------
``errors``     the error tree (every error names its field and value)
``inputs``     :class:`ForecastInputs`, the plain data handed in (JSON round trip)
``drivers``    the drivers, their meaning and units, the policy-regime index
``series``     targets, history windows, zeros and gaps, the bounded scales
``scenarios``  model settings, driver paths and changes, scenarios, the catalogue :data:`SCENARIOS`
``paths``      resolution: stated paths and changes become yearly driver values
``parsing``    :func:`parse_scenario` for custom scenarios sent as JSON
``keys``       requests, their resolution against the data, content keys
``output``     :class:`~forecasting.output.Forecast` and friends, JSON output
``model``      Prophet: ``fit``, ``predict``, ``forecast_scenarios`` (imports Prophet on first fit)
``backtest``   rolling-origin evaluation against naive baselines

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
