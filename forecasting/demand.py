"""World demand: how world arms transfers (TIV) move with world military expenditure.

Deliveries lag orders and orders lag budgets, and a year's TIV is lumpy (one
frigate moves it), so a same-year regression of yearly changes finds almost
nothing (0.04, standard error 0.56, on the shipped data) whatever the true
link. The served specification respects the delivery lag and averages the
lumps out:

``log(TIV_t / TIV_{t-5}) = a + b * (m_t - m_{t-5})``, with
``m_t = (log milex_t + log milex_{t-1} + log milex_{t-2}) / 3``

(:data:`DIFFERENCE_YEARS` = 5, lags 0 to :data:`LAG_YEARS` = 2, equal
weights): a lasting rise in world military expenditure in year t raises world
transfers by a third of ``b`` in t, two thirds in t+1 and all of ``b`` from
t+2 on. ``b`` is the long-run elasticity. Years whose world TIV is a lower
bound are left out (SIPRI publishes a world military-expenditure total from
1988, without 1991).

The five-year differences overlap, so their errors are correlated (on the
shipped data the residuals' autocorrelation is +0.70 at lag 1, -0.53 at lag
5), and 26 overlapping changes hold only about 5 independent ones
(``n / difference_years``). Newey-West with 4 lags understates the error on so
few (0.23, below OLS's 0.28); a moving-block bootstrap that resamples blocks
of :data:`DIFFERENCE_YEARS` consecutive changes (:data:`BOOTSTRAP_REPLICATES`
replicates, fixed seed :data:`BOOTSTRAP_SEED`, so a forecast is reproducible)
keeps the overlap inside each block and gives 0.53 (blocks of 8 changes give
about 0.60). The served standard
error is the largest of the three (:func:`_fit`), and the estimate also lists
the percentile interval of the bootstrap and the slopes of the
``difference_years`` non-overlapping subsamples (the years with the same
``t mod 5``: -0.21 to 1.51 on the shipped data), which ``bench/world_demand_elasticity.py`` prints
beside the rest. The OLS and Newey-West errors are computed here, in a few
lines, rather than by statsmodels, which would cost about 2 s of import in
every cold worker process; a test checks they equal statsmodels' OLS and HAC
(Bartlett kernel, ``difference_years - 1`` lags, small-sample correction).

The estimate depends on the specification: :func:`alternatives` computes the
others on the same data (the same-year regression, single lags, distributed
lags, other difference lengths), which the response and
``bench/world_demand_elasticity.py`` print. The scenario simulation draws
``b`` from ``N(b, se^2)`` and applies the same lag weights
(:meth:`Elasticity.lagged`), so the simulated world path reacts as the point
does.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["BOOTSTRAP_REPLICATES", "BOOTSTRAP_SEED", "DIFFERENCE_YEARS", "LAG_YEARS", "Elasticity", "alternatives",
           "clear_estimates", "estimate_elasticity"]

Array = npt.NDArray[np.float64]
DIFFERENCE_YEARS = 5  # differences over five years: they average out single deliveries
LAG_YEARS = 2  # spending of years t, t-1 and t-2 moves year t's deliveries, in equal parts
BOOTSTRAP_REPLICATES = 10_000  # moving-block bootstrap replicates behind the standard error
BOOTSTRAP_SEED = 20261207  # fixed: the same data give the same standard error (and the same forecast)
METHOD = ("OLS of the 5-year log change of world TIV on the 5-year change of the mean log world military "
          "expenditure of the year and the 2 before (a distributed lag over years 0-2, equal weights), with "
          "intercept; standard error: the largest of OLS, Newey-West (4 lags) and a moving-block bootstrap "
          f"(blocks of 5 consecutive changes, {BOOTSTRAP_REPLICATES:,} replicates, fixed seed), since overlapping "
          "5-year changes hold only about a fifth as many independent ones")


@dataclass(frozen=True)
class Alternative:
    """One other specification's estimate on the same data (for the sensitivity report)."""

    specification: str
    value: float
    standard_error: float
    n: int
    years: str

    def to_dict(self) -> dict[str, Any]:
        return {"specification": self.specification, "value": self.value, "standard_error": self.standard_error,
                "n": self.n, "years": self.years}


@dataclass(frozen=True)
class Uncertainty:
    """How uncertain an estimate is, measured three ways, and what the overlap of the differences leaves."""

    ols: float
    newey_west: float
    bootstrap: float  # moving-block bootstrap standard error (blocks of ``difference`` changes)
    bootstrap_interval: tuple[float, float]  # its 2.5 % and 97.5 % percentiles
    subsamples: tuple[float, ...]  # slopes of the non-overlapping subsamples (years t with one t mod ``difference``)

    @property
    def served(self) -> float:
        return max(self.ols, self.newey_west, self.bootstrap)


NO_MILEX = "the data hold no world military expenditure"
TOO_FEW = "too few years with world TIV and military expenditure to estimate world demand (need 10 yearly changes)"


@dataclass(frozen=True)
class Elasticity:
    """An estimated long-run elasticity with its uncertainty, the years it came from and its lag structure."""

    value: float
    standard_error: float
    n: int
    first_year: int
    last_year: int
    r_squared: float
    lag_years: int = 0  # the effect builds up in equal parts over years t..t+lag_years
    difference_years: int = 1
    alternatives: tuple[Alternative, ...] = field(default=(), compare=False)
    uncertainty: Uncertainty | None = field(default=None, compare=False)
    why_not: str = NO_MILEX  # for an elasticity not estimated: why (to_dict's method)

    @classmethod
    def unavailable(cls, why_not: str = NO_MILEX) -> Elasticity:
        """No estimate (the data hold no world military expenditure, or too few years of it): world demand then
        moves nothing."""
        return cls(0.0, 0.0, 0, 0, 0, 0.0, why_not=why_not)

    @property
    def estimated(self) -> bool:
        return self.n > 0

    @property
    def independent_changes(self) -> float:
        """About how many independent changes the overlapping ``difference_years``-year changes hold."""
        return self.n / max(self.difference_years, 1)

    def uncertainty_text(self) -> str:
        """The standard error's basis, in words (the served one is the largest)."""
        u = self.uncertainty
        if u is None:
            return "not computed"
        subsamples = ", ".join(f"{v:.2f}" for v in u.subsamples)
        return (f"standard error {self.standard_error:.2f}: the largest of OLS ({u.ols:.2f}), Newey-West "
                f"({u.newey_west:.2f}) and a moving-block bootstrap ({u.bootstrap:.2f}, blocks of "
                f"{self.difference_years} consecutive changes, {BOOTSTRAP_REPLICATES:,} replicates, fixed seed; 95 % "
                f"percentile interval {u.bootstrap_interval[0]:.2f} to {u.bootstrap_interval[1]:.2f})"
                + (f". The {self.n} {self.difference_years}-year changes overlap, so they hold only about "
                   f"{self.independent_changes:.0f} independent ones" if self.difference_years > 1 else "")
                + (f"; the {len(u.subsamples)} non-overlapping subsamples (the years t with the same t mod "
                   f"{self.difference_years}) "
                   f"give {subsamples}" if u.subsamples else ""))

    def weights(self) -> Array:
        """Share of the long-run effect of a lasting change in year t reached in t, t+1, ... (cumulative)."""
        return np.asarray(np.minimum(np.arange(1, self.lag_years + 2) / (self.lag_years + 1), 1.0), dtype=float)

    def lagged(self, gap: Array) -> Array:
        """The log-spending gap as world transfers feel it: per year the mean of the gap over the year and the
        ``lag_years`` before (the gap before the first forecast year is 0: both paths are observed there)."""
        gap = np.asarray(gap, dtype=float)
        k = self.lag_years
        if k == 0 or gap.size == 0:
            return gap
        padded = np.concatenate([np.zeros(gap.shape[:-1] + (k,)), gap], axis=-1)
        return np.asarray(sum(padded[..., k - j: padded.shape[-1] - j] for j in range(k + 1)) / (k + 1),
                          dtype=float)

    def sensitivity(self) -> str:
        """The estimate's dependence on the specification, in words."""
        if not self.alternatives:
            return "not computed"
        values = [a.value for a in self.alternatives]
        listed = "; ".join(f"{a.specification}: {a.value:.2f} (se {a.standard_error:.2f}, n {a.n}, {a.years})"
                           for a in self.alternatives)
        return (f"the estimate depends on the specification as much as on sampling error: on the same data the "
                f"alternatives run from {min(values):.2f} to {max(values):.2f} ({listed}); the simulation draws "
                "only the served specification's sampling error, so compare a stated elasticity "
                "(scenario.pipeline.elasticity) for the rest")

    def to_dict(self) -> dict[str, Any]:
        if not self.estimated:
            return {"value": 0.0, "standard_error": 0.0, "n": 0, "years": "none", "r_squared": 0.0,
                    "method": f"not estimated: {self.why_not}, so world demand moves nothing (a custom scenario "
                    "may state an elasticity)",
                    "estimated_or_asserted": "asserted: 0, for want of data"}
        return {"value": self.value, "standard_error": self.standard_error, "n": self.n,
                "years": f"{self.first_year}-{self.last_year}", "r_squared": self.r_squared,
                "method": METHOD if (self.lag_years, self.difference_years) == (LAG_YEARS, DIFFERENCE_YEARS) else
                f"OLS of {self.difference_years}-year log changes of world TIV on those of world military "
                f"expenditure averaged over lags 0-{self.lag_years}, with intercept" + (
                    " (the history is too short for the served 5-year changes over lags 0-2)"
                    if self.difference_years < DIFFERENCE_YEARS else ""),
                "estimated_or_asserted": "estimated", "lag_years": self.lag_years,
                "difference_years": self.difference_years,
                "build_up": "a lasting change of world military expenditure in year t moves world transfers by "
                + ", ".join(f"{w:.0%}" for w in self.weights()) + " of the long-run elasticity in years t"
                + "".join(f", t+{j}" for j in range(1, self.lag_years + 1)),
                "alternatives": [a.to_dict() for a in self.alternatives],
                "specification_sensitivity": self.sensitivity(),
                **({} if self.uncertainty is None else {
                    "standard_errors": {"ols": self.uncertainty.ols, "newey_west": self.uncertainty.newey_west,
                                        "block_bootstrap": self.uncertainty.bootstrap},
                    "bootstrap_interval_95": list(self.uncertainty.bootstrap_interval),
                    "non_overlapping_subsamples": list(self.uncertainty.subsamples),
                    "independent_changes": round(self.independent_changes, 1),
                    "uncertainty": self.uncertainty_text()})}


def _usable(world_tiv: Mapping[int, float], lower_bound_years: Sequence[int]) -> dict[int, float]:
    return {y: math.log(v) for y, v in world_tiv.items() if v > 0 and y not in lower_bound_years}


def _fit(world_tiv: Mapping[int, float], world_milex: Mapping[int, float], lower_bound_years: Sequence[int],
         difference: int, lags: Sequence[int], smooth: bool) -> tuple[float, Uncertainty, float, list[int]] | None:
    """OLS of ``difference``-year log changes of TIV on those of log milex at ``lags`` (their mean when
    ``smooth``, else each lag its own coefficient, summed): long-run value, its uncertainty (OLS, Newey-West
    with ``difference - 1`` lags, a moving-block bootstrap with blocks of ``difference`` changes, the
    non-overlapping subsamples; the served standard error is the largest of the first three), R² and the years."""
    tiv = _usable(world_tiv, lower_bound_years)
    milex = {y: math.log(v) for y, v in world_milex.items() if v > 0}
    years = [t for t in sorted(tiv) if t - difference in tiv
             and all(t - k in milex and t - k - difference in milex for k in lags)]
    columns = len(lags) if not smooth else 1
    if len(years) < 9 + columns:
        return None
    y = np.array([tiv[t] - tiv[t - difference] for t in years])
    x = np.array([[milex[t - k] - milex[t - k - difference] for k in lags] for t in years])
    if smooth:
        x = x.mean(axis=1, keepdims=True)
    design = np.column_stack([np.ones(len(years)), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    resid = y - design @ coef
    n, p = design.shape
    inverse = np.linalg.inv(design.T @ design)
    ols = float(resid @ resid) / (n - p) * inverse
    score = design * resid[:, None]
    meat = score.T @ score
    for lag in range(1, difference):
        cross = score[lag:].T @ score[:-lag]
        meat += (1.0 - lag / difference) * (cross + cross.T)
    newey_west = inverse @ meat @ inverse * n / (n - p)
    ones = np.ones(p - 1)
    boot = _block_bootstrap(design, y, difference)
    low, high = np.quantile(boot, (0.025, 0.975))
    uncertainty = Uncertainty(
        math.sqrt(max(float(ones @ ols[1:, 1:] @ ones), 0.0)),
        math.sqrt(max(float(ones @ newey_west[1:, 1:] @ ones), 0.0)),
        float(np.std(boot, ddof=1)), (float(low), float(high)),
        _subsamples(design, y, years, difference) if difference > 1 else ())
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float(resid @ resid) / total if total > 0 else 0.0
    return float(coef[1:].sum()), uncertainty, r2, years


def _slopes(design: Array, y: Array) -> Array:
    """The summed slope coefficients of OLS fits, one per leading index of ``design`` (replicates, n, p)."""
    gram = np.einsum("bni,bnj->bij", design, design)
    moment = np.einsum("bni,bn->bi", design, y)
    coef = np.einsum("bij,bj->bi", np.linalg.pinv(gram), moment)
    return np.asarray(coef[:, 1:].sum(axis=1), dtype=float)


def _block_bootstrap(design: Array, y: Array, block: int) -> Array:
    """Slopes of :data:`BOOTSTRAP_REPLICATES` moving-block bootstrap samples: each sample joins randomly chosen
    runs of ``block`` consecutive observations (an overlap of the differences stays inside a run) and is cut to
    the sample's length. Deterministic: the generator is seeded with :data:`BOOTSTRAP_SEED`."""
    n = len(y)
    block = max(1, min(block, n))
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    count = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(BOOTSTRAP_REPLICATES, count))
    index = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(BOOTSTRAP_REPLICATES, -1)[:, :n]
    return _slopes(design[index], y[index])


def _subsamples(design: Array, y: Array, years: Sequence[int], difference: int) -> tuple[float, ...]:
    """The slope of each of the ``difference`` subsamples of non-overlapping changes (the years ``t`` with the
    same ``t mod difference``: 1995, 2000, ...; 2001, 2006, ...), those with more changes than coefficients."""
    out = []
    for offset in range(difference):
        rows = np.array([i for i, t in enumerate(years) if t % difference == offset], dtype=int)
        if len(rows) > design.shape[1]:
            out.append(float(_slopes(design[rows][None], y[rows][None])[0]))
    return tuple(out)


_ALTERNATIVES: tuple[tuple[str, int, tuple[int, ...], bool], ...] = (
    ("same-year 1-year changes", 1, (0,), False),
    ("1-year changes, spending lagged 1 year", 1, (1,), False),
    ("1-year changes, spending lagged 2 years", 1, (2,), False),
    ("1-year changes, distributed lag 0-2 (sum of 3 coefficients)", 1, (0, 1, 2), False),
    ("5-year changes, same year", 5, (0,), False),
    ("5-year changes, distributed lag 0-3 (equal weights)", 5, (0, 1, 2, 3), True),
    ("3-year changes, distributed lag 0-2 (equal weights)", 3, (0, 1, 2), True),
)


def alternatives(world_tiv: Mapping[int, float], world_milex: Mapping[int, float],
                 lower_bound_years: Sequence[int] = ()) -> tuple[Alternative, ...]:
    """Other specifications' estimates on the same data (module docstring), those the data allow."""
    out = []
    for name, difference, lags, smooth in _ALTERNATIVES:
        fitted = _fit(world_tiv, world_milex, lower_bound_years, difference, lags, smooth)
        if fitted is not None:
            value, uncertainty, _, years = fitted
            out.append(Alternative(name, value, uncertainty.served, len(years), f"{years[0]}-{years[-1]}"))
    return tuple(out)


def estimate_elasticity(world_tiv: Mapping[int, float], world_milex: Mapping[int, float],
                        lower_bound_years: Sequence[int] = ()) -> Elasticity:
    """Long-run elasticity of world TIV to world military expenditure (module docstring); not estimated
    (:meth:`Elasticity.unavailable`, with the reason) without world military expenditure or with too few years
    of it (an as-of forecast ending before about 1999): a forecast that does not use world demand must not fail
    for want of it, and one that does says it moved nothing.

    Memoised by the data (the block bootstrap over every specification costs about 0.2 s, and every TIV and
    Japan fit on the same data asks for the same estimate); deterministic, so the cache changes no result."""
    if not world_milex:
        return Elasticity.unavailable()
    return _estimate(tuple(sorted(world_tiv.items())), tuple(sorted(world_milex.items())),
                     tuple(sorted(lower_bound_years)))


def clear_estimates() -> None:
    """Forget the memoised estimates (benchmarks time independent fits with nothing reused)."""
    _estimate.cache_clear()


@functools.lru_cache(maxsize=16)
def _estimate(world_items: tuple[tuple[int, float], ...], milex_items: tuple[tuple[int, float], ...],
              lower_bound_years: tuple[int, ...]) -> Elasticity:
    world_tiv, world_milex = dict(world_items), dict(milex_items)
    lags = tuple(range(LAG_YEARS + 1))
    fitted = _fit(world_tiv, world_milex, lower_bound_years, DIFFERENCE_YEARS, lags, True)
    if fitted is not None:
        value, uncertainty, r2, years = fitted
        return Elasticity(value, uncertainty.served, len(years), years[0], years[-1], r2, LAG_YEARS,
                          DIFFERENCE_YEARS, alternatives(world_tiv, world_milex, lower_bound_years), uncertainty)
    # A short history (an as-of forecast ending in the 1990s) has too few 5-year changes: the same-year
    # regression of 1-year changes, which needs fewer years, as the method text says.
    fitted = _fit(world_tiv, world_milex, lower_bound_years, 1, (0,), False)
    if fitted is None:
        return Elasticity.unavailable(TOO_FEW)
    value, uncertainty, r2, years = fitted
    return Elasticity(value, uncertainty.served, len(years), years[0], years[-1], r2, 0, 1,
                      uncertainty=uncertainty)
