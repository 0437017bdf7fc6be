"""Is the served forecast's edge an artefact of which suppliers are scored?

The shipped panel (and so the evaluation behind the model card) holds the 25 largest
exporters of 2019-2023 plus Japan, South Korea and China: a set chosen knowing
how the story ended. Late risers (Turkey, South Korea, the UAE) are in it, and
suppliers that faded are not; naive benchmarks fail worst on risers, so such a
set may flatter a forecast that hedges between them.

This bench scores the served code path (:func:`forecasting.evaluation.served_records`,
the data cut at each origin, the coherent panel forecast) on two sets, from
SIPRI's full exports file (every state exporter and the world total, 1950-2023;
``../shared/reference-data`` by default, or ``--exports``), origins 1990-2022,
horizons 1-5, MASE against last value and the 5-year mean:

* **chosen at each origin** from what was known then: the 25 largest state
  exporters over the five years up to the origin (each scored if it has 15+
  years of history; the others, and every non-state or historical entity, are
  in the rest of the world);
* **the shipped set** (fixed, chosen in hindsight), from the same file, as a
  check that this file gives the model card's figures.

Nothing is tuned here. 2024 is not scored (it is not in the file).

    .venv/bin/python bench/forecast_selection.py      # about 5 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from forecasting.evaluation import served_records
from forecasting.panel import REST, Panel

ROOT = Path(__file__).resolve().parent.parent
EXPORTS = ROOT.parent / "shared" / "reference-data" / "arms_exports_tiv_sipri_1950_2023.csv"
SHIPPED = ROOT / "api" / "data" / "arms-exports.csv"
ORIGINS = range(1990, 2023)
HORIZON, TOP = 5, 25


def read_exports(path: Path) -> tuple[dict[str, dict[int, float]], dict[int, float]]:
    """State exporters' TIV by year and SIPRI's world total."""
    states: dict[str, dict[int, float]] = defaultdict(dict)
    world: dict[int, float] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            year, value = int(row["year"]), float(row["value"] or 0)
            if row["entity_type"] == "world_total":
                world[year] = value
            elif row["entity_type"] == "state":
                states[row["country_code"]][year] = value
    return dict(states), world


def top_at(states: dict[str, dict[int, float]], origin: int) -> list[str]:
    """The largest state exporters over the five years up to ``origin`` (ties by code)."""
    totals = {c: sum(v for y, v in s.items() if origin - 4 <= y <= origin) for c, s in states.items()}
    return sorted((c for c in totals if totals[c] > 0), key=lambda c: (-totals[c], c))[:TOP]


def score(states: dict[str, dict[int, float]], world: dict[int, float], choose: Callable[[int], list[str]]
          ) -> dict[str, float]:
    """Mean MASE (horizons 1-5) of the served forecast, last value and the 5-year mean over ``choose(origin)``."""
    errors: dict[str, list[float]] = {"served": [], "naive": [], "mean5": []}
    for origin in ORIGINS:
        codes = choose(origin)
        panel = Panel.from_tiv({c: states[c] for c in codes if c in states}, world)
        _, rows = served_records(panel, origin, HORIZON)
        cut = panel.cut(origin)
        for code, _h, point, actual, scale, _spread, _sparse in rows:
            if scale <= 0:
                continue
            history = cut.array(code, "share")[1]
            for name, value in (("served", point), ("naive", history[-1]), ("mean5", float(np.mean(history[-5:])))):
                errors[name].append(abs(actual - value) / scale)
        print(f"  origin {origin}: {len(rows)} scored forecasts", flush=True)
    out = {name: float(np.mean(v)) for name, v in errors.items()}
    out["n"] = float(len(errors["served"]))
    return out


def shipped_codes() -> list[str]:
    with SHIPPED.open(encoding="utf-8", newline="") as handle:
        return sorted({row["country_code"] for row in csv.DictReader(handle)} - {"WLD", REST})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exports", type=Path, default=EXPORTS, help="SIPRI's full exports file")
    args = parser.parse_args()
    if not args.exports.exists():
        raise SystemExit(f"{args.exports} not found: pass --exports with SIPRI's full exports file")
    states, world = read_exports(args.exports)
    fixed = shipped_codes()
    results = {}
    for label, choose in (("chosen at each origin (top 25 of the 5 years to it)", lambda o: top_at(states, o)),
                          ("the shipped set (top 25 of 2019-2023 + JPN, KOR, CHN)", lambda o: fixed)):
        print(label, flush=True)
        results[label] = score(states, world, choose)
    print("\nOrigins 1990-2022, horizons 1-5, MASE (ratio = served / better of last value and 5-year mean)")
    print("| suppliers scored | n | served | last value | 5-year mean | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, r in results.items():
        best = min(r["naive"], r["mean5"])
        print(f"| {label} | {int(r['n'])} | {r['served']:.3f} | {r['naive']:.3f} | {r['mean5']:.3f} | "
              f"{r['served'] / best:.3f} |")


if __name__ == "__main__":
    main()
