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

The same forecasts are scored in TIV million too (``Evaluation.tiv``), as
``POST /v1/forecasts`` serves them for ``measure=tiv``: each supplier's (share
times the world forecast; benchmarks last value, 5-year mean, drift, damped
ETS and Theta of its TIV series) and the world total's (``WLD``; the same
benchmarks, on the world series), with the intervals the served model gives
them (calibration measures
``tiv`` and ``world``, from the errors known at each origin; a horizon with
too few known errors gets no interval and is left out of the coverage only).

Which origins decide what: origins before ``first_scored`` only feed the
calibration (its burn-in) and are the period on which the member set was
chosen; scores are computed on origins from ``first_scored`` on. Weights are
equal (fixed a priori), and no parameter is fitted to the scored origins. But
the design was not frozen before they were seen: the member set, the 15-year
interval scale, the 25-year ceiling, the intermittent zero lower bound and the
cap on TIV upper bounds were each kept over alternatives after model versions
had been scored on these origins (``bench/forecast_alternatives.py`` prints
the alternatives on both periods), so the scored figures are mildly
optimistic; the out-of-panel check (``bench/forecast_selection.py``, suppliers
no choice was made on) is the cleaner test.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.calibration import Calibration, ErrorRecord, calibrate, world_beyond
from forecasting.coherent import PanelForecast, forecast_panel, interval_scale, naive_scale
from forecasting.errors import InsufficientData
from forecasting.members import damped_ets, is_intermittent, theta
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
    measure: str = "share"  # "share" (percent), "tiv" (a supplier's TIV million) or "world" (the world total's)


def _drift(values: Array, horizon: int) -> Array:
    """The last value plus the history's mean yearly change, for horizons 1..``horizon`` (unbounded)."""
    return np.asarray(values[-1] + (values[-1] - values[0]) / max(len(values) - 1, 1) * np.arange(1, horizon + 1),
                      dtype=float)


def _benchmarks(pf: PanelForecast, code: str, values: Array) -> dict[str, Array]:
    members = pf.members[code]
    out = {"naive": members["naive"], "mean5": members["mean5"],
           "drift": np.clip(_drift(values, pf.horizon), 0.0, 100.0), "damped_ets": members["damped_ets"],
           "theta": members["theta"]}
    if is_intermittent(values):
        out["zero"] = np.zeros(pf.horizon)
    return out


def _tiv_benchmarks(pf: PanelForecast, code: str, values: Array) -> dict[str, Array]:
    """Benchmarks of a TIV series from the same cut data: last value, 5-year mean, drift, damped ETS and Theta
    (TIV million, at least 0): the world total's last two are its own members, a supplier's are fitted on its
    TIV series (the served supplier TIV is share x world, so no member of it is fitted there)."""
    out = {"naive": np.full(pf.horizon, values[-1]), "mean5": np.full(pf.horizon, float(np.mean(values[-5:]))),
           "drift": np.maximum(_drift(values, pf.horizon), 0.0)}
    if code == WORLD:
        return out | {"damped_ets": pf.world_members["damped_ets"], "theta": pf.world_members["theta"]}
    return out | {"damped_ets": np.maximum(damped_ets(values, pf.horizon), 0.0),
                  "theta": np.maximum(theta(values, pf.horizon), 0.0)}


Row = tuple[str, int, float, float, float, float, bool]  # ..., whether the history is intermittent
TivRow = tuple[str, int, float, float, float, float, dict[str, float], bool]  # + the benchmarks' points


def served_records(panel: Panel, origin: int, horizon: int) -> tuple[PanelForecast, list[Row]]:
    """Forecast from ``origin``: (code, h, point, actual, MASE scale, interval scale, intermittent) per scorable
    year."""
    cut = panel.cut(origin)
    pf = forecast_panel(cut, horizon)
    rows = []
    actual_share = {c: panel.share(c) for c in pf.share if c != REST}
    for code, points in pf.share.items():
        if code == REST:
            continue
        history = cut.array(code, "share")[1]
        scale, spread, sparse = naive_scale(history), interval_scale(history), is_intermittent(history)
        for h in range(1, horizon + 1):
            year = origin + h
            if year in actual_share[code] and year not in panel.lower_bound_years:
                rows.append((code, h, float(points[h - 1]), actual_share[code][year], scale, spread, sparse))
    return pf, rows


def _calibration_records(rows: Iterable[tuple[str, int, int, float, float, float, bool]]) -> list[ErrorRecord]:
    """(code, origin, h, point, actual, interval scale, intermittent) rows as scaled errors."""
    return [ErrorRecord("share", c, o, h, (a - f) / s, sparse) for c, o, h, f, a, s, sparse in rows if s > 0]


def _tiv_rows(panel: Panel, pf: PanelForecast, origin: int) -> list[TivRow]:
    """The served TIV forecasts from ``origin`` (suppliers' and the world total's) with their benchmarks:
    (code, h, point, actual, MASE scale, interval scale, benchmark points) per scorable year."""
    cut, out = panel.cut(origin), []
    for code in [*(c for c in pf.share if c != REST), WORLD]:
        history = cut.array(code, "tiv")[1]
        scale, spread, actual = naive_scale(history), interval_scale(history), panel.tiv(code)
        bench, sparse = _tiv_benchmarks(pf, code, history), code != WORLD and is_intermittent(history)
        for h in range(1, pf.horizon + 1):
            year = origin + h
            if year in actual and year not in panel.lower_bound_years:
                out.append((code, h, float(pf.tiv(code)[h - 1]), actual[year], scale, spread,
                            {m: float(v[h - 1]) for m, v in bench.items()}, sparse))
    return out


def _tiv_records(origin: int, rows: Iterable[TivRow]) -> list[ErrorRecord]:
    """Scaled errors of the served TIV forecasts (suppliers: ``tiv``; the world total: ``world``)."""
    return [ErrorRecord("world" if c == WORLD else "tiv", c, origin, h, (a - f) / spread, sparse)
            for c, h, f, a, _, spread, _, sparse in rows if spread > 0]


@dataclass(frozen=True)
class Evaluation:
    """Everything scored, plus the calibration the served model would use after the last origin."""

    horizon: int
    origins: tuple[int, ...]
    first_scored: int
    scored: tuple[Scored, ...]
    calibration: Calibration
    tiv: tuple[Scored, ...] = ()  # the same forecasts in TIV million: suppliers' (measure "tiv") and WLD's ("world")
    records: tuple[ErrorRecord, ...] = ()  # every past error the calibrations are made of (share, tiv, world)

    def table(self, horizons: Sequence[int] | None = None, codes: Sequence[str] | None = None,
              measure: str = "share", origins: tuple[int, int] | None = None) -> dict[str, Any]:
        """Metrics of every model over the chosen horizons, suppliers and (first, last) origins;
        ``measure="tiv"``: the TIV forecasts of the suppliers (``codes=["WLD"]``: of the world total), in TIV
        million."""
        pool = self.scored if measure == "share" else self.tiv
        wanted = codes if codes is not None else [c for c in {s.code for s in pool} if c != WORLD]
        first, last = origins if origins is not None else (self.first_scored, self.origins[-1])
        rows = [s for s in pool if (horizons is None or s.horizon in horizons) and s.code in wanted
                and first <= s.origin <= last]
        return metrics(rows)

    def by_horizon(self, measure: str = "share", codes: Sequence[str] | None = None) -> dict[int, dict[str, Any]]:
        return {h: self.table([h], codes, measure) for h in range(1, self.horizon + 1)}

    def by_country(self, horizons: Sequence[int] = (1, 2, 3, 4, 5), measure: str = "share"
                   ) -> dict[str, dict[str, Any]]:
        """Per supplier (and, for ``measure="tiv"``, the world total as ``WLD``)."""
        pool = self.scored if measure == "share" else self.tiv
        return {c: self.table(horizons, [c], measure) for c in sorted({s.code for s in pool})}


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
    errors: list[tuple[str, int, int, float, float, float, bool]] = []
    pending: list[tuple[int, PanelForecast, list[Row], list[TivRow]]] = []
    tiv_records: list[ErrorRecord] = []
    for origin in origins:
        pf, rows = served_records(panel, origin, horizon)
        tiv_rows = _tiv_rows(panel, pf, origin)
        errors += [(c, origin, h, f, a, spread, sparse) for c, h, f, a, _, spread, sparse in rows]
        if origin >= first_scored:
            pending.append((origin, pf, rows, tiv_rows))
        tiv_records += _tiv_records(origin, tiv_rows)
    scored: list[Scored] = []
    tiv_scored: list[Scored] = []
    records = _calibration_records(errors)
    by_measure_and_horizon: dict[tuple[str, int], list[ErrorRecord]] = {}
    for record in tiv_records:
        by_measure_and_horizon.setdefault((record.measure, record.horizon), []).append(record)
    for origin, pf, rows, tiv_rows in pending:
        calibration = calibrate(records, known_by=origin, measures=["share"])
        cut = panel.cut(origin)
        for code, h, point, actual, scale, spread, sparse in rows:
            values = cut.array(code, "share")[1]
            bench = _benchmarks(pf, code, values)
            points = {SERVED: point, **{m: float(v[h - 1]) for m, v in bench.items()}}
            intervals = {w: interval(point, spread, calibration, "share", h, w, sparse) for w in WIDTHS}
            scored.append(Scored(code, origin, h, actual, scale, points, intervals, "zero" in bench))
        tiv_scored += _scored_tiv(by_measure_and_horizon, origin, tiv_rows)
    final = calibrate(records + tiv_records, known_by=panel.last_year, measures=["share", "tiv", "world"],
                      optional=("tiv", "world"))
    return Evaluation(horizon, origins, first_scored, tuple(scored), final, tuple(tiv_scored),
                      tuple(records + tiv_records))


def _scored_tiv(records: dict[tuple[str, int], list[ErrorRecord]], origin: int, rows: Sequence[TivRow]
                ) -> list[Scored]:
    """The TIV forecasts from ``origin``, with intervals calibrated as served (measure ``tiv`` or ``world``)
    from the errors known at the origin; a horizon with too few known errors gets no interval (and is left out
    of the coverage, not of the point scores)."""
    calibrations: dict[tuple[str, int], Calibration | None] = {}

    def calibration_of(measure: str, h: int) -> Calibration | None:
        if (measure, h) not in calibrations:
            try:
                calibrations[(measure, h)] = calibrate(records.get((measure, h), []), known_by=origin,
                                                       measures=[measure])
            except InsufficientData:
                calibrations[(measure, h)] = None
        return calibrations[(measure, h)]

    world = {h: (point, spread) for code, h, point, _, _, spread, _, _ in rows if code == WORLD}
    out = []
    for code, h, point, actual, scale, spread, bench, sparse in rows:
        measure = "world" if code == WORLD else "tiv"
        calibration = calibration_of(measure, h)
        if calibration is None:
            intervals = {}
        elif code == WORLD:
            intervals = {w: interval(point, spread, calibration, measure, h, w) for w in WIDTHS}
        else:
            world_point, world_spread = world.get(h, (0.0, 0.0))
            intervals = {w: supplier_tiv_interval(point, spread, calibration, calibration_of("world", h), h, w,
                                                  sparse, world_point, world_spread) for w in WIDTHS}
        out.append(Scored(code, origin, h, actual, scale, {SERVED: point, **bench}, intervals, measure=measure))
    return out


def interval(point: float, scale: float, calibration: Calibration, measure: str, horizon: int,
             width: float, intermittent: bool = False) -> tuple[float, float]:
    """Calibrated bounds around ``point`` (see :mod:`forecasting.calibration`), within [0, 100] for shares;
    the lower bound is 0 for an intermittent history."""
    if measure == "world" and horizon > calibration.last_horizon(measure) and point > 0:
        return _world_beyond(point, scale, calibration, horizon, width)
    lo, hi = calibration.bounds(measure, horizon, width)
    upper = 100.0 if measure == "share" else math.inf
    return 0.0 if intermittent else max(point + lo * scale, 0.0), min(point + hi * scale, upper)


def _world_beyond(point: float, scale: float, calibration: Calibration, horizon: int, width: float
                  ) -> tuple[float, float]:
    """The world total's bounds beyond the last calibrated horizon: the last horizon's bounds, their log ratio to
    the point grown by ``sqrt(h / last)``. A total of every supplier's deliveries moves by proportions; grown
    additively, its lower bound neared zero (43 TIV million in 2054 against a record low since 1960 of 16,410)."""
    last = calibration.last_horizon("world")
    lower, upper = world_beyond(point, scale, calibration.bounds("world", last, width), horizon, last)
    return float(lower), float(upper)


def supplier_tiv_interval(point: float, scale: float, calibration: Calibration, world: Calibration | None,
                          horizon: int, width: float, intermittent: bool, world_point: float,
                          world_scale: float) -> tuple[float, float]:
    """A supplier's calibrated TIV bounds, the upper one no higher than the world total's upper bound of the
    same width (from ``world``'s quantiles, when it has them): a supplier never exports more than the world,
    so the world's upper bound is also one for the supplier, at least as likely to hold."""
    lo, hi = interval(point, scale, calibration, "tiv", horizon, width, intermittent)
    if world is not None and "world" in world.quantiles and world_scale > 0:
        hi = min(hi, interval(world_point, world_scale, world, "world", horizon, width)[1])
    return min(lo, hi), hi
