"""Do the drivers earn a place? The perfect-foresight test of every driver, on rolling origins.

Every driver the model knows is tried on every target it applies to:
``own_military_expenditure`` on each shipped supplier's share (its own SIPRI
spending), ``japan_defence_spending`` and ``export_policy_openness`` on
Japan's share, ``world_military_expenditure`` on the world total (TIV, through
the world-demand elasticity). At every origin the data are cut at the end of
that year (exports, world total, the driver; Japan's deal pipeline is left
out, so that only the driver differs) and
:func:`forecasting.driver_check.foresight_points` makes, through the served
code path, the baseline and a scenario with the driver's actual path after the
origin. Both are scored (MASE, horizons 1-5, as ``bench/forecast_accuracy.py``
scores) on the same years; "improved" means a MASE at least 1 % lower with
perfect foresight. Origins 1990-2022; the world total's from 2000 (SIPRI's
world military expenditure starts in 1988 and the elasticity needs ten years
of changes), a supplier's from its tenth year with spending data (a fit needs
ten); years whose world total is a lower bound (2024) are not scored.

    .venv/bin/python bench/forecast_drivers.py            # print (about 1.5 minutes on 2 cores)
    .venv/bin/python bench/forecast_drivers.py --write    # also write forecasting/driver_evaluation.json

``--write`` stores the verdicts that every forecast quotes (``model.drivers``,
``model.world_demand``); run it with ``bench/forecast_accuracy.py --write``.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
import tempfile
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forecast_accuracy import ROOT, load_milex, load_panel, world_milex

from forecasting import ForecastInputs, Target
from forecasting.coherent import naive_scale
from forecasting.driver_check import Trial, foresight_points, summarise
from forecasting.drivers import JAPAN_SPENDING, OWN_MILEX, POLICY, WORLD_MILEX, openness_by_year
from forecasting.keys import MODEL_VERSION
from forecasting.panel import REST, WORLD, Panel
from forecasting.series import MIN_FIT_YEARS

OUT = ROOT / "forecasting" / "driver_evaluation.json"
HORIZON = 5
FIRST_ORIGIN, FIRST_WORLD_ORIGIN = 1990, 2000
METHOD = ("At each origin the data, the driver's included, are cut at the origin; the served model forecasts the "
          "baseline and a scenario with the driver's actual values after the origin (perfect foresight); both "
          "are scored by MASE over horizons 1-5. improved_held_out: perfect foresight's MASE at least 1 % lower.")


def load_policy_events(path: Path = ROOT / "api" / "data" / "policy-events.csv") -> tuple[tuple[str, str], ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        return tuple((r["date"], r["regime"] or "") for r in csv.DictReader(handle))


def _cut(series: Mapping[int, float], origin: int) -> dict[int, float]:
    return {y: v for y, v in series.items() if y <= origin}


@functools.cache
def _data() -> tuple[Panel, dict[int, float], dict[str, dict[int, float]], tuple[tuple[str, str], ...]]:
    """The curated files, read once per process: the panel, world and each country's military expenditure (USD
    billion and million, as the API passes them), the timeline."""
    milex = load_milex()
    return load_panel(), world_milex(milex), milex, load_policy_events()


def _trial(panel: Panel, cut: Panel, inputs: ForecastInputs, target: Target, driver: str,
           future: Mapping[int, float]) -> list[Trial]:
    """Baseline and perfect-foresight points from the origin ``cut`` ends in
    (:func:`forecasting.driver_check.foresight_points`), scored against the outcomes in ``panel``."""
    base, ahead = foresight_points(inputs, target, driver, future, HORIZON)
    code, origin = target.country, cut.last_year
    history = cut.array(code, "tiv" if code == WORLD else "share")[1]
    actual = panel.world if code == WORLD else panel.share(code)
    scale = naive_scale(history)
    return [Trial(driver, code, origin, h, abs(base[h - 1] - actual[origin + h]) / scale,
                  abs(ahead[h - 1] - actual[origin + h]) / scale)
            for h in range(1, HORIZON + 1)
            if origin + h in actual and origin + h not in panel.lower_bound_years and scale > 0]


def trials_at(origin: int) -> list[Trial]:
    """Every driver on every target it applies to, from one origin."""
    panel, world_spending, own, timeline = _data()
    cut = panel.cut(origin)
    tiv = {c: cut.tiv(c) for c in cut.suppliers}

    def inputs(code: str, drivers: dict[str, dict[int, float]], events: tuple[tuple[str, str], ...] = ()
               ) -> ForecastInputs:
        return ForecastInputs(country=code, target_tiv=dict(cut.world) if code == WORLD else tiv[code],
                              world_tiv=dict(cut.world), drivers=drivers, policy_events=events,
                              data_version=f"driver-bench-{origin}",
                              world_tiv_lower_bound_years=cut.lower_bound_years, panel_tiv=tiv)

    future_years = range(origin + 1, origin + HORIZON + 1)
    last_scored = max(y for y in panel.years() if y not in panel.lower_bound_years)
    scored = {y for y in future_years if y <= last_scored}
    out: list[Trial] = []
    for code in sorted(c for c in cut.codes() if c != REST):  # the suppliers the served base forecasts
        driver = JAPAN_SPENDING if code == "JPN" else OWN_MILEX
        spending = own.get(code, {})
        future = {y: spending[y] for y in future_years if y in spending}
        if origin not in spending or len(_cut(spending, origin)) < MIN_FIT_YEARS or not scored <= set(future):
            continue  # a fit needs 10 years with the driver (MIN_FIT_YEARS); foresight, every scored year's value
        out += _trial(panel, cut, inputs(code, {driver: _cut(spending, origin)}), Target(code), driver, future)
    if "JPN" in tiv:
        known = tuple(e for e in timeline if int(e[0][:4]) <= origin)
        path = openness_by_year(timeline, future_years)
        out += _trial(panel, cut, inputs("JPN", {}, known), Target("JPN"), POLICY, path)
    if origin >= FIRST_WORLD_ORIGIN:
        future = {y: world_spending[y] for y in future_years if y in world_spending}
        assert scored <= set(future), f"world military expenditure is missing in {sorted(scored - set(future))}"
        out += _trial(panel, cut, inputs(WORLD, {WORLD_MILEX: _cut(world_spending, origin)}), Target(WORLD, "tiv"),
                      WORLD_MILEX, future)
    return out


def _temporary_files_in(path: str) -> None:
    tempfile.tempdir = path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {OUT.relative_to(ROOT)}")
    args = parser.parse_args()
    panel = load_panel()
    last = max(y for y in panel.years() if y not in panel.lower_bound_years) - 1
    # A pool's workers end without running atexit, so cmdstanpy's per-process temporary directory would stay
    # behind: the workers put every temporary file under one directory that this process removes.
    with tempfile.TemporaryDirectory(prefix="tivcast-bench-drivers-") as scratch, \
            ProcessPoolExecutor(max_workers=2, initializer=_temporary_files_in, initargs=(scratch,)) as pool:
        rows = [r for part in pool.map(trials_at, range(FIRST_ORIGIN, last + 1)) for r in part]
    table = summarise(rows)
    print(f"Perfect-foresight driver test: origins {FIRST_ORIGIN}-{last} (world total from {FIRST_WORLD_ORIGIN}), "
          f"horizons 1-{HORIZON}, MASE; 'foresight' = a scenario with the driver's actual path after the origin")
    print("| driver | targets | forecasts | baseline MASE | foresight MASE | ratio | targets better / worse |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for driver, t in table.items():
        print(f"| {driver} | {len(t['targets'])} | {t['forecasts']} | {t['mase_baseline']:.3f} | "
              f"{t['mase_perfect_foresight']:.3f} | {t['ratio']:.3f} | {t['targets_improved']} / "
              f"{t['targets_worse']} |")
    for driver, t in table.items():
        verdict = "improves" if t["improved_held_out"] else "does not improve"
        print(f"{driver}: perfect foresight {verdict} the held-out score ({t['mase_perfect_foresight']:.3f} "
              f"against {t['mase_baseline']:.3f})")
    if args.write:
        OUT.write_text(json.dumps({"bench": "bench/forecast_drivers.py", "method": METHOD,
                                   "model_version": MODEL_VERSION, "data_digest": panel.digest(),
                                   "drivers": table}, indent=1, sort_keys=True) + "\n",
                       encoding="utf-8")
        print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
