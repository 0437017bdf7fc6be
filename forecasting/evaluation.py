"""Rolling-origin evaluation of exactly what is served, against honest benchmarks.

At every origin the panel is cut at the end of that year (exports, world
totals, and therefore everything derived from them), the served coherent
forecast is made by :func:`forecasting.coherent.forecast_panel` (the code path
of ``POST /v1/forecasts`` with the baseline scenario, whose drivers add
nothing to the statistical base) and its intervals are calibrated from the
errors already observed at that origin (:func:`forecasting.calibration.calibrate`).
Years whose world total is a lower bound (2024) are never scored.

Benchmarks, from the same cut data: ``naive`` (last value), ``mean5``
(mean of the last five years), ``drift`` (last value plus the mean yearly
change), ``damped_ets`` (statsforecast AutoETS, damped), ``theta``
(statsforecast AutoTheta) and, for intermittent series, ``zero``.

Metrics, in percentage points of world exports: MAE, RMSE, MASE (errors
divided by the in-sample mean absolute one-year change at the origin), and for
the served model the coverage of its 80 % and 95 % intervals and their
Winkler (interval) score; by horizon, by supplier and overall.

Which origins decide what: origins before ``first_scored`` only feed the
calibration (its burn-in) and are the period on which the member set was
chosen; scores are computed on origins from ``first_scored`` on. Weights are
equal (fixed a priori), so no other choice is fitted to the scored origins.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.calibration import Calibration, ErrorRecord, calibrate
from forecasting.coherent import PanelForecast, forecast_panel, interval_scale, naive_scale
from forecasting.errors import InsufficientData
from forecasting.members import is_intermittent
from forecasting.panel import REST, WORLD, Panel

__all__ = ["BENCHMARKS", "Evaluation", "Scored", "evaluate", "served_records"]

Array = npt.NDArray[np.float64]
BENCHMARKS = ("naive", "mean5", "drift", "damped_ets", "theta", "zero")
SERVED = "served"
WIDTHS = (0.8, 0.95)


@dataclass(frozen=True)
class Scored:
    """One scored forecast: a supplier, origin and horizon, every model's point and the served intervals."""

    code: str
    origin: int
    horizon: int
    actual: float
    scale: float
    points: dict[str, float]  # model -> point (served and benchmarks)
    intervals: dict[float, tuple[float, float]] = field(default_factory=dict)  # width -> served bounds
    intermittent: bool = False


def _benchmarks(pf: PanelForecast, code: str, values: Array) -> dict[str, Array]:
    members = pf.members[code]
    h = np.arange(1, pf.horizon + 1)
    drift = values[-1] + (values[-1] - values[0]) / max(len(values) - 1, 1) * h
    out = {"naive": members["naive"], "mean5": members["mean5"], "drift": np.clip(drift, 0.0, 100.0),
           "damped_ets": members["damped_ets"], "theta": members["theta"]}
    if is_intermittent(values):
        out["zero"] = np.zeros(pf.horizon)
    return out


Row = tuple[str, int, float, float, float, float]
WorldRow = tuple[int, int, float, float, float]  # (origin, h, point, actual, MASE scale)


def served_records(panel: Panel, origin: int, horizon: int) -> tuple[PanelForecast, list[Row]]:
    """Forecast from ``origin``: (code, h, point, actual, MASE scale, interval scale) per scorable year."""
    cut = panel.cut(origin)
    pf = forecast_panel(cut, horizon)
    rows = []
    actual_share = {c: panel.share(c) for c in pf.share if c != REST}
    for code, points in pf.share.items():
        if code == REST:
            continue
        history = cut.array(code, "share")[1]
        scale, spread = naive_scale(history), interval_scale(history)
        for h in range(1, horizon + 1):
            year = origin + h
            if year in actual_share[code] and year not in panel.lower_bound_years:
                rows.append((code, h, float(points[h - 1]), actual_share[code][year], scale, spread))
    return pf, rows


def _calibration_records(rows: Iterable[tuple[str, int, int, float, float, float]]) -> list[ErrorRecord]:
    """(code, origin, h, point, actual, interval scale) rows as scaled errors."""
    return [ErrorRecord("share", c, o, h, (a - f) / s) for c, o, h, f, a, s in rows if s > 0]


def _tiv_records(panel: Panel, pf: PanelForecast, origin: int) -> list[ErrorRecord]:
    """Scaled errors of the served TIV forecasts (suppliers: ``tiv``; the world total: ``world``)."""
    cut, out = panel.cut(origin), []
    for code in [*(c for c in pf.share if c != REST), WORLD]:
        history = cut.array(code, "tiv")[1]
        spread, actual, measure = interval_scale(history), panel.tiv(code), "world" if code == WORLD else "tiv"
        for h in range(1, pf.horizon + 1):
            year = origin + h
            if spread > 0 and year in actual and year not in panel.lower_bound_years:
                out.append(ErrorRecord(measure, code, origin, h, (actual[year] - float(pf.tiv(code)[h - 1])) / spread))
    return out


@dataclass(frozen=True)
class Evaluation:
    """Everything scored, plus the calibration the served model would use after the last origin."""

    horizon: int
    origins: tuple[int, ...]
    first_scored: int
    scored: tuple[Scored, ...]
    calibration: Calibration
    world: tuple[WorldRow, ...]  # world TIV

    def table(self, horizons: Sequence[int] | None = None, codes: Sequence[str] | None = None) -> dict[str, Any]:
        """Metrics of every model over the chosen horizons and suppliers."""
        rows = [s for s in self.scored if (horizons is None or s.horizon in horizons)
                and (codes is None or s.code in codes)]
        return metrics(rows)

    def by_horizon(self) -> dict[int, dict[str, Any]]:
        return {h: self.table([h]) for h in range(1, self.horizon + 1)}

    def by_country(self, horizons: Sequence[int] = (1, 2, 3, 4, 5)) -> dict[str, dict[str, Any]]:
        return {c: self.table(horizons, [c]) for c in sorted({s.code for s in self.scored})}


def metrics(rows: Sequence[Scored]) -> dict[str, Any]:
    """MAE, RMSE and MASE per model (models present in every row); coverage and Winkler for the served one."""
    if not rows:
        return {"n": 0, "models": {}}
    models = [m for m in (SERVED, *BENCHMARKS) if all(m in r.points for r in rows)]
    zero = [r for r in rows if "zero" in r.points]
    out: dict[str, Any] = {"n": len(rows), "models": {}}
    for m in models:
        out["models"][m] = _errors(rows, m)
    if zero and "zero" not in models:
        out["intermittent"] = {"n": len(zero), "served": _errors(zero, SERVED), "zero": _errors(zero, "zero")}
    for width in WIDTHS:
        inside, winkler = [], []
        for r in rows:
            if width not in r.intervals:
                continue
            lo, hi = r.intervals[width]
            inside.append(lo <= r.actual <= hi)
            alpha = 1.0 - width
            penalty = (2.0 / alpha) * (max(lo - r.actual, 0.0) + max(r.actual - hi, 0.0))
            winkler.append(hi - lo + penalty)
        key = f"{round(width * 100):d}"
        out["models"][SERVED][f"coverage_{key}"] = float(np.mean(inside)) if inside else None
        out["models"][SERVED][f"winkler_{key}"] = float(np.mean(winkler)) if winkler else None
    return out


def _errors(rows: Sequence[Scored], model: str) -> dict[str, float | int | None]:
    err = np.array([r.points[model] - r.actual for r in rows])
    scaled = [abs(e) / r.scale for e, r in zip(err, rows, strict=True) if r.scale > 0]
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
            "mase": float(np.mean(scaled)) if scaled else None, "n": len(rows)}


def evaluate(panel: Panel, *, first_origin: int = 1970, first_scored: int = 1990, last_origin: int | None = None,
             horizon: int = 10) -> Evaluation:
    """Rolling-origin evaluation of the served model (see the module docstring).

    Parameters
    ----------
    panel
        Every listed supplier and the world total, as far as known.
    first_origin, first_scored, last_origin
        Origins run from ``first_origin`` (calibration burn-in) and are scored
        from ``first_scored``; ``last_origin`` defaults to the last year with a
        scorable year after it.
    horizon
        Years forecast from each origin (scored up to it).

    Returns
    -------
    Evaluation
        Scored forecasts of every model, and the calibration known after the last origin.
    """
    scorable = [y for y in panel.years() if y not in panel.lower_bound_years]
    last = min(last_origin if last_origin is not None else scorable[-1] - 1, panel.last_year - 1)
    if first_origin > first_scored or first_scored > last:
        raise InsufficientData(f"origins {first_origin}-{last} leave nothing to score from {first_scored}",
                               field="origins")
    origins = tuple(range(first_origin, last + 1))
    errors: list[tuple[str, int, int, float, float, float]] = []
    pending: list[tuple[int, PanelForecast, list[Row]]] = []
    world_rows: list[WorldRow] = []
    tiv_records: list[ErrorRecord] = []
    for origin in origins:
        pf, rows = served_records(panel, origin, horizon)
        errors += [(c, origin, h, f, a, spread) for c, h, f, a, _, spread in rows]
        if origin >= first_scored:
            pending.append((origin, pf, rows))
        world_rows += _world_rows(panel, pf, origin, horizon)
        tiv_records += _tiv_records(panel, pf, origin)
    scored: list[Scored] = []
    records = _calibration_records(errors)
    for origin, pf, rows in pending:
        calibration = calibrate(records, known_by=origin, measures=["share"])
        cut = panel.cut(origin)
        for code, h, point, actual, scale, spread in rows:
            values = cut.array(code, "share")[1]
            bench = _benchmarks(pf, code, values)
            points = {SERVED: point, **{m: float(v[h - 1]) for m, v in bench.items()}}
            intervals = {w: interval(point, spread, calibration, "share", h, w) for w in WIDTHS}
            scored.append(Scored(code, origin, h, actual, scale, points, intervals, "zero" in bench))
    final = calibrate(records + tiv_records, known_by=panel.last_year, measures=["share", "tiv", "world"],
                      optional=("tiv", "world"))
    return Evaluation(horizon, origins, first_scored, tuple(scored), final, tuple(world_rows))


def _world_rows(panel: Panel, pf: PanelForecast, origin: int, horizon: int) -> list[WorldRow]:
    history = panel.cut(origin).array(WORLD, "tiv")[1]
    scale = naive_scale(history)
    rows = []
    for h in range(1, horizon + 1):
        year = origin + h
        if year in panel.world and year not in panel.lower_bound_years:
            rows.append((origin, h, float(pf.world[h - 1]), panel.world[year], scale))
    return rows


def interval(point: float, scale: float, calibration: Calibration, measure: str, horizon: int,
             width: float) -> tuple[float, float]:
    """Calibrated bounds around ``point`` (see :mod:`forecasting.calibration`), within [0, 100] for shares."""
    lo, hi = calibration.bounds(measure, horizon, width)
    upper = 100.0 if measure == "share" else math.inf
    return max(point + lo * scale, 0.0), min(point + hi * scale, upper)
