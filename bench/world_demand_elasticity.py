"""World-demand elasticity: the served specification beside the alternatives, on the shipped data.

Reads the curated world totals the API ships (``api/data/arms-exports.csv`` WLD rows: world TIV, years whose
total is a lower bound left out; ``api/data/milex-constant-usd.csv`` WLD rows: world military expenditure) and
prints, for the served specification (:func:`forecasting.demand.estimate_elasticity`: 5-year log changes, a
distributed lag over years 0-2) and every alternative :func:`forecasting.demand.alternatives` computes, the
estimate, its standard error, n and the years; then how the served lag structure builds up and the share of
simulated paths in which faster spending would lower world transfers (draws from ``N(b, se^2)``).

    .venv/bin/python bench/world_demand_elasticity.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from forecast_accuracy import load_milex, load_panel, world_milex

from forecasting.demand import estimate_elasticity


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
    print(f"\nServed R² {served.r_squared:.3f}; standard errors: the larger of OLS and Newey-West "
          f"({served.difference_years - 1} lags) for overlapping differences.")
    print("Build-up of a lasting change of world military expenditure in year t: "
          + ", ".join(f"t+{j}: {w:.0%}" for j, w in enumerate(served.weights())) + " of the long-run elasticity.")


if __name__ == "__main__":
    main()
