"""Is the served forecast's edge an artefact of which suppliers are scored, and do its intervals hold beyond them?

The shipped panel (and so the evaluation behind the model card) holds the 25 largest
exporters of 2019-2023 plus Japan, South Korea and China: a set chosen knowing
how the story ended. Late risers (Turkey, South Korea, the UAE) are in it, and
suppliers that faded are not; naive benchmarks fail worst on risers, so such a
set may flatter a forecast that hedges between them. Its calibration, too, is
made of those suppliers' errors only.

This bench scores the served code path (:func:`forecasting.evaluation.served_records`,
the data cut at each origin, the coherent panel forecast) from SIPRI's full
exports file (every state exporter and the world total, 1950-2023;
``../shared/reference-data`` by default, or ``--exports``), origins 1990-2022,
horizons 1-5, on suppliers **chosen at each origin** from what was known then,
by rank among state exporters by TIV over the five years up to the origin
(ties by code; each scored if it has 15+ years of history, as served; the
others, and every non-state or historical entity, are in the rest of the
world), and on **the shipped set** (fixed, chosen in hindsight), which checks
that this file gives the model card's figures (MASE and coverage):

* ranks 1-25 in a panel of those 25 (as before: a release holding only them);
* ranks 1-25, 26-50 and 51-100 scored within one panel of ranks 1-100. That
  is what the service would do with a release holding those suppliers: it
  forecasts every supplier listed in the served dataset in one coherent panel
  (``ForecastInputs.panel``: ``panel_tiv`` plus the target;
  :func:`forecasting.coherent.forecast_panel`), and no release would hold
  ranks 26-50 without the 25 above them, so a panel of 26-50 with ranks 1-25
  in the rest of the world is not anything served (and one panel run scores
  all three bands). Only 51-68 state exporters delivered anything in the five
  years up to an origin, so "51-100" is every active exporter below the 50th.

Printed for each: MASE (horizons 1-5) of the served forecast, last value and
the 5-year mean, their ratio (served over the better benchmark), and the
empirical coverage of the served 80 % and 95 % intervals, overall, by horizon
and split by whether the history is intermittent (the rows' flag, which gives
a lower bound of 0). The intervals are built as the service builds an as-of
forecast from each origin (``history_window.end`` = origin): the shipped
card's calibration as ``forecasting.model.fit`` chooses it
(``_calibration_for``: the shipped past errors known by the origin) and
:func:`forecasting.evaluation.interval`, which ``forecasting.model.base_interval``
calls, on each row's interval scale and intermittent flag. At the first origin
run, the points and bounds of every scored supplier of the 1-100 panel are
checked against ``fit`` and ``base_interval`` themselves. MASE counts forecasts
whose scale is positive (all of them here); coverage counts every forecast.

Nothing is tuned here. 2024 is not scored (it is not in the file).

    .venv/bin/python bench/forecast_selection.py           # about 2.5 minutes on 2 cores (measured 2m23s)
    .venv/bin/python bench/forecast_selection.py --quick   # every 4th origin (measured 42 s)
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from forecasting import ForecastInputs
from forecasting.evaluation import interval, served_records
from forecasting.model import ModelSpec, _calibration_for, base_interval, fit
from forecasting.model_card import load_card
from forecasting.panel import REST, Panel
from forecasting.series import HistoryWindow, Target

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = ROOT.parent / "shared" / "reference-data" / "arms_exports_tiv_sipri_1950_2023.csv"
SHIPPED = ROOT / "api" / "data" / "arms-exports.csv"
ORIGINS = range(1990, 2023)
HORIZON = 5
WIDTHS = (0.8, 0.95)
BENCHMARKS = ("naive", "mean5")

States = dict[str, dict[int, float]]
Bands = dict[str, tuple[int, int]]  # label -> ranks (first, last), 1-based, within the listed suppliers


@dataclass(frozen=True)
class Scored:
    """One served forecast: its horizon, flag, scaled errors (served and benchmarks) and interval hits."""

    horizon: int
    intermittent: bool
    mase: dict[str, float] | None  # None when the MASE scale is 0
    covered: dict[float, bool]
    rules: dict[str, dict[float, tuple[bool, float]]]  # interval rule -> width -> (held, Winkler score)


def read_exports(path: Path) -> tuple[States, dict[int, float]]:
    """State exporters' TIV by year and SIPRI's world total."""
    states: States = defaultdict(dict)
    world: dict[int, float] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            year, value = int(row["year"]), float(row["value"] or 0)
            if row["entity_type"] == "world_total":
                world[year] = value
            elif row["entity_type"] == "state":
                states[row["country_code"]][year] = value
    return dict(states), world


def ranked(states: States, origin: int, top: int) -> list[str]:
    """The ``top`` largest state exporters over the five years up to ``origin`` (ties by code)."""
    totals = {c: sum(v for y, v in s.items() if origin - 4 <= y <= origin) for c, s in states.items()}
    return sorted((c for c in totals if totals[c] > 0), key=lambda c: (-totals[c], c))[:top]


def score(states: States, world: dict[int, float], listed: Callable[[int], list[str]], bands: Bands,
          origins: Sequence[int], check: bool = False) -> dict[str, list[Scored]]:
    """Every served forecast from ``origins`` of a panel of ``listed(origin)``, by band of rank in that list."""
    card = load_card()
    out: dict[str, list[Scored]] = {label: [] for label in bands}
    for origin in origins:
        codes = listed(origin)
        panel = Panel.from_tiv({c: states[c] for c in codes}, world)
        _, rows = served_records(panel, origin, HORIZON)
        cut, rank = panel.cut(origin), {c: i + 1 for i, c in enumerate(codes)}
        served: dict[str, dict[float, list[tuple[float, float, float]]]] = defaultdict(lambda: defaultdict(list))
        for code, h, point, actual, scale, spread, sparse in rows:
            spec = ModelSpec(Target(code), HistoryWindow(end=origin))
            calibration, _ = _calibration_for(card, spec, ("share",))
            bounds = {w: interval(point, spread, calibration, "share", h, w, sparse) for w in WIDTHS}
            history = cut.array(code, "share")[1]
            mase = {"served": abs(actual - point) / scale, "naive": abs(actual - history[-1]) / scale,
                    "mean5": abs(actual - float(np.mean(history[-5:]))) / scale} if scale > 0 else None
            upper = {w: min(point + calibration.bounds("share", h, 2 * w - 1)[1] * spread, 100.0) for w in WIDTHS}
            lower = {w: interval(point, spread, calibration, "share", h, w, False)[0] for w in WIDTHS}
            rules = {"served": bounds, "quantile lower": {w: (lower[w], bounds[w][1]) for w in WIDTHS},
                     "one-sided": {w: (0.0, upper[w]) for w in WIDTHS}}
            scored = Scored(h, sparse, mase, {w: lo <= actual <= hi for w, (lo, hi) in bounds.items()},
                            {r: {w: (b[w][0] <= actual <= b[w][1], winkler(actual, *b[w], w)) for w in WIDTHS}
                             for r, b in rules.items()})
            for label, (first, last) in bands.items():
                if first <= rank[code] <= last:
                    out[label].append(scored)
            for w, (lo, hi) in bounds.items():
                served[code][w].append((point, lo, hi))
        if check:
            check_served(states, world, codes, origin, served)
            check = False
        print(f"  origin {origin}: {len(rows)} scored forecasts", flush=True)
    return out


def winkler(actual: float, lo: float, hi: float, width: float) -> float:
    """The interval (Winkler) score: the width, plus 2 / alpha times the miss (alpha = 1 - width)."""
    return hi - lo + 2.0 / (1.0 - width) * (max(lo - actual, 0.0) + max(actual - hi, 0.0))


def check_served(states: States, world: dict[int, float], codes: list[str], origin: int,
                 served: dict[str, dict[float, list[tuple[float, float, float]]]]) -> None:
    """The bench's points and bounds are those of ``fit`` and ``base_interval`` on a release listing ``codes``,
    as of ``origin``."""
    panel_tiv = {c: states[c] for c in codes}
    for code, by_width in served.items():
        inputs = ForecastInputs(code, states[code], world, {}, (), "bench", panel_tiv=panel_tiv)
        fitted = fit(inputs, ModelSpec(Target(code), HistoryWindow(end=origin)))
        for w, mine in by_width.items():
            theirs = list(zip(*(v.tolist() for v in base_interval(fitted, HORIZON, w)), strict=True))
            if theirs[: len(mine)] != mine:
                raise SystemExit(f"{code} as of {origin}: the bench's {w:.0%} interval differs from the service's")
    print(f"  origin {origin}: points and bounds of {len(served)} suppliers are fit's and base_interval's",
          flush=True)


def shipped_codes() -> list[str]:
    with SHIPPED.open(encoding="utf-8", newline="") as handle:
        return sorted({row["country_code"] for row in csv.DictReader(handle)} - {"WLD", REST})


def _cells(rows: Sequence[Scored]) -> str:
    """n, MASE of each model, ratio and the coverage of both widths, as table cells."""
    if not rows:
        return "0 | | | | | | "
    scaled = [r.mase for r in rows if r.mase]
    mase = {m: float(np.mean([e[m] for e in scaled])) for m in ("served", *BENCHMARKS)}
    ratio = mase["served"] / min(mase[m] for m in BENCHMARKS)
    covered = " | ".join(f"{np.mean([r.covered[w] for r in rows]):.3f}" for w in WIDTHS)
    n = f"{len(rows)}" if len(scaled) == len(rows) else f"{len(rows)} ({len(scaled)} in the MASE)"
    return f"{n} | {mase['served']:.3f} | {mase['naive']:.3f} | {mase['mean5']:.3f} | {ratio:.3f} | {covered}"


def report(results: dict[str, list[Scored]], origins: Sequence[int]) -> None:
    head = "| suppliers scored | n | served | last value | 5-year mean | ratio | 80 % covered | 95 % covered |"
    rule = "| --- " * 8 + "|"
    print(f"\nOrigins {origins[0]}-{origins[-1]} ({len(origins)}), horizons 1-5: MASE (ratio = served / better of "
          "last value and 5-year mean) and the served intervals' coverage")
    print(head, rule, sep="\n")
    for label, rows in results.items():
        print(f"| {label} | {_cells(rows)} |")
    print("\nCoverage by horizon (80 % / 95 %)")
    print("| suppliers scored | " + " | ".join(f"h{h}" for h in range(1, HORIZON + 1)) + " |")
    print("| --- " * (HORIZON + 1) + "|")
    for label, rows in results.items():
        cells = []
        for h in range(1, HORIZON + 1):
            at = [r for r in rows if r.horizon == h]
            cells.append(" / ".join(f"{np.mean([r.covered[w] for r in at]):.3f}" for w in WIDTHS) if at else "")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print("\nIntermittent histories (lower bound 0) and the others")
    print(head.replace("| n |", "| history | n |"), rule + " --- |", sep="\n")
    for label, rows in results.items():
        for name, flag in (("intermittent", True), ("not intermittent", False)):
            print(f"| {label} | {name} | {_cells([r for r in rows if r.intermittent == flag])} |")
    print("\nAn intermittent history's interval of width w as served, [0, the (1 + w) / 2 quantile], and two that are")
    print("not served: with the quantile's lower bound (the rule before model version 2026.12.5) and one-sided,")
    print("[0, the w quantile]. Coverage, and the Winkler score (pp; lower is better)")
    rules = ("served", "quantile lower", "one-sided")
    print("| suppliers scored | intermittent n | " + " | ".join(f"{w:.0%} {r}" for w in WIDTHS for r in rules) + " | "
          + " | ".join(f"Winkler {w:.0%} {r}" for w in WIDTHS for r in rules) + " |")
    print("| --- " * (2 + 4 * len(rules)) + "|")
    for label, rows in results.items():
        sparse = [r for r in rows if r.intermittent]
        if sparse:
            held = [f"{np.mean([r.rules[k][w][0] for r in sparse]):.3f}" for w in WIDTHS for k in rules]
            scores = [f"{np.mean([r.rules[k][w][1] for r in sparse]):.3f}" for w in WIDTHS for k in rules]
            print(f"| {label} | {len(sparse)} | " + " | ".join(held + scores) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=Path, default=EXPORTS, help="SIPRI's full exports file")
    parser.add_argument("--quick", action="store_true", help="every 4th origin (1990, 1994, ..., 2022)")
    args = parser.parse_args()
    if not args.exports.exists():
        raise SystemExit(f"{args.exports} not found: pass --exports with SIPRI's full exports file")
    states, world = read_exports(args.exports)
    origins = list(ORIGINS)[:: 4 if args.quick else 1]
    fixed = shipped_codes()
    runs: list[tuple[str, Callable[[int], list[str]], Bands, bool]] = [
        ("panel of ranks 1-25 at each origin", lambda o: ranked(states, o, 25), {"ranks 1-25 (panel 1-25)": (1, 25)},
         False),
        ("panel of ranks 1-100 at each origin", lambda o: ranked(states, o, 100),
         {"ranks 1-25 (panel 1-100)": (1, 25), "ranks 26-50 (panel 1-100)": (26, 50),
          "ranks 51-100 (panel 1-100)": (51, 100)}, True),
        ("the shipped set", lambda o: fixed, {"the shipped set (top 25 of 2019-2023 + JPN, KOR, CHN)": (1, len(fixed))},
         False),
    ]
    results: dict[str, list[Scored]] = {}
    for label, listed, bands, check in runs:
        print(label, flush=True)
        results |= score(states, world, listed, bands, origins, check)
    report(results, origins)


if __name__ == "__main__":
    main()
