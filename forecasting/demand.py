"""World demand: how world arms transfers (TIV) move with world military expenditure.

The elasticity is estimated by least squares on first differences of logs,
``dlog(world TIV)_t = a + b * dlog(world military expenditure)_t``, over every
year with both series and the year before (SIPRI publishes a world
military-expenditure total from 1988, without 1991, so about 1989-2023; years
whose world TIV is a lower bound are left out). Differences, not levels: both
series trend, and a regression of one trend on another finds an elasticity
whatever the truth. Annual TIV is lumpy, so the estimate is imprecise; it is
served with its standard error, and the scenario simulation draws the
elasticity from ``N(b, se^2)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from forecasting.errors import InsufficientData

__all__ = ["Elasticity", "estimate_elasticity"]


@dataclass(frozen=True)
class Elasticity:
    """An estimated elasticity with its uncertainty and the years it came from."""

    value: float
    standard_error: float
    n: int
    first_year: int
    last_year: int
    r_squared: float

    @classmethod
    def unavailable(cls) -> Elasticity:
        """No estimate (the data hold no world military expenditure): world demand then moves nothing."""
        return cls(0.0, 0.0, 0, 0, 0, 0.0)

    @property
    def estimated(self) -> bool:
        return self.n > 0

    def to_dict(self) -> dict[str, Any]:
        if not self.estimated:
            return {"value": 0.0, "standard_error": 0.0, "n": 0, "years": "none", "r_squared": 0.0,
                    "method": "not estimated: the data hold no world military expenditure, so world demand "
                    "moves nothing (a custom scenario may state an elasticity)",
                    "estimated_or_asserted": "asserted: 0, for want of data"}
        return {"value": self.value, "standard_error": self.standard_error, "n": self.n,
                "years": f"{self.first_year}-{self.last_year}", "r_squared": self.r_squared,
                "method": "OLS of dlog(world TIV) on dlog(world military expenditure), with intercept",
                "estimated_or_asserted": "estimated"}


def estimate_elasticity(world_tiv: Mapping[int, float], world_milex: Mapping[int, float],
                        lower_bound_years: Sequence[int] = ()) -> Elasticity:
    """Elasticity of world TIV to world military expenditure (module docstring)."""
    years = [y for y in sorted(world_milex) if y - 1 in world_milex and y in world_tiv and y - 1 in world_tiv
             and y not in lower_bound_years and world_tiv[y] > 0 and world_tiv[y - 1] > 0]
    if len(years) < 10:
        raise InsufficientData(f"only {len(years)} years with world TIV and military expenditure (need 10)",
                               field="inputs.drivers.world_military_expenditure")
    x = np.array([math.log(world_milex[y] / world_milex[y - 1]) for y in years])
    y = np.array([math.log(world_tiv[t] / world_tiv[t - 1]) for t in years])
    design = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    sigma2 = float(resid @ resid) / (len(years) - 2)
    cov = sigma2 * np.linalg.inv(design.T @ design)
    total = float(((y - y.mean()) ** 2).sum())
    return Elasticity(float(coef[1]), float(math.sqrt(cov[1, 1])), len(years), years[0], years[-1],
                      1.0 - float(resid @ resid) / total if total > 0 else 0.0)
