"""World-demand elasticity: the served specification beside the alternatives, on the shipped data.

Reads the curated world totals the API ships (``api/data/arms-exports.csv`` WLD rows: world TIV, years whose
total is a lower bound left out; ``api/data/milex-constant-usd.csv`` WLD rows: world military expenditure) and
prints, for the served specification (:func:`forecasting.demand.estimate_elasticity`: 5-year log changes, a
distributed lag over years 0-2) and every alternative :func:`forecasting.demand.alternatives` computes, the
estimate, its standard error, n and the years; then the served estimate's uncertainty measured four ways (OLS,
Newey-West with 4 lags, a moving-block bootstrap with blocks of 5 changes, fixed seed, and the five subsamples of
non-overlapping 5-year changes: 26 overlapping changes hold only about 5 independent ones), how the served lag
structure builds up and the share of simulated paths in which faster spending would lower world transfers (draws
from ``N(b, se^2)``, the served standard error being the largest of the first three).

    .venv/bin/python bench/world_demand_elasticity.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forecast_accuracy import load_milex, load_panel, world_milex

from forecasting.demand import BOOTSTRAP_REPLICATES, BOOTSTRAP_SEED, estimate_elasticity

Z95 = 1.959963984540054  # the normal distribution's 97.5 % quantile


def main() -> None:
    panel = load_panel()
    milex = world_milex(load_milex())
    served = estimate_elasticity(panel.world, milex, panel.lower_bound_years)
    print("World-demand elasticity of world TIV to world military expenditure (shipped data: arms-exports WLD, "
          "milex-constant-usd WLD)")
    print("| specification | estimate | standard error | n | years | P(b < 0) |\n| --- | --- | --- | --- | --- | --- |")
    rows = [(f"served: 5-year changes, distributed lag 0-{served.lag_years} (equal weights)", served.value,
             served.standard_error, served.n, f"{served.first_year}-{served.last_year}")]
    rows += [(a.specification, a.value, a.standard_error, a.n, a.years) for a in served.alternatives]
    for name, value, se, n, years in rows:
        negative = 0.5 * math.erfc(value / se / math.sqrt(2)) if se > 0 else float(value < 0)
        print(f"| {name} | {value:.3f} | {se:.3f} | {n} | {years} | {negative:.1%} |")
    print(f"\nServed R² {served.r_squared:.3f}; standard errors: the largest of OLS, Newey-West "
          f"({served.difference_years - 1} lags) and a moving-block bootstrap (blocks of the difference length, "
          f"{BOOTSTRAP_REPLICATES:,} replicates, seed {BOOTSTRAP_SEED}).")
    u = served.uncertainty
    if u is not None:
        print(f"\nThe served estimate's uncertainty ({served.n} overlapping {served.difference_years}-year changes, "
              f"about {served.independent_changes:.0f} independent ones):")
        print("| measure | standard error | 95 % range | P(b < 0) |\n| --- | --- | --- | --- |")
        for name, se in (("OLS", u.ols), (f"Newey-West, {served.difference_years - 1} lags", u.newey_west),
                         (f"moving-block bootstrap, blocks of {served.difference_years}", u.bootstrap)):
            negative = 0.5 * math.erfc(served.value / se / math.sqrt(2)) if se > 0 else float(served.value < 0)
            print(f"| {name} | {se:.3f} | {served.value - Z95 * se:.2f} to {served.value + Z95 * se:.2f} | "
                  f"{negative:.1%} |")
        print(f"| bootstrap percentiles | | {u.bootstrap_interval[0]:.2f} to {u.bootstrap_interval[1]:.2f} | |")
        print(f"| served (the largest) | {served.standard_error:.3f} | "
              f"{served.value - Z95 * served.standard_error:.2f} to {served.value + Z95 * served.standard_error:.2f} "
              "| |")
        print(f"Non-overlapping subsamples (the years t with the same t mod {served.difference_years}, "
              f"{len(u.subsamples)} of them): " + ", ".join(f"{v:.2f}" for v in u.subsamples)
              + f" (mean {sum(u.subsamples) / len(u.subsamples):.2f}).")
    print("Build-up of a lasting change of world military expenditure in year t: "
          + ", ".join(f"t+{j}: {w:.0%}" for j, w in enumerate(served.weights())) + " of the long-run elasticity.")


if __name__ == "__main__":
    main()
