"""Calibrated intervals: split-conformal quantiles of past scaled errors, per horizon.

The interval around a point forecast ``f`` of a series with MASE scale ``s``
(its in-sample mean absolute one-year change) is ``[f + q_lo * s, f + q_hi *
s]``, clipped to the measure's bounds, where ``q_lo`` and ``q_hi`` are the
``(1 - w) / 2`` and ``(1 + w) / 2`` quantiles of the signed scaled errors
``(actual - forecast) / s`` of the *same served forecast* at earlier origins,
pooled over suppliers, at the same horizon. Scaling by ``s`` makes the
errors of a large and a small exporter comparable; quantiles of signed errors
keep the asymmetry (lumpy exports overshoot more than they undershoot).

For an intermittent history (at least 40 % zero years of late,
:func:`forecasting.members.is_intermittent`) the lower bound is 0 whatever
the width: zero is an outcome such a history shows in most years, and a
point pulled up by one large delivery (Lithuania's 2018) would otherwise
give an interval that excludes it. Out of the shipped panel this rule gives
the better Winkler score though it covers more than claimed (80 % intervals
about 0.90: with a lower bound of 0, only the upper quantile can miss);
``bench/forecast_selection.py`` prints both.

Only errors already observed at the origin are used (``origin' + h <=
origin``), so an interval never sees the future it covers. Any interval width
is calibrated the same way (interpolated on a fine quantile grid).

Beyond the last calibrated horizon (10 years), the quantiles of the last one
are widened by ``sqrt(h / 10)`` (a random-walk-like growth); this is an
assumption, stated in the response, not a measurement. For the world total
the widening acts on the log ratio of each bound to the point instead
(:func:`forecasting.evaluation.interval`): widened additively, its lower bound
reached 43 TIV million by 2054, a world without arms trade, where the widest
10-year fall on record is 47 %. :func:`world_beyond` is that rule, shared by
the served interval and the simulated world paths of Japan's pipeline
forecast (:func:`forecasting.japan.pipeline_forecast`), so both widen alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.errors import InsufficientData

__all__ = ["GRID", "Calibration", "ErrorRecord", "calibrate", "world_beyond"]

Array = npt.NDArray[np.float64]
GRID = np.linspace(0.0, 1.0, 401)  # quantile levels stored per horizon
MIN_ERRORS = {"share": 50, "tiv": 50, "world": 20}  # per horizon, before an interval is offered


@dataclass(frozen=True)
class ErrorRecord:
    """One past forecast of the served model: where it came from and how far off it was (scaled)."""

    measure: str
    code: str
    origin: int
    horizon: int
    scaled_error: float  # (actual - forecast) / scale
    intermittent: bool = False  # from an intermittent history: its interval's lower bound is 0 (any width)


@dataclass(frozen=True)
class Calibration:
    """Quantiles of scaled errors per measure and horizon, and where they came from."""

    quantiles: dict[str, dict[int, tuple[float, ...]]]  # measure -> horizon -> values on GRID
    counts: dict[str, dict[int, int]]
    origins: tuple[int, int]  # first and last origin whose errors were used

    def bounds(self, measure: str, horizon: int, width: float) -> tuple[float, float]:
        """Scaled-error quantiles (lower, upper) for an interval of probability ``width``."""
        table = self.quantiles.get(measure)
        if not table:
            raise InsufficientData(f"no calibration for {measure!r}", field="target.measure")
        last = max(table)
        h = min(horizon, last)
        grid = np.asarray(table[h], dtype=float)
        lo = float(np.interp((1.0 - width) / 2.0, GRID, grid))
        hi = float(np.interp((1.0 + width) / 2.0, GRID, grid))
        widen = math.sqrt(horizon / last) if horizon > last else 1.0
        return lo * widen, hi * widen

    def last_horizon(self, measure: str) -> int:
        """The longest horizon calibrated for ``measure`` (beyond it, bounds are widened: an assumption)."""
        table = self.quantiles.get(measure)
        if not table:
            raise InsufficientData(f"no calibration for {measure!r}", field="target.measure")
        return max(table)

    def draw(self, measure: str, horizon: int, levels: Array) -> Array:
        """Scaled errors at quantile ``levels`` (in [0, 1]): inverse-CDF draws for simulations."""
        table = self.quantiles.get(measure)
        if not table:
            raise InsufficientData(f"no calibration for {measure!r}", field="target.measure")
        last = max(table)
        grid = np.asarray(table[min(horizon, last)], dtype=float)
        widen = math.sqrt(horizon / last) if horizon > last else 1.0
        return np.asarray(np.interp(levels, GRID, grid) * widen, dtype=float)

    def to_dict(self) -> dict[str, Any]:
        return {
            "quantile_levels": len(GRID),
            "quantiles": {m: {str(h): list(q) for h, q in t.items()} for m, t in self.quantiles.items()},
            "counts": {m: {str(h): n for h, n in t.items()} for m, t in self.counts.items()},
            "origins": list(self.origins),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            {m: {int(h): tuple(float(v) for v in q) for h, q in t.items()} for m, t in data["quantiles"].items()},
            {m: {int(h): int(n) for h, n in t.items()} for m, t in data["counts"].items()},
            (int(data["origins"][0]), int(data["origins"][1])),
        )


def world_beyond(point: float, scale: float, scaled_errors: npt.ArrayLike, horizon: int, last: int) -> Array:
    """The world total at ``horizon`` beyond the last calibrated one, ``last``, from scaled errors read at
    ``last`` (bounds' quantiles, or inverse-CDF draws): the value they give at ``last``, ``point + e x scale``
    (at least 0), as a ratio to the point, raised to ``sqrt(horizon / last)``. A total of every supplier's
    deliveries moves by proportions, so its spread grows on the log ratio to the point, never below 0; for
    ``horizon <= last`` the value at ``last``'s errors itself."""
    errors = np.asarray(scaled_errors, dtype=float)
    grow = math.sqrt(horizon / last) if horizon > last else 1.0
    # Element by element in Python floats: numpy's vectorised power may differ from it in the last bit, and the
    # served interval's bounds have always been computed this way.
    values = [point * (max(point + e * scale, 0.0) / point) ** grow for e in errors.ravel().tolist()]
    return np.asarray(values, dtype=float).reshape(errors.shape)


def calibrate(records: Iterable[ErrorRecord], known_by: int, measures: Sequence[str] | None = None,
              optional: Sequence[str] = ()) -> Calibration:
    """Conformal quantiles from the records whose outcome is known by the end of ``known_by``.

    Measures in ``optional`` are left out, rather than refused, when they have too few errors.
    Raises :class:`InsufficientData` when a horizon has too few errors (:data:`MIN_ERRORS`).
    """
    usable = [r for r in records if r.origin + r.horizon <= known_by and math.isfinite(r.scaled_error)]
    quantiles: dict[str, dict[int, tuple[float, ...]]] = {}
    counts: dict[str, dict[int, int]] = {}
    for measure in measures or sorted({r.measure for r in usable}):
        by_h: dict[int, list[float]] = {}
        for r in usable:
            if r.measure == measure:
                by_h.setdefault(r.horizon, []).append(r.scaled_error)
        short = [h for h, e in by_h.items() if len(e) < MIN_ERRORS.get(measure, 50)]
        if (not by_h or short) and measure in optional:
            continue
        if not by_h or short:
            raise InsufficientData(f"too few past errors to calibrate {measure!r} intervals by {known_by}",
                                   field="calibration")
        quantiles[measure] = {h: tuple(float(v) for v in np.quantile(np.asarray(e), GRID))
                              for h, e in sorted(by_h.items())}
        counts[measure] = {h: len(e) for h, e in sorted(by_h.items())}
    if not usable:
        raise InsufficientData(f"no past errors known by {known_by}", field="calibration")
    return Calibration(quantiles, counts, (min(r.origin for r in usable), max(r.origin for r in usable)))
