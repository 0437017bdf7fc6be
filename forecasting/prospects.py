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
    Per catalogue deal (by id): remove it, or change its units, TIV per unit,
    delivery years or probability.
``added``
    New deals stated by the analyst (always tivcast-user assumptions).
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

__all__ = ["DealEdit", "PipelineRules", "resolve_deals"]

Prospects = Literal["none", "baseline", "liberalised"]


@dataclass(frozen=True)
class DealEdit:
    """A change to one catalogue deal (``None``: keep the catalogue's value)."""

    deal_id: str
    remove: bool = False
    units: float | None = None  # units ordered
    tiv_per_unit: tuple[float, float, float] | None = None
    delivery_years: tuple[int, ...] | None = None
    probability: float | None = None

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
                "edits": [e.to_dict() for e in self.edits], "added": [d.to_dict() for d in self.added],
                "elasticity": self.elasticity}


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


def resolve_deals(catalogue: Sequence[Deal], rules: PipelineRules) -> tuple[tuple[Deal, float], ...]:
    """Every deal of the scenario with its probability; edits and additions applied.

    Raises :class:`InvalidScenario` naming the field for an unknown deal id or
    an edit that makes a deal impossible (a delivery before its order, more
    delivered than ordered, a negative TIV).
    """
    by_id = {d.deal_id: d for d in catalogue}
    chosen: dict[str, tuple[Deal, float]] = {d.deal_id: (d, probability(d, rules)) for d in catalogue}
    for edit in rules.edits:
        where = f"scenario.pipeline.deals.{edit.deal_id}"
        if edit.deal_id not in by_id:
            raise InvalidScenario(f"unknown deal {edit.deal_id!r}; the catalogue has {', '.join(by_id) or 'none'}",
                                  field=where)
        if edit.remove:
            chosen.pop(edit.deal_id, None)
            continue
        deal, p = chosen[edit.deal_id]
        changes: dict[str, Any] = {}
        if edit.units is not None:
            changes["units_ordered"] = edit.units
            changes["units_range"] = None
        if edit.tiv_per_unit is not None:
            changes["tiv_per_unit"] = edit.tiv_per_unit
        if edit.delivery_years is not None:
            changes["delivery_years"] = edit.delivery_years
        try:
            deal = replace(deal, **changes)
        except InvalidInputs as exc:
            raise InvalidScenario(str(exc), field=f"{where}.{(exc.field or 'deal').rsplit('.', 1)[-1]}") from None
        if edit.probability is not None:
            if deal.committed and edit.probability != 1.0:
                deal = replace(deal, status="selected", probability=edit.probability)
            p = edit.probability
        chosen[edit.deal_id] = (deal, p)
    for deal in rules.added:
        if deal.deal_id in chosen:
            raise InvalidScenario(f"deal id {deal.deal_id!r} is already in the catalogue; edit it instead",
                                  field="scenario.pipeline.add")
        chosen[deal.deal_id] = (deal, deal.probability)
    return tuple(chosen.values())
