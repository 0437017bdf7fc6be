"""Japan's deal pipeline: committed and prospective deals, turned into expected and simulated deliveries.

A near-zero exporter's exports move deal by deal, so Japan's scenario forecast is

    exports = deliveries of committed deals
            + prospective deals x their probability in the scenario
            + the statistical base for everything else (:mod:`forecasting.coherent`)

and its share is that over the world forecast. Each deal carries where every
figure comes from (``sources``: SIPRI's register, a published statement, or
tivcast's own assumption with its reasoning).

Rules (each stated in the response as an assumption):

* Remaining units (ordered minus delivered) are delivered in equal parts over
  the deal's planned ``delivery_years``.
* Deliveries slip: with probability ``slip_probability`` a deal's deliveries
  move one year later, and again with the same probability, up to three years
  (a geometric slip, capped). The point is the expected value under these
  slip odds and the deal's probability, computed exactly
  (:func:`expected_tiv`); :func:`scheduled_tiv` is the schedule as stated,
  without slips.
* TIV per unit is uncertain for prospects priced by tivcast: the simulation
  draws it from a triangular distribution (low, central, high); the point
  uses the central value.
* A prospective deal happens or not (Bernoulli with the scenario's probability);
  committed deals (``delivering``, ``ordered``) always happen.
* Lines of one contract: a deal whose ``depends_on`` names another deal (the
  Australian-built Mogami-class frigates hang on the contract whose first
  ships are built in Japan) happens only in the paths where that deal happens,
  with probability ``p / p_contract`` there (so its own probability, ``p``,
  is as stated), and draws its TIV per unit from the same uniform as that deal
  (one design, one price draw); its slips are its own (another yard).
* The statistical base models everything else: it is fitted to Japan's
  history *minus* the past deliveries of the pipeline's deals, so that no
  delivery is counted twice.

Determinism and common random numbers: every deal's draws come from its own
PCG64 stream, seeded by the request's seed and the deal's id
(:func:`stream`), so a deal's simulated deliveries do not depend on which
other deals exist (removing one deal leaves the others' draws unchanged).
Draws are stratified (Latin hypercube: each uniform falls in its own 1/N
slice), so the share of paths in which a deal happens or slips k years is its
probability to within 1/N, and the bounds hardly move with the number of draws.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from forecasting.errors import InvalidInputs

__all__ = ["COMMITTED", "FIGURES", "MAX_SLIP_YEARS", "PIPELINE_COUNTRY", "STATUSES", "Deal", "deal_from_row",
           "expected_tiv", "scheduled_tiv", "simulate_deals", "simulate_tiv", "slip_weights", "stratified", "stream"]

Array = npt.NDArray[np.float64]
Status = Literal["delivering", "ordered", "selected", "prospect"]
STATUSES: tuple[str, ...] = ("delivering", "ordered", "selected", "prospect")
PIPELINE_COUNTRY = "JPN"  # the one country whose forecast is built from a deal pipeline
COMMITTED = ("delivering", "ordered")
MAX_SLIP_YEARS = 3
# A deal's figures that a source or an assumption states (the dataset's ``source_<figure>`` columns; the
# ``tivcast_assumptions`` column names those of them that are tivcast's own assumptions).
FIGURES = ("units", "tiv_per_unit", "delivery_years", "probability", "slip", "requires_liberalisation",
           "past_deliveries")


@dataclass(frozen=True)
class Deal:
    """One deal of the pipeline (units in numbers, TIV in million per unit)."""

    deal_id: str
    recipient: str
    system: str
    status: str
    units_ordered: float
    units_delivered: float
    tiv_per_unit: tuple[float, float, float]  # low, central, high
    delivery_years: tuple[int, ...]
    probability: float  # in the baseline (1 for committed deals)
    probability_liberalised: float  # if Japan eases its rules further
    requires_liberalisation: bool  # blocked by today's five-category rule
    slip_probability: float
    order_year: int | None = None
    past_deliveries: dict[int, float] = field(default_factory=dict)  # TIV million by year (in the history)
    sources: dict[str, str] = field(default_factory=dict)
    reasoning: str = ""
    units_range: tuple[float, float] | None = None  # low, high of the remaining units, when tivcast assumes them
    # Who states each figure when it is not the catalogue: "request" (the analyst's edit or added deal) or
    # "default" (an added deal's figure the request left out); figures: units, tiv_per_unit, delivery_years,
    # probability, probability_liberalised, slip, requires_liberalisation.
    origin: dict[str, str] = field(default_factory=dict)
    # The deal of the contract (or programme) this line hangs on: it happens only if that one does.
    depends_on: str | None = None
    # The catalogue's figures that are tivcast's own assumptions (the others are SIPRI's or a published
    # statement's), from the dataset's ``tivcast_assumptions`` column: structured, never read from the text.
    tivcast_figures: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        where = f"pipeline.{self.deal_id}"
        unknown = sorted(self.tivcast_figures - set(FIGURES))
        if unknown:
            raise InvalidInputs(f"tivcast_assumptions names an unknown figure {unknown[0]!r}; figures: "
                                f"{', '.join(FIGURES)}", field=f"{where}.tivcast_assumptions")
        if self.depends_on is not None and self.depends_on == self.deal_id:
            raise InvalidInputs("a deal cannot depend on itself", field=f"{where}.depends_on")
        if self.status not in STATUSES:
            raise InvalidInputs(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}",
                                field=f"{where}.status")
        low, central, high = self.tiv_per_unit
        if not 0 <= low <= central <= high or not math.isfinite(high):
            raise InvalidInputs(f"TIV per unit must be 0 <= low <= central <= high, got {self.tiv_per_unit}",
                                field=f"{where}.tiv_per_unit")
        for name in ("probability", "probability_liberalised", "slip_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidInputs(f"{name} must be in [0, 1], got {value!r}", field=f"{where}.{name}")
        if self.status in COMMITTED and self.probability != 1.0:
            raise InvalidInputs("a committed deal has probability 1", field=f"{where}.probability")
        if self.units_ordered < 0 or not 0 <= self.units_delivered <= self.units_ordered:
            raise InvalidInputs("units must satisfy 0 <= delivered <= ordered", field=f"{where}.units_delivered")
        if self.remaining > 0 and not self.delivery_years:
            raise InvalidInputs("remaining units need delivery years", field=f"{where}.delivery_years")
        if self.units_range is not None and not 0 <= self.units_range[0] <= self.remaining <= self.units_range[1]:
            raise InvalidInputs("units range must hold the remaining units", field=f"{where}.units_range")
        if self.order_year is not None and any(y < self.order_year for y in self.delivery_years):
            raise InvalidInputs(f"a delivery year precedes the order ({self.order_year})",
                                field=f"{where}.delivery_years")

    @property
    def remaining(self) -> float:
        return self.units_ordered - self.units_delivered

    @property
    def committed(self) -> bool:
        return self.status in COMMITTED

    def as_of(self, end: int) -> Deal:
        """The deal as a forecast made at the end of ``end`` takes it: the deliveries recorded after ``end`` are
        units still to come, due in the years they were delivered (their TIV over the central TIV per unit), so an
        as-of forecast counts them instead of losing them; the deal's other figures are today's."""
        later = {y: v for y, v in self.past_deliveries.items() if y > end}
        if not later:
            return self
        unit = self.tiv_per_unit[1]
        units = min(sum(later.values()) / unit, self.units_delivered) if unit > 0 else 0.0
        return replace(self, units_delivered=self.units_delivered - units,
                       delivery_years=tuple(sorted(set(later) | set(self.delivery_years))),
                       past_deliveries={y: v for y, v in self.past_deliveries.items() if y <= end},
                       units_range=None if self.units_range is None else
                       (self.units_range[0] + units, self.units_range[1] + units))

    def planned(self, years: Sequence[int], tiv_per_unit: float | None = None) -> Array:
        """TIV per forecast year without slip (remaining units spread over the delivery years)."""
        unit = self.tiv_per_unit[1] if tiv_per_unit is None else tiv_per_unit
        per_year = self.remaining / len(self.delivery_years) if self.delivery_years else 0.0
        return np.array([per_year * unit if y in self.delivery_years else 0.0 for y in years])

    def to_dict(self) -> dict[str, Any]:
        return {
            "deal_id": self.deal_id, "recipient": self.recipient, "system": self.system, "status": self.status,
            "order_year": self.order_year, "units_ordered": self.units_ordered,
            "units_delivered": self.units_delivered, "units_remaining": self.remaining,
            "tiv_per_unit": dict(zip(("low", "central", "high"), self.tiv_per_unit, strict=True)),
            "delivery_years": list(self.delivery_years), "probability": self.probability,
            "probability_liberalised": self.probability_liberalised,
            "requires_liberalisation": self.requires_liberalisation, "slip_probability": self.slip_probability,
            "units_remaining_range": None if self.units_range is None else list(self.units_range),
            "past_deliveries": {str(y): v for y, v in sorted(self.past_deliveries.items())},
            "sources": dict(self.sources), "reasoning": self.reasoning, "depends_on": self.depends_on,
            "tivcast_assumptions": sorted(self.tivcast_figures),
            **({"origin": dict(sorted(self.origin.items()))} if self.origin else {}),
        }


def _slip_weights(slip: float) -> Array:
    """P(slip = 0, 1, 2, 3 years): geometric, capped at three years."""
    weights = np.array([(1 - slip) * slip**k for k in range(MAX_SLIP_YEARS)] + [slip**MAX_SLIP_YEARS])
    return np.asarray(weights / weights.sum(), dtype=float)


def _shifted(values: Array, years: int) -> Array:
    out = np.zeros_like(values)
    if years < len(values):
        out[years:] = values[: len(values) - years]
    return out


def scheduled_tiv(deal: Deal, years: Sequence[int], probability: float, first_year: int | None = None) -> Array:
    """Probability x central TIV x units on the schedule as stated (no slip)."""
    return np.asarray(probability * _timeline(deal, years, deal.tiv_per_unit[1], first_year), dtype=float)


def expected_tiv(deal: Deal, years: Sequence[int], probability: float, first_year: int | None = None) -> Array:
    """Point contribution per forecast year: the expected TIV under the deal's probability and slip odds.

    ``probability x central TIV x sum_k P(slip = k) x (remaining units on the schedule moved k years)``,
    computed exactly (what slips past the last forecast year is delivered after it). ``first_year`` is the
    first forecast year; deliveries planned before it (overdue catalogue deliveries) move to it.
    """
    plan = _timeline(deal, years, deal.tiv_per_unit[1], first_year)
    weights = _slip_weights(deal.slip_probability)
    out = sum((w * _shifted(plan, k) for k, w in enumerate(weights)), np.zeros(len(plan)))
    return np.asarray(probability * out, dtype=float)


def slip_weights(slip: float) -> Array:
    """P(slip = 0, 1, 2, 3 years), as used by the point and the simulation."""
    return _slip_weights(slip)


def _timeline(deal: Deal, years: Sequence[int], unit: float, first_year: int | None) -> Array:
    start = years[0] if first_year is None else first_year
    overdue = sum(deal.remaining / len(deal.delivery_years) for y in deal.delivery_years if y < start) \
        if deal.delivery_years else 0.0
    out = deal.planned(years, unit)
    if overdue and len(out):
        out[0] += overdue * unit
    return out


def stream(seed: int, name: str) -> np.random.Generator:
    """The PCG64 stream of one source of randomness (a deal id, ``base``, ``world``, ``elasticity``): seeded by
    the request's seed and the name only, so it is the same whichever other deals the scenario has."""
    digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, digest])))


def stratified(rng: np.random.Generator, draws: int) -> Array:
    """``draws`` uniforms on (0, 1), one in each slice of width 1/draws, in random order."""
    return np.asarray((rng.permutation(draws) + rng.random(draws)) / draws, dtype=float)


def _triangular(u: Array, low: float, mode: float, high: float) -> Array:
    """Inverse CDF of the triangular distribution."""
    if high <= low:
        return np.full(len(u), mode)
    cut = (mode - low) / (high - low)
    left = low + np.sqrt(u * (high - low) * (mode - low))
    right = high - np.sqrt((1.0 - u) * (high - low) * (high - mode))
    return np.asarray(np.where(u < cut, left, right), dtype=float)


def _slips(u: Array, slip: float) -> npt.NDArray[np.int_]:
    """Slip in years from uniforms: P(slip >= k) = slip**k, capped at MAX_SLIP_YEARS."""
    if slip <= 0:
        return np.zeros(len(u), dtype=int)
    if slip >= 1:
        return np.full(len(u), MAX_SLIP_YEARS, dtype=int)
    return np.minimum(np.floor(np.log1p(-u) / math.log(slip)), MAX_SLIP_YEARS).astype(int)


def _uniforms(seed: int, deal: Deal, draws: int) -> tuple[Array, Array, Array, Array]:
    """A deal's stratified uniforms, in their fixed order: happens, slip, TIV per unit, units. The one place
    that order is set: a dependent line reads its contract's draws from here too, so they are the draws the
    contract's own simulation used."""
    rng = stream(seed, f"deal:{deal.deal_id}")
    happen, slip, tiv, units = (stratified(rng, draws) for _ in range(4))
    return happen, slip, tiv, units


def simulate_tiv(deal: Deal, years: Sequence[int], probability: float, seed: int, draws: int,
                 contract: tuple[Deal, float] | None = None) -> Array:
    """Simulated TIV paths (draws x years): happens or not, slips, TIV per unit from (low, central, high).

    The draws come from the deal's own stream (:func:`stream`, seeded by ``seed`` and the deal id) in a fixed
    order, each stratified: common random numbers across scenarios and across pipelines with other deals.
    ``contract``: the deal this one depends on and its probability in the scenario; then this deal happens only
    where that one does (its own uniform decides, given the contract, at ``probability / p_contract``) and its
    TIV per unit is drawn from the contract's uniform (module docstring).
    """
    u_happen, u_slip, u_tiv, u_units = _uniforms(seed, deal, draws)
    happens = np.ones(draws, dtype=bool) if deal.committed else u_happen < probability
    if contract is not None:
        parent, p_parent = contract
        c_happen, _, c_tiv, _ = _uniforms(seed, parent, draws)  # the contract's own draws
        signed = np.ones(draws, dtype=bool) if parent.committed else c_happen < p_parent
        given = 0.0 if p_parent <= 0 else min(probability / p_parent, 1.0)
        happens = signed if deal.committed else signed & (u_happen < given)
        u_tiv = c_tiv
    low, central, high = deal.tiv_per_unit
    units = _triangular(u_tiv, low, central, high)
    if deal.units_range is not None and deal.units_range[1] > deal.units_range[0] and deal.remaining > 0:
        lo, hi = deal.units_range
        units = units * _triangular(u_units, lo, deal.remaining, hi) / deal.remaining
    slips = _slips(u_slip, deal.slip_probability)
    base = _timeline(deal, years, 1.0, None)
    out = np.zeros((draws, len(years)))
    for k in range(MAX_SLIP_YEARS + 1):
        rows = (slips == k) & happens
        if rows.any():
            out[rows] = units[rows, None] * _shifted(base, k)[None, :]
    return out


def simulate_deals(deals: Sequence[tuple[Deal, float]], years: Sequence[int], seed: int, draws: int
                   ) -> dict[str, Array]:
    """Every deal's simulated paths (:func:`simulate_tiv`), a dependent line drawn with its contract when the
    scenario has it."""
    chosen = {d.deal_id: (d, p) for d, p in deals}
    return {d.deal_id: simulate_tiv(d, years, p, seed, draws,
                                    chosen.get(d.depends_on) if d.depends_on is not None else None)
            for d, p in deals}


def _split(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.replace(",", ";").split(";") if p.strip())


_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _row_years(text: str, where: str) -> tuple[int, ...]:
    """A row's ``delivery_years`` (``;``-separated), each year once: a repeated year would spread the remaining
    units over one year too many (and lose that share)."""
    try:
        years = _split(text)
    except ValueError:
        raise InvalidInputs(f"delivery_years must be years separated by ';', got {text!r}", field=where) from None
    repeated = sorted({y for y in years if years.count(y) > 1})
    if repeated:
        raise InvalidInputs(f"delivery_years {text!r} gives {repeated[0]} twice", field=where)
    return years


def _row_past(text: str, where: str) -> dict[int, float]:
    """A row's ``past_deliveries``: ``year:TIV`` entries separated by ``;``, each year once, each TIV finite and
    not negative (an entry without its TIV is an error, not a year without deliveries)."""
    past: dict[int, float] = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        year, colon, value = part.partition(":")
        try:
            if not colon:
                raise ValueError
            pair = int(year), float(value)
        except ValueError:
            raise InvalidInputs(f"past_deliveries entry {part.strip()!r} is not year:TIV (in {text!r})",
                                field=where) from None
        if not math.isfinite(pair[1]) or pair[1] < 0:
            raise InvalidInputs(f"past_deliveries entry {part.strip()!r}: the TIV delivered must be a number >= 0",
                                field=where)
        if pair[0] in past:
            raise InvalidInputs(f"past_deliveries {text!r} gives {pair[0]} twice", field=where)
        past[pair[0]] = pair[1]
    return past


def _row_boolean(value: Any, where: str) -> bool:
    """A row's boolean: true or false (a bool, or text: true/false, 1/0, yes/no in any case); empty is false."""
    if isinstance(value, bool):
        return value
    if value is None or value == "":
        return False
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise InvalidInputs(f"{where.rsplit('.', 1)[-1]} must be true or false, got {value!r}", field=where)


def deal_from_row(row: Mapping[str, Any]) -> Deal:
    """A deal from a row of the ``japan-export-pipeline`` dataset (strings or typed values). A cell that is not
    of its column's type (a number, a year, true/false, ``year:TIV`` entries) raises :class:`InvalidInputs`
    naming ``pipeline.<deal_id>.<column>``; an empty number is 0."""
    where = f"pipeline.{row.get('deal_id')}"

    def number(name: str) -> float:
        value = row.get(name)
        if value in (None, ""):
            return 0.0
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise InvalidInputs(f"{name} must be a number, got {value!r}", field=f"{where}.{name}") from None
        if not math.isfinite(result):
            raise InvalidInputs(f"{name} must be a finite number, got {value!r}", field=f"{where}.{name}")
        return result

    sources = {k[len("source_"):]: str(v) for k, v in row.items() if k.startswith("source_") and v}
    past = _row_past(str(row.get("past_deliveries") or ""), f"{where}.past_deliveries")
    order = row.get("order_year")
    try:
        order_year = int(order) if order not in (None, "") else None
    except (TypeError, ValueError):
        raise InvalidInputs(f"order_year must be a year, got {order!r}", field=f"{where}.order_year") from None
    if order_year is not None and any(y < order_year for y in past):
        raise InvalidInputs(f"past_deliveries {row.get('past_deliveries')!r}: a delivery in {min(past)} precedes "
                            f"the order ({order_year})",
                            field=f"{where}.past_deliveries")
    units_range = (number("units_remaining_low"), number("units_remaining_high")) \
        if row.get("units_remaining_low") not in (None, "") else None
    return Deal(
        deal_id=str(row["deal_id"]), recipient=str(row["recipient_code"]), system=str(row["system"]),
        status=str(row["status"]), units_ordered=number("units_ordered"), units_delivered=number("units_delivered"),
        tiv_per_unit=(number("tiv_per_unit_low"), number("tiv_per_unit_central"), number("tiv_per_unit_high")),
        delivery_years=_row_years(str(row.get("delivery_years") or ""), f"{where}.delivery_years"),
        probability=number("probability_baseline"), probability_liberalised=number("probability_liberalised"),
        requires_liberalisation=_row_boolean(row.get("requires_liberalisation"), f"{where}.requires_liberalisation"),
        slip_probability=number("slip_probability"),
        order_year=order_year,
        past_deliveries=past, sources=sources, reasoning=str(row.get("reasoning") or ""), units_range=units_range,
        depends_on=str(row["depends_on"]).strip() if row.get("depends_on") not in (None, "") else None,
        tivcast_figures=frozenset(p.strip() for p in str(row.get("tivcast_assumptions") or "").split(";")
                                  if p.strip()),
    )
