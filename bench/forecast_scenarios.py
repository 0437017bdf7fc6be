"""Benchmark: a five-scenario set with fit reuse against five independent fits.

Same run, same data (the bundled fixture copy of the curated SIPRI data in
``tests/forecasting/data``, with every shipped supplier so that the statistical
base is the coherent all-supplier one), same seed. A fit computes the
statistical base of every supplier and the driver coefficients; the set does
that once, the independent way five times. Each round times both ways, in
alternating order; the script prints the median single-fit time, the median
wall time of each way and their ratio (target >= 3x), and checks that both
ways give byte-identical forecasts.

    python bench/forecast_scenarios.py [--rounds 7] [--horizon 10]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from forecast_accuracy import load_panel  # bench/ is on sys.path when a bench script runs

from forecasting import ForecastInputs, Scenario, Target, get_scenario, parse_scenario
from forecasting.model import ModelSpec, clear_panel_cache, fit, forecast_scenarios, predict

DATA = Path(__file__).resolve().parent.parent / "tests" / "forecasting" / "data"
TARGET_RATIO = 3.0


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def japan_inputs() -> ForecastInputs:
    """Japan's inputs from the bundled CSVs (2024 world total = sum of listed suppliers, a lower bound)."""
    exports = _rows("sipri_arms_exports_tiv_1950_2023.csv")
    rows_2024 = _rows("sipri_arms_exports_tiv_2024.csv")
    target = {int(r["year"]): float(r["value"]) for r in exports if r["country_code"] == "JPN"}
    target |= {int(r["year"]): float(r["value"]) for r in rows_2024 if r["country_code"] == "JPN"}
    world = {int(r["year"]): float(r["value"]) for r in exports if r["country_code"] == "WLD"}
    world[2024] = sum(float(r["value"]) for r in rows_2024)
    milex = _rows("sipri_milex_constant_2023_usd.csv")
    return ForecastInputs(
        country="JPN", target_tiv=target, world_tiv=world,
        drivers={
            "japan_defence_spending": {int(r["year"]): float(r["value"]) for r in milex if r["country_code"] == "JPN"},
            "world_military_expenditure": {int(r["year"]): float(r["value"]) for r in _rows("sipri_milex_world.csv")},
        },
        policy_events=tuple((r["date"], r["regime_id"]) for r in _rows("japan_arms_export_policy_timeline.csv")),
        data_version="bench-fixtures", world_tiv_lower_bound_years=(2024,),
        panel_tiv={c: s for c, s in load_panel(DATA / "arms_exports_panel.csv").suppliers.items() if c != "JPN"},
        pipeline=tuple(_rows("japan_export_pipeline.csv")),
    )


def five_scenarios() -> list[Scenario]:
    what_if = parse_scenario({"name": "budget-plus-20", "changes": [
        {"driver": "japan_defence_spending", "op": "multiply", "value": 1.2, "from_year": 2026}]})
    return [*(get_scenario(n) for n in ("baseline", "liberalisation", "restriction", "demand-surge")), what_if]


def timed(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--horizon", type=int, default=10)
    args = parser.parse_args()
    inputs, scenarios, target = japan_inputs(), five_scenarios(), Target("JPN")
    predict(fit(inputs, ModelSpec(target)), "baseline", args.horizon)  # warm-up: imports, model load

    def reuse() -> dict[str, str]:
        clear_panel_cache()  # one statistical base for the whole set
        result = forecast_scenarios(inputs, scenarios, target, horizon=args.horizon)
        return {n: f.to_json() for n, f in result.forecasts.items()}

    single_fits: list[float] = []

    def independent() -> dict[str, str]:
        out = {}
        for scenario in scenarios:
            clear_panel_cache()  # an independent fit computes its statistical base too
            start = time.perf_counter()
            fitted = fit(inputs, ModelSpec(target, settings=scenario.settings))
            single_fits.append(time.perf_counter() - start)
            out[scenario.name] = predict(fitted, scenario, args.horizon).to_json()
        return out

    walls: dict[str, list[float]] = {"reuse": [], "independent": []}
    for i in range(args.rounds):
        order = [("reuse", reuse), ("independent", independent)]
        outputs = {}
        for name, action in order if i % 2 == 0 else order[::-1]:
            seconds, outputs[name] = timed(action)
            walls[name].append(seconds)
        assert outputs["reuse"] == outputs["independent"], "fit reuse changed a forecast"
    reuse_wall, independent_wall = statistics.median(walls["reuse"]), statistics.median(walls["independent"])
    ratio = independent_wall / reuse_wall
    print(f"data: Japan share, fit years {fit(inputs, ModelSpec(target)).design.history.fit_points[0].year}-2024, "
          f"{len(scenarios)} scenarios, horizon {args.horizon}, {args.rounds} rounds")
    print(f"median single fit:               {statistics.median(single_fits) * 1000:8.1f} ms")
    print(f"five scenarios, fit reuse:       {reuse_wall * 1000:8.1f} ms (median wall)")
    print(f"five scenarios, five fits:       {independent_wall * 1000:8.1f} ms (median wall)")
    print(f"ratio (independent / reuse):     {ratio:8.2f}x  (target >= {TARGET_RATIO:.0f}x: "
          f"{'met' if ratio >= TARGET_RATIO else 'NOT met'})")
    print("outputs identical both ways:     yes")


if __name__ == "__main__":
    main()
