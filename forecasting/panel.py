"""The supplier panel: every listed supplier's exports and the world total, as shares that add up.

A coherent forecast needs every supplier at once: the shares of the listed
suppliers plus the rest of the world (``ROW`` = world total minus the listed
suppliers) add up to 100 % in every observed year, and the forecast keeps
that (:mod:`forecasting.coherent`).

Series rules (SIPRI conventions, see :mod:`forecasting.series`):

* a supplier's history starts at its first reported year (a row, even a
  ``0``): Russia, Ukraine and Belarus start in 1992, not as 40 years of zeros;
* after that, a year without a row is 0 (no deliveries identified);
* a year whose world total is a lower bound (2024: the sum of the listed
  suppliers) is kept as the last observation, but is never scored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from forecasting.errors import InsufficientData, InvalidInputs

__all__ = ["MIN_YEARS", "REST", "WORLD", "Panel"]

Array = npt.NDArray[np.float64]
REST, WORLD = "ROW", "WLD"
MIN_YEARS = 15  # years of history a supplier needs before it is forecast or scored


@dataclass(frozen=True)
class Panel:
    """Listed suppliers' TIV and the world total by year (TIV million)."""

    suppliers: dict[str, dict[int, float]]
    world: dict[int, float]
    lower_bound_years: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not self.world:
            raise InsufficientData("the panel needs world totals", field="inputs.panel.world")
        last = max(self.world)
        for code, series in self.suppliers.items():
            if code in (REST, WORLD):
                raise InvalidInputs(f"{code!r} is reserved in the panel", field=f"inputs.panel.{code}")
            for year, value in series.items():
                if year in self.world and value > self.world[year] + 1e-9:
                    raise InvalidInputs(
                        f"{code} exports {value} exceed the world total {self.world[year]} in {year}",
                        field=f"inputs.panel.{code}[{year}]",
                    )
        object.__setattr__(self, "suppliers", {c: {y: float(v) for y, v in sorted(s.items()) if y <= last}
                                               for c, s in sorted(self.suppliers.items())})
        object.__setattr__(self, "world", {int(y): float(v) for y, v in sorted(self.world.items())})

    @property
    def last_year(self) -> int:
        return max(self.world)

    def years(self) -> list[int]:
        return list(range(min(self.world), self.last_year + 1))

    def first_year(self, code: str) -> int:
        if code in (REST, WORLD):
            return min(self.world)
        series = self.suppliers.get(code)
        if not series:
            raise InsufficientData(f"{code} has no reported exports in the panel", field="target.country")
        return min(series)

    def tiv(self, code: str) -> dict[int, float]:
        """TIV by year from the first reported year (absent years 0); ``ROW`` is the residual."""
        years = [y for y in self.years() if y >= self.first_year(code)]
        if code == WORLD:
            return {y: self.world[y] for y in self.world}
        if code == REST:
            listed = {y: sum(s.get(y, 0.0) for s in self.suppliers.values()) for y in years}
            return {y: max(self.world[y] - listed[y], 0.0) for y in years if y in self.world}
        return {y: self.suppliers[code].get(y, 0.0) for y in years if y in self.world}

    def share(self, code: str) -> dict[int, float]:
        """Percent of the world total by year (see :meth:`tiv`)."""
        return {y: 100.0 * v / self.world[y] for y, v in self.tiv(code).items()}

    def codes(self) -> list[str]:
        """Listed suppliers with enough history, then ``ROW``."""
        return [c for c in self.suppliers if len(self.tiv(c)) >= MIN_YEARS] + [REST]

    def cut(self, origin: int) -> Panel:
        """The panel as known at the end of ``origin``."""
        return Panel({c: {y: v for y, v in s.items() if y <= origin} for c, s in self.suppliers.items()
                      if any(y <= origin for y in s)},
                     {y: v for y, v in self.world.items() if y <= origin},
                     tuple(y for y in self.lower_bound_years if y <= origin))

    def since(self, start: int) -> Panel:
        """The panel from ``start`` on (a history window's start): a supplier that reported before ``start``
        keeps its zero years from ``start`` on, as :meth:`tiv` reads them; one that first reports later starts
        then."""
        suppliers = {}
        for code, series in self.suppliers.items():
            if not series:
                continue
            if min(series) < start:
                suppliers[code] = {y: series.get(y, 0.0) for y in range(start, self.last_year + 1)}
            else:
                suppliers[code] = dict(series)
        return Panel(suppliers, {y: v for y, v in self.world.items() if y >= start},
                     tuple(y for y in self.lower_bound_years if y >= start))

    def digest(self) -> str:
        """SHA-256 of the canonical content (a cache key for the coherent forecast)."""
        body = {"s": {c: {str(y): v for y, v in s.items()} for c, s in self.suppliers.items()},
                "w": {str(y): v for y, v in self.world.items()}, "lb": list(self.lower_bound_years)}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_tiv(cls, suppliers: Mapping[str, Mapping[int, float]], world: Mapping[int, float],
                 lower_bound_years: tuple[int, ...] = ()) -> Panel:
        return cls({c: dict(s) for c, s in suppliers.items()}, dict(world), tuple(lower_bound_years))

    def array(self, code: str, measure: str) -> tuple[list[int], Array]:
        """Years and values of ``code`` as an array (``share`` in percent or ``tiv``)."""
        series = self.share(code) if measure == "share" else self.tiv(code)
        return list(series), np.array(list(series.values()), dtype=float)
