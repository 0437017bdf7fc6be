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

from forecasting.coherent import PanelForecast
from forecasting.drivers import DRIVERS
from forecasting.keys import MODEL_VERSION, Design, canonical_json, interval_label, normalise
from forecasting.model_card import ModelCard, driver_standing
from forecasting.panel import WORLD, Panel
from forecasting.paths import ResolvedScenario
from forecasting.scenarios import Scenario
from forecasting.series import Scale, Target

__all__ = ["Forecast", "ForecastYear", "ScenarioSetResult", "Simulation", "describe_model", "forecast_years"]

Array = npt.NDArray[np.float64]
DIGITS = 6
TIV_CAVEAT = ("TIV (SIPRI trend-indicator value) measures the volume of major-arms deliveries in constant 1990 "
              "US dollars; it is not the financial value of arms sales.")
DRIVER_CAVEAT = ("Driver coefficients are associations fitted on the history, not causal effects; the baseline uses "
                 "none.")
CAVEATS = (
    TIV_CAVEAT,
    "Intervals are calibrated on the served model's own past errors at earlier origins (model.requested_interval: "
    "how often intervals of the width asked for held); they do not include uncertainty about a scenario's driver "
    "paths or its Prophet coefficients. A TIV or world-total forecast under a scenario whose world military "
    "spending differs from the baseline's also moves each bound by the world-demand elasticity at the edge of its "
    "confidence range (model.world_demand), which errs on the wide side.",
    DRIVER_CAVEAT,
)
PIPELINE_CAVEATS = (
    TIV_CAVEAT,
    "Intervals are quantiles of simulated paths: the statistical base's and the world total's calibrated past "
    "errors, the world-demand elasticity's estimation uncertainty, each prospective deal happening or not, "
    "delivery slips and TIV per unit at their stated odds and ranges. They do not include uncertainty about a "
    "scenario's stated paths (spending, probabilities a custom scenario sets) or about deals not in the pipeline; "
    "the simulation as a whole cannot be scored at past origins.",
    DRIVER_CAVEAT,
)


@dataclass(frozen=True)
class Simulation:
    """One resolved scenario run through a fitted model (rows: forecast years)."""

    yhat: Array  # transformed scale
    parts: dict[str, Array]  # trend and each driver's contribution, transformed scale
    point: Array  # target's unit, deliveries included, bounded
    paths: Array  # calibrated (lower, upper) per year, target's unit, bounded
    delivery: Array  # known deliveries in the target's unit
    effects: dict[str, Array] | None = None  # per cause, in the target's unit, where not derived from ``parts``


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


def forecast_years(resolved: ResolvedScenario, scale: Scale, scenario: Simulation,
                   baseline: Simulation) -> tuple[ForecastYear, ...]:
    """Per-year rows: point, calibrated interval, driver effects, difference from the baseline."""
    rows = []
    for i, year in enumerate(resolved.years):
        z = scenario.yhat[i]
        effects = {n: float(scale.inverse(z) - scale.inverse(z - v[i])) for n, v in scenario.parts.items()
                   if n != "statistical_base"} if scenario.effects is None else \
            {n: float(v[i]) for n, v in scenario.effects.items()}
        lo, hi = scenario.paths[i]
        b_lo, b_hi = baseline.paths[i]
        rows.append(ForecastYear(
            year, float(scenario.point[i]), float(lo), float(hi),
            {n: float(v[i]) for n, v in scenario.parts.items()}, effects,
            {n: resolved.drivers[n][year] for n in resolved.drivers}, float(scenario.delivery[i]),
            (float(scenario.point[i] - baseline.point[i]), float(lo - b_lo), float(hi - b_hi)),
        ))
    return tuple(rows)


PIPELINE_POINT = (
    "the statistical base (the coherent ensemble on Japan's exports minus the pipeline deals' past deliveries, as a "
    "share) plus the pipeline's expected deliveries (TIV); a share is that over the world forecast, a TIV forecast "
    "the base share times the world forecast plus the deliveries")


PIPELINE_SCORED = (
    "the coherent ensemble on Japan's whole export history, without the pipeline: the pipeline records today's "
    "deals, not what was known at past origins, so the deal-by-deal part of this forecast has no held-out score")


PIPELINE_ROOM = (
    "Japan's share is the one its baseline serves (statistical base plus its deal pipeline's expected deliveries), "
    "and every other supplier's coherent share, the rest of the world's included, is multiplied by this factor per "
    "year so that they still add up to 100 %: with the world total fixed, what Japan's deals deliver the others "
    "do not (an assumption: a frigate Australia buys from Japan is one it does not buy elsewhere)"
)


def _statistical_scored(base: PanelForecast, code: str) -> str:
    """What the evaluation scored for a target without a pipeline, and how the served forecast differs."""
    if base.room is None or code == WORLD:
        return "this forecast's statistical base, made as served"
    low = float(np.min(base.room[:10]))
    return ("this forecast's statistical base, made as served, before the room it makes for Japan's deal pipeline "
            f"(a factor of {low:.4f} to 1 on the share over the first 10 years; the pipeline is today's, so that "
            "step cannot be scored at past origins)")


def _pipeline_shift(d: Design) -> str:
    return ("fitting the drivers' coefficients; for Japan a scenario's driver differences then shift the statistical "
            f"base's share on its logit scale (offset {d.base_share_scale.offset:g} pp), which for a share this small "
            "moves almost exactly as the log scale does")


def settings_effect(d: Design) -> dict[str, str]:
    """What each of the scenario's model settings changes in this forecast (so that none is taken for more)."""
    regression = ("the Prophet regression whose driver coefficients move a scenario away from the baseline"
                  + ("" if d.settings.drivers else " (this target has no driver: no effect)") + "; not the baseline")
    return {
        "growth": regression, "changepoint_prior_scale": regression, "driver_prior_scale": regression,
        "drivers": "the drivers of that regression",
        "cap": ("a ceiling on the point and both bounds, in TIV million (the driver regression, on the share, "
                "saturates at 100 %)" if d.target.measure == "tiv" and d.target.country != WORLD else
                "a ceiling on the point and both bounds, in the target's unit; also the logistic trend's saturation "
                "in that regression") if d.settings.cap is not None else
        "none given: shares stay within 0-100, TIV >= 0",
        "zero_offset": "no effect: a TIV target's driver regression runs on the supplier's share (default offset), "
        "so that its TIV and share what-ifs agree" if d.target.measure == "tiv" and d.target.country != WORLD
        and d.settings.drivers else "the transform the scenario's driver differences act on",
        "uncertainty_samples": "the simulated paths behind the pipeline's intervals" if d.pipeline else
        "no effect: this forecast's interval is conformal (read from past errors), not simulated",
    }


def _method(d: Design, code: str) -> str:
    if d.pipeline:
        return ("Japan's deal pipeline (expected deliveries of committed and prospective deals) plus a statistical "
                "base, the coherent equal-weight ensemble on Japan's exports besides the deals; simulated intervals")
    if code == WORLD:
        return "equal-weight ensemble on the world total's own series, with conformal intervals"
    return "coherent equal-weight ensemble with conformal intervals"


def _members_of(d: Design, code: str) -> str:
    """What ``model.members`` forecast."""
    if d.pipeline:
        return ("the statistical base: Japan's exports minus the pipeline deals' past deliveries, as a share of "
                "world exports, before the reconciliation factor; the deals are added to it (model.point_forecast)")
    if code == WORLD:
        return "the world total, TIV million"
    return "this supplier's share of world exports, percent, before the reconciliation factor"


def _coherence(base: PanelForecast, code: str) -> dict[str, Any]:
    if code == WORLD:
        return {"rule": "the world total is forecast on its own series and is not reconciled; every supplier's "
                "TIV forecast is its coherent share times it, so the suppliers' TIV forecasts add up to it",
                "suppliers": len(base.share), "factor": None,
                "intervals": "the world total's interval is calibrated on its own past errors"}
    return {
        "rule": "every supplier's ensemble share and the rest of the world's are scaled by one factor per "
        "year so that they add up to 100 %; TIV = coherent share x world forecast",
        "suppliers": len(base.share), "factor": [float(v) for v in base.factor][:10],
        "intervals": "each supplier's interval is calibrated on its own; intervals do not add up",
        **({"pipeline_room": {"rule": PIPELINE_ROOM, "factor": [float(v) for v in base.room][:10]}}
           if base.room is not None else {}),
    }


def _interval_method(d: Design, code: str) -> str:
    if d.pipeline:
        return (f"quantiles of {d.settings.uncertainty_samples} simulated paths: the statistical base's and the "
                "world total's split-conformal errors (as below), the world-demand elasticity's uncertainty, each "
                "prospective deal happening or not, delivery slips and TIV per unit")
    beyond = ("beyond 10 years the log ratio of each bound to the point grows by sqrt(h/10), so the world total "
              "never nears zero" if code == WORLD else "beyond 10 years widened by sqrt(h/10)")
    return ("split-conformal: quantiles of the served model's past errors per horizon, scaled by the target's mean "
            f"absolute one-year change over the last 15 years; {beyond} (an assumption: no forecast that far "
            "ahead is scored)")


def describe_model(d: Design, coefficients: dict[str, float], seed: int, base: PanelForecast, card: ModelCard,
                   panel: Panel, target: Target, driver_scale: Scale | None = None) -> dict[str, Any]:
    """Method (members and weights), held-out accuracy, calibration, and the drivers' standing; ``driver_scale``:
    the scale the driver coefficients act on (a supplier's share's, for its TIV target too)."""
    shifted_on = driver_scale or d.scale
    share_for_tiv = shifted_on is not d.scale and target.measure == "tiv" and target.country != WORLD
    code = target.country
    members = base.served_members(code) if d.pipeline else base.world_members if code == WORLD else \
        base.members[code]
    weights = base.weights(code)  # equal: the same member names whichever history they were fitted on
    drivers = {}
    for name, coef in coefficients.items():
        info = DRIVERS[name]
        drivers[name] = {
            "title": info.title, "meaning": info.meaning, "unit": info.unit, "source": info.source,
            "step": info.step[1], "coefficient_per_step": coef, "multiplier_per_step": math.exp(coef),
            "estimated_or_asserted": "asserted: a Prophet regression coefficient on the history, used only to move "
            "scenarios away from the baseline; not part of the scored baseline",
            "in_baseline": False, **driver_standing(name, code),
        }
    fitted = d.history.fit_points
    return {
        "method": _method(d, code),
        "engine": {"prophet": version("prophet"), "statsforecast": version("statsforecast")},
        "members": {n: {"weight": weights[n], "share_forecast" if code != WORLD else "tiv_forecast":
                        [float(v) for v in members[n]][:10]} for n in members},
        "members_of": _members_of(d, code),
        "combination": "equal weights, fixed a priori (not fitted to the evaluation)",
        "coherence": _coherence(base, code),
        "point_forecast": PIPELINE_POINT if d.pipeline else "the coherent ensemble (the scenario's driver "
        + ("differences move the supplier's share on its logit scale, and the TIV is that share times the world "
           "forecast)" if share_for_tiv else f"differences move it on the {d.scale.kind} scale)"),
        "interval": _interval_method(d, code),
        "accuracy": card.summary(code, target.measure) | {"what_was_scored": PIPELINE_SCORED if d.pipeline else
                                                         _statistical_scored(base, code)},
        "evaluated_on_these_data": panel.digest() == card.data_digest,
        "transform": {**shifted_on.to_dict(), "used_for": _pipeline_shift(d) if d.pipeline else
                      "scenario differences" + (" of the share (the TIV follows it)" if share_for_tiv else "")},
        "settings": d.settings.to_dict(),
        "settings_effect": settings_effect(d),
        "seed": seed,
        "fit_years": {"first": fitted[0].year, "last": fitted[-1].year, "count": len(fitted)},
        "drivers": drivers,
        "difference_from_baseline": "this scenario minus the baseline scenario (driver paths and known deliveries)",
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
    model: dict[str, Any]
    interval_width: float
    data_version: str
    notes: tuple[str, ...]
    model_version: str = MODEL_VERSION
    pipeline: dict[str, Any] | None = None  # Japan's deal pipeline: deals, breakdown by cause, assumptions

    @property
    def points(self) -> dict[int, float]:
        return {row.year: row.point for row in self.years}

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict, floats rounded to 6 significant digits."""
        label = interval_label(self.interval_width)
        history = [p.to_dict() for p in self.design.history.points]
        result: dict[str, Any] = normalise({
            "key": self.key, "target": self.design.target.to_dict(), "scenario": self.scenario.to_dict(),
            "request": self.request, "data_version": self.data_version, "model_version": self.model_version,
            "interval_width": self.interval_width, "model": self.model, "history": history,
            "forecast": [row.to_dict(label) for row in self.years],
            "notes": list(self.notes) + list(PIPELINE_CAVEATS if self.pipeline is not None else CAVEATS),
            **({"pipeline": self.pipeline} if self.pipeline is not None else {}),
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
