"""Does a driver earn a place? The perfect-foresight test of a driver, through the served code path.

A driver moves a scenario away from the baseline (a Prophet regression
coefficient on the transformed scale, or for world military expenditure the
world-demand elasticity). Whether that movement carries information is
measured here: from an origin whose data (exports, world total, the driver)
end at that year, the served model is fitted as ``POST /v1/forecasts`` fits it
(:func:`forecasting.model.fit`, the driver alone in ``settings.drivers``), and
two forecasts are made, the **baseline** and a scenario whose driver path is
the driver's **actual** values after the origin (``mode: level``): perfect
foresight of the driver. Scored over many origins
(``bench/forecast_drivers.py``), a driver whose true future path does not
lower the held-out error cannot help with a forecast of that path; a driver
that does is still not in the baseline, whose driver paths are assumptions,
but its scenario differences point the way the history supports.

The verdicts shipped with the model (``driver_evaluation.json``, written by
that bench) are quoted by every forecast's ``model.drivers`` (and, for world
military expenditure, ``model.world_demand``): :func:`forecasting.model_card.driver_standing`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forecasting.drivers import WORLD_MILEX
from forecasting.inputs import ForecastInputs
from forecasting.model import ModelSpec, fit, predict
from forecasting.scenarios import SCENARIOS, DriverPath, ModelSettings, Scenario, with_settings
from forecasting.series import Target

__all__ = ["MATERIAL", "Trial", "foresight_points", "settings_for", "summarise"]

MATERIAL = 0.99  # "improved" means a held-out MASE at least 1 % lower, not a difference in the fourth digit


@dataclass(frozen=True)
class Trial:
    """One scored year: a driver on a target from an origin, the baseline's and perfect foresight's scaled errors."""

    driver: str
    code: str
    origin: int
    horizon: int
    baseline: float  # |baseline error| / MASE scale
    foresight: float  # |perfect-foresight error| / MASE scale


def settings_for(driver: str) -> ModelSettings:
    """The driver alone in the Prophet regression; world military expenditure is no regressor (it acts on the
    world total through the elasticity, fitted with the default settings)."""
    return ModelSettings() if driver == WORLD_MILEX else ModelSettings(drivers=(driver,))


def foresight_points(inputs: ForecastInputs, target: Target, driver: str, future: Mapping[int, float],
                     horizon: int) -> tuple[list[float], list[float]]:
    """Point forecasts of the baseline and of the driver's ``future`` path, for horizons 1..``horizon`` after
    the inputs' last year (cut the inputs, the driver's history included, at the origin first).

    Raises
    ------
    InvalidTarget, InvalidScenario, InsufficientData
        As :func:`forecasting.model.fit` does (for example fewer than ten years with the driver).
    """
    settings = settings_for(driver)
    fitted = fit(inputs, ModelSpec(target, settings=settings))
    baseline = SCENARIOS["baseline"] if driver == WORLD_MILEX else with_settings(SCENARIOS["baseline"],
                                                                                  drivers=(driver,))
    ahead = Scenario(f"foresight-{driver}".replace("_", "-"), "Perfect foresight of the driver",
                     "The driver's actual values after the origin.", paths={driver: DriverPath("level", dict(future))},
                     settings=settings)
    return ([y.point for y in predict(fitted, baseline, horizon).years],
            [y.point for y in predict(fitted, ahead, horizon).years])


def summarise(trials: Sequence[Trial]) -> dict[str, Any]:
    """Per driver: the baseline's and perfect foresight's MASE, the verdict (``improved_held_out``: at least
    :data:`MATERIAL` lower), and per target the same two scores."""
    out: dict[str, Any] = {}
    for driver in sorted({t.driver for t in trials}):
        mine = [t for t in trials if t.driver == driver]
        base, ahead = float(np.mean([t.baseline for t in mine])), float(np.mean([t.foresight for t in mine]))
        per = {c: (float(np.mean([t.baseline for t in mine if t.code == c])),
                   float(np.mean([t.foresight for t in mine if t.code == c]))) for c in sorted({t.code for t in mine})}
        out[driver] = {
            "targets": sorted(per), "forecasts": len(mine), "origins": [min(t.origin for t in mine),
                                                                        max(t.origin for t in mine)],
            "horizons": [min(t.horizon for t in mine), max(t.horizon for t in mine)],
            "mase_baseline": base, "mase_perfect_foresight": ahead, "ratio": ahead / base if base > 0 else None,
            "improved_held_out": bool(ahead <= MATERIAL * base),
            "targets_improved": sum(a < b for b, a in per.values()),
            "targets_worse": sum(a > b for b, a in per.values()),
            "by_target": {c: {"mase_baseline": b, "mase_perfect_foresight": a} for c, (b, a) in per.items()},
        }
    return out
