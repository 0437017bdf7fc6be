"""What a forecast returns: per-year values, history, model description, identity.

``Forecast.to_dict()`` is JSON-safe (interval keys ``lo-80``/``hi-80``, years
as integers inside row objects) with floats rounded to 6 significant digits,
and ``Forecast.to_json()`` is its canonical serialisation: the same request on
the same data gives byte-identical bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.drivers import DRIVERS
from forecasting.keys import MODEL_VERSION, Design, canonical_json, interval_label, normalise
from forecasting.paths import ResolvedScenario
from forecasting.scenarios import Scenario
from forecasting.series import Scale

__all__ = ["Forecast", "ForecastYear", "ScenarioSetResult", "Simulation", "describe_model", "forecast_years"]

Array = npt.NDArray[np.float64]
DIGITS = 6
CAVEATS = (
    "TIV (SIPRI trend-indicator value) measures the volume of major-arms deliveries in constant 1990 "
    "US dollars; it is not the financial value of arms sales.",
    "Intervals reflect trend changes and year-to-year noise as fitted; they do not include uncertainty "
    "about the scenario's driver paths or about the driver coefficients.",
    "Driver coefficients are associations fitted on the history, not causal effects.",
)


@dataclass(frozen=True)
class Simulation:
    """One resolved scenario run through a fitted model (rows: forecast years)."""

    yhat: Array  # transformed scale
    parts: dict[str, Array]  # trend and each driver's contribution, transformed scale
    point: Array  # target's unit, deliveries included, bounded
    paths: Array  # simulated paths (years x samples), target's unit, bounded
    delivery: Array  # known deliveries in the target's unit


@dataclass(frozen=True)
class ForecastYear:
    """One forecast year, in the target's unit unless stated."""

    year: int
    point: float
    lower: float
    upper: float
    components: dict[str, float]  # trend and each driver, on the transformed scale (additive)
    effects: dict[str, float]  # point minus the point without that driver's contribution
    drivers: dict[str, float]  # driver values used, in their own units
    known_delivery: float  # added to point and bounds
    difference: tuple[float, float, float]  # (point, lower, upper) minus the baseline paths

    def to_dict(self, label: str) -> dict[str, Any]:
        d_point, d_lo, d_hi = self.difference
        return {
            "year": self.year, "point": self.point, f"lo-{label}": self.lower, f"hi-{label}": self.upper,
            "components_model_scale": self.components, "effects": self.effects, "drivers": self.drivers,
            "known_delivery": self.known_delivery,
            "difference_from_baseline": {"point": d_point, f"lo-{label}": d_lo, f"hi-{label}": d_hi},
        }


def forecast_years(resolved: ResolvedScenario, scale: Scale, width: float, scenario: Simulation,
                   baseline: Simulation) -> tuple[ForecastYear, ...]:
    """Per-year rows: quantile intervals of the simulated paths, effects, difference from the baseline.

    The baseline was simulated with the same draws, so the difference's
    interval reflects the scenario's driver paths and deliveries alone.
    """
    q = ((1.0 - width) / 2.0, (1.0 + width) / 2.0)
    lo, hi = np.quantile(scenario.paths, q, axis=1)
    d_lo, d_hi = np.quantile(scenario.paths - baseline.paths, q, axis=1)
    rows = []
    for i, year in enumerate(resolved.years):
        z = scenario.yhat[i]
        effects = {n: float(scale.inverse(z) - scale.inverse(z - v[i])) for n, v in scenario.parts.items()
                   if n != "trend"}
        rows.append(ForecastYear(
            year, float(scenario.point[i]), float(lo[i]), float(hi[i]),
            {n: float(v[i]) for n, v in scenario.parts.items()}, effects,
            {n: resolved.drivers[n][year] for n in resolved.drivers}, float(scenario.delivery[i]),
            (float(scenario.point[i] - baseline.point[i]), float(d_lo[i]), float(d_hi[i])),
        ))
    return tuple(rows)


def describe_model(d: Design, coefficients: dict[str, float], seed: int) -> dict[str, Any]:
    """The model settings and fitted driver coefficients, in words and numbers."""
    fitted = d.history.fit_points
    drivers = {}
    for name, coef in coefficients.items():
        info = DRIVERS[name]
        drivers[name] = {
            "title": info.title, "meaning": info.meaning, "unit": info.unit, "source": info.source,
            "enters_as": ("natural log" if info.regressor == "log" else "level") + ", centred on "
            "its mean over the fitted years", "step": info.step[1], "coefficient_per_step": coef,
            "multiplier_per_step": math.exp(coef),
            "multiplier_meaning": "factor on the odds of the share (about the share itself when small)"
            if d.scale.kind == "logit" else "factor on TIV plus the offset",
        }
    transform = "logit of the share" if d.scale.kind == "logit" else "log of TIV"
    return {
        "engine": f"prophet {version('prophet')}",
        "transform": {**d.scale.to_dict(), "description": f"{transform} plus the offset"},
        "settings": d.settings.to_dict(),
        "seed": seed,
        "fit_years": {"first": fitted[0].year, "last": fitted[-1].year, "count": len(fitted)},
        "drivers": drivers,
        "point_forecast": "back-transformed Prophet yhat (a median-type forecast, not a mean)",
        "interval": f"quantiles of {d.settings.uncertainty_samples} simulated paths, back-transformed",
        "components_model_scale": f"trend plus each driver's contribution = yhat on the {d.scale.kind} scale",
        "effects": "point minus the point with that driver held at its mean over the fitted years "
        "(in the target's unit; effects do not add up, the scale is not linear)",
        "difference_from_baseline": "this scenario minus the baseline scenario's driver paths (and known "
        "deliveries) under the same fitted model and the same simulated paths",
    }


@dataclass(frozen=True)
class Forecast:
    """A scenario forecast with everything needed to trust and reproduce it."""

    key: str
    request: dict[str, Any]  # canonical resolved request (what ``key`` hashes)
    scenario: Scenario
    resolved: ResolvedScenario
    design: Design
    years: tuple[ForecastYear, ...]
    fitted_history: dict[int, float]  # in-sample back-transformed yhat of the fitted years
    model: dict[str, Any]
    interval_width: float
    data_version: str
    notes: tuple[str, ...]
    model_version: str = MODEL_VERSION

    @property
    def points(self) -> dict[int, float]:
        return {row.year: row.point for row in self.years}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, floats rounded to 6 significant digits."""
        label = interval_label(self.interval_width)
        history = [{**p.to_dict(), "fitted": self.fitted_history.get(p.year)} for p in self.design.history.points]
        result: dict[str, Any] = normalise({
            "key": self.key, "target": self.design.target.to_dict(), "scenario": self.scenario.to_dict(),
            "request": self.request, "data_version": self.data_version, "model_version": self.model_version,
            "interval_width": self.interval_width, "model": self.model, "history": history,
            "forecast": [row.to_dict(label) for row in self.years],
            "notes": list(self.notes) + list(CAVEATS),
        }, DIGITS)
        return result

    def to_json(self) -> str:
        """Canonical JSON text (sorted keys, no whitespace): byte-identical for identical input."""
        return canonical_json(self.to_dict(), DIGITS)


@dataclass(frozen=True)
class ScenarioSetResult:
    """Forecasts of a scenario set and which scenarios shared a fit."""

    forecasts: dict[str, Forecast]
    fit_groups: tuple[tuple[str, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict with each forecast and a side-by-side table of point forecasts."""
        first = next(iter(self.forecasts.values()))
        comparison = [
            {"year": row.year, **{n: f.points[row.year] for n, f in self.forecasts.items()}} for row in first.years
        ]
        result: dict[str, Any] = normalise({
            "forecasts": {n: f.to_dict() for n, f in self.forecasts.items()},
            "fit_groups": [list(g) for g in self.fit_groups],
            "comparison": comparison,
        }, DIGITS)
        return result
