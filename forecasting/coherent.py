"""The served statistical forecast: an equal-weight ensemble per supplier, made coherent across suppliers.

For every supplier with at least :data:`~forecasting.panel.MIN_YEARS` years
of history, and for the rest of the world (``ROW``), the members of
:mod:`forecasting.members` forecast the share of world exports; their equal-
weight mean is the supplier's base forecast. Equal weights are the a-priori
choice (the "forecast combination puzzle": estimated weights rarely beat them
out of sample on short series), so nothing here is tuned on the years it is
scored on.

Plausibility: each base share is capped at the supplier's highest share of
the last 25 years (:func:`plausible_ceiling`).

Coherence: the base shares of all suppliers plus ``ROW`` are scaled by one
common factor per year so that they add up to exactly 100 % (proportional
reconciliation; it keeps zeros at zero and every share in [0, 100]); where
the factor is above 1, a share it would lift past its ceiling is held there
and the others take the rest. The
world total (TIV) is forecast by the same members on its own series, and a
supplier's TIV forecast is its coherent share times the world forecast, so the
suppliers' TIV forecasts add up to the world's. Listed suppliers with too
little history are counted in ``ROW``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from forecasting.members import member_forecasts
from forecasting.panel import REST, WORLD, Panel

__all__ = [
    "INTERVAL_SCALE_YEARS", "PLAUSIBLE_YEARS", "PanelForecast", "base_share", "forecast_panel", "interval_scale",
    "make_room", "naive_scale", "plausible_ceiling", "reconcile",
]

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PanelForecast:
    """Coherent point forecasts of every supplier from one origin (horizons 1..H)."""

    origin: int
    horizon: int
    share: dict[str, Array]  # coherent shares, percent
    base_share: dict[str, Array]  # before reconciliation
    members: dict[str, dict[str, Array]]  # each code's member forecasts of the share
    world: Array  # world total, TIV million
    world_members: dict[str, Array]
    factor: Array  # reconciliation factor per year (100 / sum of base shares)
    room: Array | None = None  # factor on every other code's share that makes room for one fixed share
    fixed_base: Array | None = None  # that code's statistical base besides what fixed it (Japan's deals)
    fixed_code: str | None = None  # the code whose share was fixed
    fixed_members: dict[str, Array] | None = None  # the members' forecasts behind ``fixed_base``

    def served_members(self, code: str) -> dict[str, Array]:
        """The member forecasts behind ``code``'s served statistical base: the world total's; for the code whose
        share was fixed (Japan with its deal pipeline), those of its base besides the deals; else its own."""
        if code == WORLD:
            return self.world_members
        if code == self.fixed_code and self.fixed_members is not None:
            return self.fixed_members
        return self.members[code]

    def tiv(self, code: str) -> Array:
        """TIV forecast of ``code``: coherent share times the world forecast."""
        if code == WORLD:
            return self.world
        return self.share[code] * self.world / 100.0

    def weights(self, code: str) -> dict[str, float]:
        names = self.members[code] if code != WORLD else self.world_members
        return {n: 1.0 / len(names) for n in names}


def naive_scale(values: Array) -> float:
    """MASE scale: the in-sample mean absolute one-year change (0 for a constant series)."""
    return float(np.mean(np.abs(np.diff(values)))) if len(values) > 1 else 0.0


INTERVAL_SCALE_YEARS = 15


def interval_scale(values: Array) -> float:
    """Scale of the calibrated intervals: the mean absolute one-year change over the last 15 years.

    Recent volatility, not the whole history's: an exporter that was quiet for
    decades and is now active (Turkey) gets intervals as wide as its present.
    When the last 15 years are constant (no deliveries at all), the last 25
    (:data:`PLAUSIBLE_YEARS`) are used, and when those are constant too the
    scale is 0 (an interval of no width at the point): a supplier that has
    delivered nothing for a generation, such as the Soviet Union since 1991,
    is given no width from trade it did decades ago (the whole history gave
    the Soviet Union a 95 % upper bound of 44 % of world exports in 2033).
    """
    recent = naive_scale(values[-(INTERVAL_SCALE_YEARS + 1):])
    return recent if recent > 0 else naive_scale(values[-(PLAUSIBLE_YEARS + 1):])


PLAUSIBLE_YEARS = 25


def plausible_ceiling(values: Array) -> float:
    """The highest share a baseline may reach: the supplier's highest share of the last 25 years.

    The rule: a baseline, which adds no information about new deals, never
    forecasts a supplier above what it has itself achieved within a generation
    (a damped trend or Theta drift may otherwise carry a recent riser, such as
    Turkey, past its record over 30 years). Reconciliation then multiplies by
    a common factor, close to 1, that never lifts a capped share above its
    ceiling (:func:`reconcile`).
    """
    return float(min(np.max(values[-PLAUSIBLE_YEARS:]), 100.0))


def _combine(members: Mapping[str, Array]) -> Array:
    return np.asarray(np.mean(np.vstack(list(members.values())), axis=0), dtype=float)


def base_share(members: Mapping[str, Array], history: Array) -> Array:
    """A supplier's base share before reconciliation: the members' equal-weight mean, within [0, ceiling]."""
    return np.asarray(np.clip(_combine(members), 0.0, plausible_ceiling(history)), dtype=float)


def reconcile(base: Mapping[str, Array], ceilings: Mapping[str, float] | None = None
              ) -> tuple[dict[str, Array], Array]:
    """Shares that add up to 100 % in every year, and the factor that scaled them.

    Every code's base share is multiplied by one common factor per year (100 / their sum). A factor above 1
    (the base shares add up to less than 100 %) must not lift a share above its ceiling (``ceilings``, per
    code; none means 100): such a share is held at its ceiling and the factor is recomputed over the others
    (water-filling, at most one round per code), so the ceiling rule still holds after reconciliation. The
    factor returned is the one applied to the shares not held (1 in a year whose base shares are all zero).
    """
    codes = list(base)
    values = np.vstack([np.asarray(base[c], dtype=float) for c in codes])
    limit = np.array([min((ceilings or {}).get(c, 100.0), 100.0) for c in codes])[:, None] * np.ones_like(values)
    held = np.zeros_like(values, dtype=bool)
    factor = np.ones(values.shape[1])
    for _ in range(len(codes) + 1):
        fixed = np.sum(np.where(held, limit, 0.0), axis=0)
        free = np.sum(np.where(held, 0.0, values), axis=0)
        factor = np.where(free > 0, np.maximum(100.0 - fixed, 0.0) / np.where(free > 0, free, 1.0), 1.0)
        over = ~held & (values * factor > limit + 1e-12) & (factor > 1.0)
        if not over.any():
            break
        held |= over
    shares = np.where(held, limit, np.clip(values * factor, 0.0, 100.0))
    return {c: shares[i] for i, c in enumerate(codes)}, np.asarray(factor, dtype=float)


def make_room(pf: PanelForecast, code: str, share: Array, fixed_base: Array | None = None,
              fixed_members: dict[str, Array] | None = None) -> PanelForecast:
    """``pf`` with ``code``'s share replaced by ``share`` (a forecast built from more than the statistics, such as
    Japan's deal pipeline) and every other code's share, the rest of the world's included, scaled by one factor
    per year, ``(100 - share) / (100 - the old share)``, so that they still add up to 100 % and keep their
    proportions: with the world total fixed, what one supplier delivers more the others deliver less."""
    old = pf.share[code]
    share = np.clip(np.asarray(share, dtype=float)[: len(old)], 0.0, 100.0)
    room = np.where(old < 100.0, (100.0 - share) / np.maximum(100.0 - old, 1e-12), 1.0)
    shares = {c: share if c == code else np.clip(v * room, 0.0, 100.0) for c, v in pf.share.items()}
    return replace(pf, share=shares, room=np.asarray(room, dtype=float), fixed_base=fixed_base, fixed_code=code,
                   fixed_members=fixed_members)


def forecast_panel(panel: Panel, horizon: int) -> PanelForecast:
    """Coherent forecasts of every supplier in ``panel`` for ``horizon`` years after its last year.

    Parameters
    ----------
    panel
        Exports of the listed suppliers and the world total up to the origin.
    horizon
        Years to forecast (1 to 30).

    Returns
    -------
    PanelForecast
        Coherent shares (adding up to 100 % per year), the world total and
        every member's forecast, so that the response can show them.
    """
    codes = panel.codes()
    eligible = [c for c in codes if c != REST]
    # Suppliers with too little history count in the rest of the world.
    short = {c: s for c, s in panel.suppliers.items() if c not in eligible}
    folded = Panel({c: s for c, s in panel.suppliers.items() if c in eligible}, panel.world,
                   panel.lower_bound_years) if short else panel
    histories = {c: folded.array(c, "share")[1] for c in codes}
    members = {c: member_forecasts(histories[c], horizon, "share") for c in codes}
    base = {c: base_share(m, histories[c]) for c, m in members.items()}
    share, factor = reconcile(base, {c: plausible_ceiling(histories[c]) for c in codes if c != REST})
    world_members = member_forecasts(panel.array(WORLD, "tiv")[1], horizon, "tiv")
    world = np.maximum(_combine(world_members), 0.0)
    return PanelForecast(panel.last_year, horizon, share, base, members, world, world_members, factor)
