"""Per-supplier coverage of the served intervals, and alternative interval scales (evidence for the choice).

The served 80 % and 95 % intervals are split-conformal: per horizon, quantiles
of past errors of the served forecast, each divided by its series' interval
scale (``forecasting.coherent.interval_scale``: the mean absolute one-year
change of the last 15 years), pooled over suppliers. Pooled, they cover what
they claim at every horizon (``bench/forecast_accuracy.py``); per supplier
they do not have to. This prints, for origins 1990 on and horizons 1-5, the
pooled coverage range over horizons, the spread of per-supplier coverage (its
lowest and highest, how many suppliers lie within 0.70-0.90 for the 80 %
interval, the mean absolute miss) and the Winkler (interval) score, for the
served scale and for alternatives:

* other windows for the scale (8, 25 years; the larger of 15 and 5 or 8 years;
  the root mean square change);
* a per-supplier correction: the scale times the supplier's mean absolute
  scaled error over the past errors known at the origin, relative to the
  pooled one, shrunk towards 1 with a prior weight of ``n0`` errors;
* bounded intervals: the same conformal recipe on the logit scale,
  ``log((y + c) / (100 - y + c))`` with ``c`` = 0.05 pp (the members' log
  offset), errors scaled by the mean absolute one-year change of that
  transform over 15 years, back-transformed; such an interval can never reach
  0 or 100 %.

The last column counts implausible bounds: 95 % upper bounds more than twice
the supplier's highest share so far (and 5 points above it), per 1,000.

Every variant uses only errors known at each origin. Its points are those
served (``forecasting.evaluation.served_records``, the served code path on the
data cut at each origin); only the intervals differ. As served, every
variant's lower bound is 0 for an intermittent history. The variants are scored on
the same origins they are compared on, so a small gain here is not evidence
for changing what is served.

    .venv/bin/python bench/interval_alternatives.py     # about 2 minutes on 2 cores
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forecast_accuracy import FIRST_ORIGIN, FIRST_SCORED, load_panel

from forecasting.calibration import GRID
from forecasting.coherent import INTERVAL_SCALE_YEARS, PLAUSIBLE_YEARS, naive_scale
from forecasting.evaluation import served_records
from forecasting.members import is_intermittent

Array = npt.NDArray[np.float64]
Record = tuple[str, int, int, float, float]  # supplier, origin, horizon, point, actual
Scale = Callable[[Array], float]
HORIZONS = 5
WIDTHS = (0.8, 0.95)


def window(years: int) -> Scale:
    def scale(values: Array) -> float:
        recent = naive_scale(values[-(years + 1):])
        return recent if recent > 0 else naive_scale(values[-(max(years, PLAUSIBLE_YEARS) + 1):])

    return scale


def larger(a: int, b: int) -> Scale:
    return lambda values: max(window(a)(values), window(b)(values))


def rms(years: int) -> Scale:
    def scale(values: Array) -> float:
        changes = np.diff(values[-(years + 1):])
        value = float(np.sqrt(np.mean(changes**2))) if len(changes) else 0.0
        return value if value > 0 else window(years)(values)

    return scale


def collect() -> tuple[list[Record], dict[tuple[str, int], Array]]:
    panel = load_panel()
    scorable = [y for y in panel.years() if y not in panel.lower_bound_years]
    last = min(scorable[-1] - 1, panel.last_year - 1)
    records: list[Record] = []
    histories: dict[tuple[str, int], Array] = {}
    for origin in range(FIRST_ORIGIN, last + 1):
        cut = panel.cut(origin)
        for code, h, point, actual, _, _, _ in served_records(panel, origin, 10)[1]:
            records.append((code, origin, h, point, actual))
            histories.setdefault((code, origin), cut.array(code, "share")[1])
    return records, histories


OFFSET = 0.05  # percentage points, as the members' log scale (forecasting.members.LOG_OFFSET["share"])


def logit(y: Array | float) -> Array:
    return np.asarray(np.log((np.asarray(y) + OFFSET) / (100.0 - np.asarray(y) + OFFSET)), dtype=float)


def unlogit(z: float) -> float:
    e = float(np.exp(z))
    return float(np.clip((e * (100.0 + OFFSET) - OFFSET) / (1.0 + e), 0.0, 100.0))


def score(records: list[Record], histories: dict[tuple[str, int], Array], scale: Scale,
          n0: float | None = None, bounded: bool = False) -> dict[str, float]:
    if bounded:  # the same recipe on the logit scale: points, actuals and histories transformed
        records = [(c, o, h, float(logit(f)), float(logit(a))) for c, o, h, f, a in records]
        histories = {key: logit(values) for key, values in histories.items()}
    highest = {key: float(np.max(unlogit_all(v) if bounded else v)) for key, v in histories.items()}
    spread = {key: scale(values) for key, values in histories.items()}
    intermittent = {key: is_intermittent(unlogit_all(v) if bounded else v) for key, v in histories.items()}
    rows = [(c, o, h, f, a, spread[(c, o)]) for c, o, h, f, a in records if spread[(c, o)] > 0]
    implausible: list[bool] = []
    inside: dict[float, dict[str, list[bool]]] = {w: defaultdict(list) for w in WIDTHS}
    by_h: dict[float, dict[int, list[bool]]] = {w: defaultdict(list) for w in WIDTHS}
    winkler: dict[float, list[float]] = {w: [] for w in WIDTHS}
    for origin in sorted({o for _, o, *_ in rows if o >= FIRST_SCORED}):
        known = [r for r in rows if r[1] + r[2] <= origin]
        factor: dict[str, float] = {}
        if n0 is not None:
            pooled = float(np.mean([abs(a - f) / s for _, _, h, f, a, s in known if h <= HORIZONS]))
            own: dict[str, list[float]] = defaultdict(list)
            for c, _, h, f, a, s in known:
                if h <= HORIZONS:
                    own[c].append(abs(a - f) / s)
            factor = {c: (len(e) * float(np.mean(e)) / pooled + n0) / (len(e) + n0) for c, e in own.items()}
        errors: dict[int, list[float]] = defaultdict(list)
        for c, _, h, f, a, s in known:
            errors[h].append((a - f) / (s * factor.get(c, 1.0)))
        quantiles = {h: np.quantile(np.asarray(e), GRID) for h, e in errors.items()}
        for c, o, h, f, a, s in rows:
            if o != origin or h > HORIZONS:
                continue
            width_scale = s * factor.get(c, 1.0)
            a = unlogit(a) if bounded else a  # scored as a share
            for w in WIDTHS:
                lo = f + float(np.interp((1 - w) / 2, GRID, quantiles[h])) * width_scale
                hi = f + float(np.interp((1 + w) / 2, GRID, quantiles[h])) * width_scale
                if bounded:
                    lo, hi = unlogit(lo), unlogit(hi)
                lo, hi = (0.0 if intermittent[(c, o)] else max(lo, 0.0)), min(hi, 100.0)
                if w == 0.95:
                    top = highest[(c, o)]
                    implausible.append(hi > 2 * top and hi > top + 5)
                inside[w][c].append(lo <= a <= hi)
                by_h[w][h].append(lo <= a <= hi)
                winkler[w].append(hi - lo + 2 / (1 - w) * (max(lo - a, 0.0) + max(a - hi, 0.0)))
    out: dict[str, float] = {}
    for w in WIDTHS:
        key = f"{round(w * 100)}"
        per = [float(np.mean(v)) for v in inside[w].values()]
        pooled_h = [float(np.mean(by_h[w][h])) for h in range(1, HORIZONS + 1)]
        out |= {f"pooled_lo_{key}": min(pooled_h), f"pooled_hi_{key}": max(pooled_h), f"min_{key}": min(per),
                f"max_{key}": max(per), f"miss_{key}": float(np.mean([abs(v - w) for v in per])),
                f"winkler_{key}": float(np.mean(winkler[w]))}
    out["implausible"] = 1000 * float(np.mean(implausible))
    out["within"] = sum(0.7 <= float(np.mean(v)) <= 0.9 for v in inside[0.8].values())
    out["suppliers"] = len(inside[0.8])
    return out


def unlogit_all(z: Array) -> Array:
    return np.array([unlogit(float(v)) for v in z])


def main() -> None:
    records, histories = collect()
    variants: dict[str, tuple[Scale, float | None, bool]] = {
        f"served: mean abs change, last {INTERVAL_SCALE_YEARS} y": (window(INTERVAL_SCALE_YEARS), None, False),
        "last 8 y": (window(8), None, False),
        "last 25 y": (window(25), None, False),
        "larger of 15 y and 5 y": (larger(15, 5), None, False),
        "larger of 15 y and 8 y": (larger(15, 8), None, False),
        "root mean square change, 15 y": (rms(15), None, False),
        **{f"served x supplier factor, n0 = {n0}": (window(INTERVAL_SCALE_YEARS), float(n0), False)
           for n0 in (10, 30, 60)},
        f"bounded: logit scale, mean abs change of the logit, last {INTERVAL_SCALE_YEARS} y":
            (window(INTERVAL_SCALE_YEARS), None, True),
    }
    print(f"Served points, origins {FIRST_SCORED} on, horizons 1-{HORIZONS}; intervals calibrated from the errors "
          "known at each origin")
    print("| interval scale | 80 %: pooled by horizon | per supplier (lowest-highest) | within 0.70-0.90 | mean miss "
          "| 95 %: pooled | per supplier | mean miss | Winkler 80 / 95 | implausible per 1,000 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, (scale, n0, bounded) in variants.items():
        r = score(records, histories, scale, n0, bounded)
        print(f"| {name} | {r['pooled_lo_80']:.2f}-{r['pooled_hi_80']:.2f} | {r['min_80']:.2f}-{r['max_80']:.2f} "
              f"| {r['within']:.0f}/{r['suppliers']:.0f} | {r['miss_80']:.3f} | {r['pooled_lo_95']:.2f}-"
              f"{r['pooled_hi_95']:.2f} | {r['min_95']:.2f}-{r['max_95']:.2f} | {r['miss_95']:.3f} "
              f"| {r['winkler_80']:.2f} / {r['winkler_95']:.2f} | {r['implausible']:.1f} |")


if __name__ == "__main__":
    main()
