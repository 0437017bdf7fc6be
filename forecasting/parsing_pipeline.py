"""Parsing of a custom scenario's ``pipeline`` part (Japan's deals), with errors that name the field.

Shape (every part optional; unstated parts follow the base scenario)::

    "pipeline": {
      "prospects": "none" | "baseline" | "liberalised",
      "probability_shift": -1..1,
      "elasticity": -5..5 or null (null: the estimate),
      "edits": [{"deal_id": "aus-mogami-frigates", "probability": 0.9, "units": 3,
                 "tiv_per_unit": 400 or [low, central, high] or {"low":, "central":, "high":},
                 "delivery_years": [2030, 2031], "remove": false}],
      "added": [{"deal_id": "nz-frigates", "recipient": "NZL", "system": "frigate", "status": "prospect",
                 "order_year": 2027, "units_ordered": 2, "tiv_per_unit": 300, "delivery_years": [2031, 2032],
                 "probability": 0.3, "slip_probability": 0.3}]
    }

Catalogue deals are referenced by id (checked when the scenario is resolved
against the data, with the delivery years: none in an observed year); a
probability outside [0, 1], a negative TIV, a delivery year before the order,
a deal edited twice or an unknown field is a 422 naming the field as sent.

An added deal's every field is honoured or refused: ``sources`` (figure ->
text) and ``reasoning`` are kept; ``units_remaining_range`` ([low, high]) is
the simulated range of the remaining units; ``past_deliveries`` and
``units_remaining`` are refused (the statistical base is fitted on the
history without the catalogue's past deliveries, so a new deal's past cannot
be taken out of it per scenario; the remaining units are ordered minus
delivered). Each figure the request leaves out takes tivcast's default
(probability 0.5, liberalised probability = probability, 1 unit, no slip, not
requiring liberalisation), which the forecast lists as a default assumption.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from forecasting.errors import InvalidInputs, InvalidScenario
from forecasting.pipeline import STATUSES, Deal
from forecasting.prospects import DealEdit, PipelineRules

__all__ = ["check_catalogue", "parse_pipeline"]

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ISO3 = re.compile(r"^[A-Z]{3}$")
_EDIT_KEYS = ("deal_id", "remove", "units", "tiv_per_unit", "delivery_years", "probability")
_ADD_KEYS = ("deal_id", "recipient", "system", "status", "order_year", "units_ordered", "units_delivered",
             "tiv_per_unit", "delivery_years", "probability", "probability_liberalised", "slip_probability",
             "requires_liberalisation", "reasoning", "sources", "units_remaining_range")
_REFUSED = {
    "past_deliveries": "not accepted for an added deal: Japan's statistical base is fitted on its history minus "
    "the catalogue's past deliveries, and a scenario cannot refit it; deliveries in observed years are data "
    "(ingest a new japan-export-pipeline release to add them)",
    "units_remaining": "not accepted: the remaining units are units_ordered - units_delivered; state those",
}
# Defaults of an added deal's figures the request leaves out (figure name in Deal.origin -> request key).
_DEFAULTS = {"probability": "probability", "probability_liberalised": "probability_liberalised",
             "units": "units_ordered", "slip": "slip_probability",
             "requires_liberalisation": "requires_liberalisation"}
_KEYS = ("prospects", "probability_shift", "elasticity", "edits", "added")


def _fail(where: str, expectation: str, value: Any) -> InvalidScenario:
    return InvalidScenario(f"'{where}' must be {expectation}, got {value!r}", field=where)


def _number(value: Any, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise _fail(where, f"a number in [{low:g}, {high:g}]", value)
    return float(value)


def _object(value: Any, where: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "a JSON object", value)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise InvalidScenario(f"unknown field '{where}.{unknown[0]}'; allowed: {', '.join(allowed)}",
                              field=f"{where}.{unknown[0]}")
    return value


def _tiv(value: Any, where: str) -> tuple[float, float, float]:
    if isinstance(value, Mapping):
        value = [value.get("low"), value.get("central"), value.get("high")]
    if isinstance(value, list):
        if len(value) != 3:
            raise _fail(where, "a number or [low, central, high]", value)
        low, central, high = (_number(v, f"{where}[{i}]", 0.0, 1e5) for i, v in enumerate(value))
        if not low <= central <= high:
            raise _fail(where, "ordered low <= central <= high", value)
        return low, central, high
    number = _number(value, where, 0.0, 1e5)
    return number, number, number


def _years(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or len(value) > 30:
        raise _fail(where, "a list of 1 to 30 years", value)
    years: list[int] = []
    for i, y in enumerate(value):
        if isinstance(y, bool) or not isinstance(y, int) or not 1950 <= y <= 2100:
            raise _fail(f"{where}[{i}]", "a year between 1950 and 2100", y)
        if y in years:  # the remaining units are spread over the years in equal parts: a repeat would be merged
            raise _fail(f"{where}[{i}]", f"each year once ({y} is already delivery_years[{years.index(y)}]); "
                        "the remaining units are delivered in equal parts over the years", y)
        years.append(y)
    return tuple(sorted(years))


def _edit(i: int, raw: Any) -> DealEdit:
    where = f"scenario.pipeline.edits[{i}]"
    data = _object(raw, where, _EDIT_KEYS)
    deal_id = data.get("deal_id")
    if not isinstance(deal_id, str) or not _ID.match(deal_id):
        raise _fail(f"{where}.deal_id", "a deal id of the catalogue", deal_id)
    remove = data.get("remove", False)
    if not isinstance(remove, bool):
        raise _fail(f"{where}.remove", "true or false", remove)
    return DealEdit(
        deal_id, remove,
        None if data.get("units") is None else _number(data["units"], f"{where}.units", 0.0, 10_000.0),
        None if data.get("tiv_per_unit") is None else _tiv(data["tiv_per_unit"], f"{where}.tiv_per_unit"),
        None if data.get("delivery_years") is None else _years(data["delivery_years"], f"{where}.delivery_years"),
        None if data.get("probability") is None else _number(data["probability"], f"{where}.probability", 0.0, 1.0),
    )


def _added(i: int, raw: Any) -> Deal:
    where = f"scenario.pipeline.added[{i}]"
    if isinstance(raw, Mapping):
        refused = next((k for k in _REFUSED if k in raw), None)
        if refused is not None:
            raise InvalidScenario(f"'{where}.{refused}' is {_REFUSED[refused]}", field=f"{where}.{refused}")
    data = _object(raw, where, _ADD_KEYS)
    deal_id, recipient = data.get("deal_id"), data.get("recipient")
    if not isinstance(deal_id, str) or not _ID.match(deal_id):
        raise _fail(f"{where}.deal_id", "a lower-case slug", deal_id)
    if not isinstance(recipient, str) or not _ISO3.match(recipient):
        raise _fail(f"{where}.recipient", "an ISO3 code", recipient)
    status = data.get("status", "prospect")
    if status not in STATUSES:
        raise _fail(f"{where}.status", f"one of {', '.join(STATUSES)}", status)
    system = data.get("system", "")
    if not isinstance(system, str) or len(system) > 200:
        raise _fail(f"{where}.system", "a text of at most 200 characters", system)
    order = data.get("order_year")
    if order is not None and (isinstance(order, bool) or not isinstance(order, int) or not 1950 <= order <= 2100):
        raise _fail(f"{where}.order_year", "a year between 1950 and 2100", order)
    committed = status in ("delivering", "ordered")
    p = 1.0 if committed else _number(data.get("probability", 0.5), f"{where}.probability", 0.0, 1.0)
    if committed and data.get("probability", 1.0) != 1.0:
        raise _fail(f"{where}.probability", "1 for a committed deal", data.get("probability"))
    years = _years(data.get("delivery_years"), f"{where}.delivery_years")
    if order is not None and years[0] < order:
        raise _fail(f"{where}.delivery_years", f"no earlier than the order year {order}", list(years))
    units = _number(data.get("units_ordered", 1), f"{where}.units_ordered", 0.0, 10_000.0)
    delivered = _number(data.get("units_delivered", 0), f"{where}.units_delivered", 0.0, units)
    requires = data.get("requires_liberalisation", False)
    if not isinstance(requires, bool):
        raise _fail(f"{where}.requires_liberalisation", "true or false", requires)
    p_liberalised = 1.0 if committed else _number(data.get("probability_liberalised", p),
                                                  f"{where}.probability_liberalised", 0.0, 1.0)
    if not committed and p_liberalised < p:
        raise _fail(f"{where}.probability_liberalised", f"at least the probability ({p:g}): easing the rules makes "
                    "no deal less likely", p_liberalised)
    stated = data.get("sources", {})
    if not isinstance(stated, Mapping) or len(stated) > 20 or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= 1000 for k, v in stated.items()):
        raise _fail(f"{where}.sources", "an object of figure -> source text (at most 20, 1,000 characters each)",
                    stated)
    units_range = data.get("units_remaining_range")
    if units_range is not None:
        if not isinstance(units_range, list) or len(units_range) != 2:
            raise _fail(f"{where}.units_remaining_range", "[low, high]", units_range)
        lo, hi = (_number(v, f"{where}.units_remaining_range[{k}]", 0.0, 10_000.0) for k, v in enumerate(units_range))
        if not lo <= units - delivered <= hi:
            raise _fail(f"{where}.units_remaining_range", f"a range holding the remaining units "
                        f"({units - delivered:g})", units_range)
        units_range = (lo, hi)
    origin = {figure: "default" if key not in data else "request" for figure, key in _DEFAULTS.items()}
    origin |= {"tiv_per_unit": "request", "delivery_years": "request"}
    if committed:
        origin |= {"probability": "request", "probability_liberalised": "request"}  # a committed deal's 1
    try:
        return Deal(deal_id, recipient, system, str(status), units, delivered,
                    _tiv(data.get("tiv_per_unit"), f"{where}.tiv_per_unit"), years, p, p_liberalised, requires,
                    _number(data.get("slip_probability", 0.0), f"{where}.slip_probability", 0.0, 0.95),
                    order_year=order, sources=dict(stated), reasoning=str(data.get("reasoning", ""))[:2000],
                    units_range=units_range, origin=origin)
    except InvalidInputs as exc:
        name = (exc.field or "").rsplit(".", 1)[-1]
        raise InvalidScenario(str(exc), field=f"{where}.{name}" if name in data else where) from None


def check_catalogue(deals: Sequence[Deal]) -> None:
    """The rules across rows of a ``japan-export-pipeline`` table (each row is checked by
    :class:`~forecasting.pipeline.Deal` itself), run at ingest and on every forecast's inputs; raises
    :class:`InvalidInputs` naming ``pipeline.<deal_id>.<column>``.

    A ``depends_on`` (the contract a line hangs on, e.g. the Australian-built Mogami-class frigates on the
    contract of the Japanese-built ones) must name another deal of the table that depends on none itself (one
    level: a contract and its lines); the line may not be more likely than its contract, under today's rules
    or liberalised, nor open where its contract is blocked (every scenario's rule then keeps it at most as
    likely), and a committed line needs a committed contract.
    """
    by_id = {d.deal_id: d for d in deals}
    for deal in deals:
        if deal.depends_on is None:
            continue
        where = f"pipeline.{deal.deal_id}"
        contract = by_id.get(deal.depends_on)
        if contract is None:
            raise InvalidInputs(f"depends_on names {deal.depends_on!r}, which is not a deal of this table",
                                field=f"{where}.depends_on")
        if contract.depends_on is not None:
            raise InvalidInputs(f"depends_on names {contract.deal_id!r}, which itself depends on "
                                f"{contract.depends_on!r}: name the contract itself", field=f"{where}.depends_on")
        if deal.committed and not contract.committed:
            raise InvalidInputs(f"a committed line cannot hang on {contract.deal_id!r}, which is not committed",
                                field=f"{where}.status")
        if deal.probability > contract.probability:
            raise InvalidInputs(f"probability {deal.probability:g} exceeds that of its contract "
                                f"{contract.deal_id!r} ({contract.probability:g})", field=f"{where}.probability")
        if deal.probability_liberalised > contract.probability_liberalised:
            raise InvalidInputs(f"probability_liberalised {deal.probability_liberalised:g} exceeds that of its "
                                f"contract {contract.deal_id!r} ({contract.probability_liberalised:g})",
                                field=f"{where}.probability_liberalised")
        if contract.requires_liberalisation and not deal.requires_liberalisation:
            raise InvalidInputs(f"its contract {contract.deal_id!r} requires liberalisation, so this line does too",
                                field=f"{where}.requires_liberalisation")


def parse_pipeline(raw: Any, base: PipelineRules) -> PipelineRules:
    """The custom scenario's pipeline rules over ``base`` (edits and additions are appended)."""
    data = _object(raw, "scenario.pipeline", _KEYS)
    prospects = data.get("prospects", base.prospects)
    if prospects not in ("none", "baseline", "liberalised"):
        raise _fail("scenario.pipeline.prospects", "'none', 'baseline' or 'liberalised'", prospects)
    shift = _number(data.get("probability_shift", base.probability_shift), "scenario.pipeline.probability_shift",
                    -1.0, 1.0)
    elasticity = data.get("elasticity", base.elasticity)
    if elasticity is not None:
        elasticity = _number(elasticity, "scenario.pipeline.elasticity", -5.0, 5.0)
    edits, added = data.get("edits", []), data.get("added", [])
    if not isinstance(edits, list) or len(edits) > 50:
        raise _fail("scenario.pipeline.edits", "a list of at most 50 edits", edits)
    if not isinstance(added, list) or len(added) > 20:
        raise _fail("scenario.pipeline.added", "a list of at most 20 deals", added)
    new_added = tuple(_added(i, d) for i, d in enumerate(added))
    ids = [d.deal_id for d in (*base.added, *new_added)]
    for i, deal_id in enumerate(ids):
        if deal_id in ids[:i]:
            raise _fail(f"scenario.pipeline.added[{i - len(base.added)}].deal_id", "an id no other added deal has",
                        deal_id)
    new_edits = tuple(_edit(i, e) for i, e in enumerate(edits))
    edited = [e.deal_id for e in (*base.edits, *new_edits)]
    for i, deal_id in enumerate(edited):
        if deal_id in edited[:i]:
            raise InvalidScenario(f"deal {deal_id!r} is edited twice: state every change to a deal (or its removal) "
                                  "in one edit", field=f"scenario.pipeline.edits[{i - len(base.edits)}].deal_id")
    return replace(base, prospects=prospects, probability_shift=shift, elasticity=elasticity,
                   edits=base.edits + new_edits, added=base.added + new_added)
