"""How a scenario treats Japan's deal pipeline: which prospects count, at what probability, with what edits.

:class:`PipelineRules` is part of a :class:`~forecasting.scenarios.Scenario`;
:func:`resolve_deals` applies it to the catalogue of deals (the
``japan-export-pipeline`` dataset) and returns each deal with its probability
in the scenario. The rules:

``prospects``
    ``"none"`` (committed deals only: ``restriction``), ``"baseline"`` (each
    open prospect at its stated baseline probability; prospects that today's
    five-category rule blocks at 0) or ``"liberalised"`` (each prospect at
    its stated probability under further easing, blocked ones included).
``probability_shift``
    Added to every prospect's probability, clipped to [0, 1]
    (``demand-surge``: +0.10, more buyers in the market).
``edits``
    Per catalogue deal (by id, at most one edit per deal): remove it, or change
    its units, TIV per unit, delivery years or probability. An edited figure is
    the request's own assumption: its source says so and names the catalogue
    value it replaces.
``added``
    New deals stated by the analyst: the request's own assumptions, each figure
    left out marked as tivcast's default.

One probability rule for edits and added deals: **a probability the request
states is the analyst's override and wins**. The scenario's prospect rule
(restriction's 0, the block on a deal that requires liberalisation, the
probability shift) does not apply to it, and the deal's probability
assumption says which rule it overrides. A probability the request leaves
out follows the rule: a catalogue deal's unedited one, and an added deal's
default (0.5). An added deal states its probability under today's rules
(``probability``) and, optionally, under liberalisation
(``probability_liberalised``, else the same): the liberalisation scenario
takes the latter.

Lines of one contract (``Deal.depends_on``): a line whose contract's
probability the request edits keeps its probability given the contract (this
scenario's ratio of the two; where the scenario gives both 0, the
catalogue's baseline ratio), so its probability moves with the contract's; a
line the catalogue prices as its contract takes the contract's edited TIV per
unit (one design, one price) unless the request edits the line's own; a
line's own probability may not exceed its contract's, and a contract may not
be removed while a line hanging on it stays (422).

Deliveries of an edited or added deal must fall in forecast years: a year
already observed is data, not a forecast (422), and so is a year beyond the
model's longest horizon (:data:`MAX_HORIZON`). One deal's yearly deliveries are
bounded by :data:`MAX_YEARLY_TIV`.
``elasticity``
    Overrides the estimated world-demand elasticity (world TIV to world
    military expenditure), see :mod:`forecasting.demand`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from forecasting.errors import InvalidInputs, InvalidScenario
from forecasting.pipeline import Deal

__all__ = ["MAX_HORIZON", "MAX_YEARLY_TIV", "DealEdit", "PipelineRules", "resolve_deals", "rule_text",
           "stated_probability"]

Prospects = Literal["none", "baseline", "liberalised"]

MAX_HORIZON = 30  # the longest forecast horizon the model serves (years after the last observed one)
# One deal's deliveries in one year, TIV million: a third of the world's yearly total of 2020-2024 (about
# 30,000) and three quarters of the largest supplier's (the United States', 13,512 in 2024). Japan's exports
# of 1950-2024 add up to 1,845.
MAX_YEARLY_TIV = 10_000.0


@dataclass(frozen=True)
class DealEdit:
    """A change to one catalogue deal (``None``: keep the catalogue's value)."""

    deal_id: str
    remove: bool = False
    units: float | None = None  # units ordered
    tiv_per_unit: tuple[float, float, float] | None = None
    delivery_years: tuple[int, ...] | None = None
    probability: float | None = None

    def describe(self) -> str:
        if self.remove:
            return f"{self.deal_id} removed"
        changes = [f"{name} {value}" for name, value in (
            ("units", None if self.units is None else f"{self.units:g}"),
            ("tiv_per_unit", None if self.tiv_per_unit is None else
             "/".join(f"{v:g}" for v in sorted(set(self.tiv_per_unit)))),
            ("delivery_years", None if self.delivery_years is None else
             ",".join(str(y) for y in self.delivery_years)),
            ("probability", None if self.probability is None else f"{self.probability:g}")) if value is not None]
        return f"{self.deal_id}: {'; '.join(changes) or 'no change'}"

    def to_dict(self) -> dict[str, Any]:
        return {"deal_id": self.deal_id, "remove": self.remove, "units": self.units,
                "tiv_per_unit": None if self.tiv_per_unit is None else list(self.tiv_per_unit),
                "delivery_years": None if self.delivery_years is None else list(self.delivery_years),
                "probability": self.probability}


@dataclass(frozen=True)
class PipelineRules:
    """A scenario's treatment of the pipeline (module docstring)."""

    prospects: Prospects = "baseline"
    probability_shift: float = 0.0
    edits: tuple[DealEdit, ...] = ()
    added: tuple[Deal, ...] = ()
    elasticity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"prospects": self.prospects, "probability_shift": self.probability_shift,
                "edits": [e.to_dict() for e in self.edits], "added": [added_request(d) for d in self.added],
                "elasticity": self.elasticity}

    def describe(self) -> str:
        """The rules in words, each edit and added deal listed (empty for a built-in scenario's plain rules)."""
        parts = [f"edits: {', '.join(e.describe() for e in self.edits)}"] if self.edits else []
        if self.added:
            parts.append("added deals: " + ", ".join(
                f"{d.deal_id} ({d.recipient}, {d.remaining:g} units at {d.tiv_per_unit[1]:g} TIV million, "
                f"{'-'.join(str(y) for y in sorted({min(d.delivery_years), max(d.delivery_years)}))}, "
                f"probability {d.probability:g})" for d in self.added))
        return "; ".join(parts)


def added_request(deal: Deal) -> dict[str, Any]:
    """An added deal as the request stated it (what ``parse_pipeline`` reads back to the same deal): the
    figures left to tivcast's defaults are left out, as they were."""
    stated = {k for k, v in deal.origin.items() if v == "request"}
    out: dict[str, Any] = {
        "deal_id": deal.deal_id, "recipient": deal.recipient, "system": deal.system, "status": deal.status,
        "order_year": deal.order_year, "units_delivered": deal.units_delivered,
        "tiv_per_unit": list(deal.tiv_per_unit), "delivery_years": list(deal.delivery_years),
        "sources": dict(deal.sources), "reasoning": deal.reasoning,
        "units_remaining_range": None if deal.units_range is None else list(deal.units_range)}
    for figure, key, value in (("units", "units_ordered", deal.units_ordered),
                               ("probability", "probability", deal.probability),
                               ("probability_liberalised", "probability_liberalised", deal.probability_liberalised),
                               ("slip", "slip_probability", deal.slip_probability),
                               ("requires_liberalisation", "requires_liberalisation", deal.requires_liberalisation)):
        if figure in stated:
            out[key] = value
    return out


def probability(deal: Deal, rules: PipelineRules) -> float:
    """The deal's probability in a scenario with ``rules`` (before edits)."""
    if deal.committed:
        return 1.0
    if rules.prospects == "none":
        return 0.0
    if rules.prospects == "baseline":
        stated = 0.0 if deal.requires_liberalisation else deal.probability
    else:
        stated = deal.probability_liberalised
    return min(max(stated + rules.probability_shift, 0.0), 1.0) if stated > 0 else 0.0


def stated_probability(deal: Deal, rules: PipelineRules) -> float | None:
    """An added deal's probability as the request states it for a scenario with ``rules`` (the override, see the
    module docstring); ``None`` when the request leaves it to tivcast's default (then the rule applies) or the
    deal is committed (probability 1)."""
    if deal.committed:
        return None
    if rules.prospects == "liberalised" and "request" in (deal.origin.get("probability"),
                                                          deal.origin.get("probability_liberalised")):
        return deal.probability_liberalised
    if deal.origin.get("probability") == "request":
        return deal.probability
    return None


def rule_text(deal: Deal, p: float, rules: PipelineRules) -> str:
    """How the scenario's prospect rule sets a deal's probability, ``p``, in words."""
    if deal.committed:
        return f"committed, so {p:g}"
    if rules.prospects == "none":
        how = "no new deals: every prospect at 0"
    elif rules.prospects == "liberalised":
        how = f"the liberalised probability, {deal.probability_liberalised:g}"
    elif deal.requires_liberalisation:
        how = "0: today's rules block this prospect"
    else:
        how = f"the baseline probability, {deal.probability:g}"
    if rules.probability_shift and p > 0:
        how += f", shifted by {rules.probability_shift:+g} (the scenario's probability shift)"
    return f"in this scenario {how}, so {p:g}"


def _overrides(deal: Deal, rule: float, stated: float, rules: PipelineRules) -> str:
    same = " (the same value)" if abs(rule - stated) < 1e-12 else ""
    return f"; the analyst's probability overrides this scenario's prospect rule for this deal{same}, which " \
        f"gives {rule_text(deal, rule, rules).removeprefix('in this scenario ')}"


def _recorded_to(catalogue: Sequence[Deal]) -> int | None:
    """The last year the catalogue's register records (its latest past delivery or committed order)."""
    years = [y for d in catalogue for y in d.past_deliveries] + \
        [d.order_year for d in catalogue if d.committed and d.order_year is not None]
    return max(years) if years else None


def _catalogue_text(deal: Deal, figure: str) -> str:
    if figure == "units":
        value = f"{deal.units_ordered:g} ordered ({deal.remaining:g} remaining)"
    elif figure == "tiv_per_unit":
        low, central, high = deal.tiv_per_unit
        value = f"{central:g} TIV million per unit" + (f" (range {low:g}-{high:g})" if high > low else "")
    elif figure == "delivery_years":
        value = ", ".join(str(y) for y in deal.delivery_years) or "none"
    else:
        value = f"{deal.probability:g} (liberalised {deal.probability_liberalised:g})"
    source = deal.sources.get(figure)
    return f"the catalogue's {value}" + (f", whose source is: {source}" if source else "")


def _check_years(deal: Deal, where: str, observed_to: int | None) -> None:
    if observed_to is None:
        return
    early = [y for y in deal.delivery_years if y <= observed_to]
    if early:
        raise InvalidScenario(f"a delivery in {early[0]} falls in an observed year (the data run to {observed_to}): "
                              "deliveries in observed years are data, not a forecast", field=where)
    late = [y for y in deal.delivery_years if y > observed_to + MAX_HORIZON]
    if late:
        raise InvalidScenario(f"a delivery in {late[0]} is beyond the model's longest horizon, "
                              f"{observed_to + MAX_HORIZON} ({MAX_HORIZON} years after the data)", field=where)


def _check_size(deal: Deal, where: str) -> None:
    if deal.delivery_years and deal.remaining / len(deal.delivery_years) * deal.tiv_per_unit[2] > MAX_YEARLY_TIV:
        per_year = deal.remaining / len(deal.delivery_years) * deal.tiv_per_unit[2]
        raise InvalidScenario(
            f"deal {deal.deal_id!r} would deliver {per_year:,.0f} TIV million a year (units {deal.remaining:g} over "
            f"{len(deal.delivery_years)} years at up to {deal.tiv_per_unit[2]:g} each); one deal's yearly "
            f"deliveries are bounded by {MAX_YEARLY_TIV:,.0f} (a third of the world's yearly total)", field=where)


def resolve_deals(catalogue: Sequence[Deal], rules: PipelineRules, first_year: int | None = None
                  ) -> tuple[tuple[Deal, float], ...]:
    """Every deal of the scenario with its probability; edits and additions applied.

    ``first_year`` is the first forecast year (``None``: the year after the last one the catalogue's register
    records). Raises :class:`InvalidScenario` naming the field of the request (``scenario.pipeline.edits[i].units``,
    ``scenario.pipeline.added[i].deal_id``, ...) for an unknown deal id, a deal edited twice (or edited after
    its removal), an edit that makes a deal impossible (a delivery before its order or in an observed year, more
    delivered than ordered, a negative TIV) or implausibly large (:data:`MAX_YEARLY_TIV`).
    """
    by_id = {d.deal_id: d for d in catalogue}
    observed_to = first_year - 1 if first_year is not None else _recorded_to(catalogue)
    chosen: dict[str, tuple[Deal, float]] = {d.deal_id: (d, probability(d, rules)) for d in catalogue}
    seen: dict[str, int] = {}
    for i, edit in enumerate(rules.edits):
        where = f"scenario.pipeline.edits[{i}]"
        if edit.deal_id not in by_id:
            raise InvalidScenario(f"unknown deal {edit.deal_id!r}; the catalogue has {', '.join(by_id) or 'none'}",
                                  field=f"{where}.deal_id")
        if edit.deal_id in seen:
            raise InvalidScenario(f"deal {edit.deal_id!r} is already edited in edits[{seen[edit.deal_id]}]: state "
                                  "every change to a deal (or its removal) in one edit", field=f"{where}.deal_id")
        seen[edit.deal_id] = i
        if edit.remove:
            if any(v is not None for v in (edit.units, edit.tiv_per_unit, edit.delivery_years, edit.probability)):
                raise InvalidScenario("a removed deal takes no other change", field=f"{where}.remove")
            chosen.pop(edit.deal_id, None)
            continue
        deal, p = chosen[edit.deal_id]
        changes: dict[str, Any] = {}
        sources, origin = dict(deal.sources), dict(deal.origin)

        def own(figure: str, value: str, sources: dict[str, str] = sources, origin: dict[str, str] = origin,
                deal: Deal = deal) -> None:
            sources[figure] = f"the analyst's edit in this request: {value} (an assumption of the request, not " \
                f"SIPRI's or tivcast's; it replaces {_catalogue_text(deal, figure)})"
            origin[figure] = "request"

        if edit.units is not None:
            changes["units_ordered"] = edit.units
            changes["units_range"] = None
            own("units", f"{edit.units:g} units ordered")
        if edit.tiv_per_unit is not None:
            changes["tiv_per_unit"] = edit.tiv_per_unit
            low, central, high = edit.tiv_per_unit
            own("tiv_per_unit", f"{central:g} TIV million per unit" + (f" (range {low:g}-{high:g})" if high > low
                                                                        else ""))
        if edit.delivery_years is not None:
            changes["delivery_years"] = edit.delivery_years
            own("delivery_years", ", ".join(str(y) for y in edit.delivery_years))
        if edit.probability is not None:
            own("probability", f"probability {edit.probability:g}")
            sources["probability"] += _overrides(deal, p, edit.probability, rules)
            if deal.committed and edit.probability != 1.0:
                changes |= {"status": "selected", "probability": edit.probability,
                            "probability_liberalised": edit.probability}
            p = edit.probability
        try:
            deal = replace(deal, **changes, sources=sources, origin=origin)
        except InvalidInputs as exc:
            name = (exc.field or "deal").rsplit(".", 1)[-1]
            sent = {"units_delivered": "units", "units_ordered": "units", "units_range": "units"}.get(name, name)
            raise InvalidScenario(str(exc), field=f"{where}.{sent}") from None
        if edit.delivery_years is not None:
            _check_years(deal, f"{where}.delivery_years", observed_to)
        _check_size(deal, f"{where}.{'tiv_per_unit' if edit.tiv_per_unit is not None else 'units'}")
        chosen[edit.deal_id] = (deal, p)
    for i, deal in enumerate(rules.added):
        where = f"scenario.pipeline.added[{i}]"
        if deal.deal_id in by_id:
            raise InvalidScenario(f"deal id {deal.deal_id!r} is already in the catalogue; edit it instead",
                                  field=f"{where}.deal_id")
        _check_years(deal, f"{where}.delivery_years", observed_to)
        _check_size(deal, f"{where}.tiv_per_unit")
        rule, stated = probability(deal, rules), stated_probability(deal, rules)
        if stated is not None:
            deal = replace(deal, sources={**deal.sources, "probability_rule": _overrides(deal, rule, stated, rules)
                                          .removeprefix("; ")})
        chosen[deal.deal_id] = (deal, rule if stated is None else stated)
    _contracts(chosen, by_id, rules)
    return tuple(chosen.values())


def _priced_as_contract(line: Deal, contract: Deal, where: str) -> Deal:
    """``line`` at its contract's edited TIV per unit: a line the catalogue prices as its contract (one design,
    one price, drawn with the contract's in the simulation) keeps that price when the request edits the
    contract's, unless the request edits the line's own."""
    low, central, high = contract.tiv_per_unit
    text = f"follows its contract, {contract.deal_id!r}, whose TIV per unit the request sets to {central:g} TIV " \
        "million" + (f" (range {low:g}-{high:g})" if high > low else "") + ": the catalogue prices the line as " \
        f"its contract (one design, one price); it replaces {_catalogue_text(line, 'tiv_per_unit')}"
    line = replace(line, tiv_per_unit=contract.tiv_per_unit, sources={**line.sources, "tiv_per_unit": text},
                   origin={**line.origin, "tiv_per_unit": "derived"})
    _check_size(line, f"{where}.tiv_per_unit")
    return line


def _contracts(chosen: dict[str, tuple[Deal, float]], catalogue: dict[str, Deal], rules: PipelineRules) -> None:
    """Lines of one contract (module docstring): a line follows its contract's edited probability, and its edited
    TIV per unit where the catalogue prices the two alike; refuses a line above its contract and a contract
    removed under a line that stays."""
    edited = {e.deal_id: i for i, e in enumerate(rules.edits) if e.probability is not None}
    priced = {e.deal_id: i for i, e in enumerate(rules.edits) if e.tiv_per_unit is not None}
    removed = {e.deal_id: i for i, e in enumerate(rules.edits) if e.remove}
    for deal_id, (deal, p) in list(chosen.items()):
        contract_id = deal.depends_on
        if contract_id is None:
            continue
        if contract_id not in chosen:
            if contract_id in removed:
                raise InvalidScenario(
                    f"deal {deal_id!r} hangs on the contract of {contract_id!r}: a line cannot be delivered "
                    f"without its contract; remove {deal_id!r} too (or set its probability)",
                    field=f"scenario.pipeline.edits[{removed[contract_id]}].remove")
            continue
        contract, p_contract = chosen[contract_id]
        if contract_id in priced and deal_id not in priced and deal_id in catalogue \
                and catalogue[deal_id].tiv_per_unit == catalogue[contract_id].tiv_per_unit:
            deal = _priced_as_contract(deal, contract, f"scenario.pipeline.edits[{priced[contract_id]}]")
            chosen[deal_id] = (deal, p)
        if deal_id not in edited and contract_id in edited:
            rule_line, rule_contract = probability(catalogue[deal_id], rules), probability(catalogue[contract_id],
                                                                                            rules)
            if rule_contract > 0:
                given, basis = rule_line / rule_contract, f"this scenario's {rule_line:g} / {rule_contract:g}"
            else:
                line, base = catalogue[deal_id], catalogue[contract_id]
                given = line.probability / base.probability if base.probability > 0 else 0.0
                basis = f"the catalogue's baseline {line.probability:g} / {base.probability:g}, this scenario " \
                    "giving both 0"
            p = min(p_contract * given, 1.0)
            text = f"follows its contract, {contract_id!r}, whose probability the request sets to " \
                f"{p_contract:g}: {p_contract:g} x {given:.3g} (the line's probability given the contract, " \
                f"{basis}), so {p:.3g}"
            chosen[deal_id] = (replace(deal, sources={**deal.sources, "probability_contract": text},
                                       origin={**deal.origin, "probability": "derived"}), p)
        elif p > p_contract + 1e-12:
            at = edited.get(deal_id, edited.get(contract_id))
            raise InvalidScenario(
                f"deal {deal_id!r} has probability {p:g} here, above that of the contract it hangs on, "
                f"{contract_id!r} ({p_contract:g}): a line cannot happen more often than its contract; edit "
                f"{contract_id!r}'s probability too",
                field=f"scenario.pipeline.edits[{at}].probability" if at is not None else "scenario.pipeline")
