"""Japan's scenario forecast: deal pipeline + statistical base, over the world forecast.

``exports = base (everything else) + sum of deals (probability x units x TIV per unit, on schedule)``;
``share = 100 x exports / world``. See :mod:`forecasting.pipeline` for the
deal rules and :mod:`forecasting.demand` for world demand.

The difference from the baseline is broken down by cause and the parts add up
exactly (shares; TIV likewise with the obvious changes):

* ``drivers``: the what-if driver changes of a custom scenario (policy,
  budget), through their assumed coefficients, on the base;
* one entry per deal: ``100 x (expected TIV in this scenario - in the baseline) / world_baseline``;
* ``world_demand``: ``100 x deals_this_scenario x (1 / world_this_scenario - 1 / world_baseline)``;
* ``statistical_base``: 0 (the same base in every scenario).

* ``cap``: what the bounds take (the share's 0-100 % or a stated cap), present only when they bind: the
  other parts are those of the unbounded point, so the parts always sum to the total.

The point is the expected value under the deals' probabilities and slip odds, computed exactly
(:func:`forecasting.pipeline.expected_tiv`), on the base's and the world's point forecasts. A prospect is
an either/or outcome (a frigate is delivered in a year or not), so the mean can be a value few paths take and
can lie outside the simulated interval: the interval is not widened to hold it (each year says whether it
does), and each year also serves the median of the paths and the probability that a prospective deal delivers
(:func:`by_year`).

Intervals: 4,000 simulated paths by default, each drawing the base's and the world
total's calibrated errors (inverse-CDF draws from :mod:`forecasting.calibration`,
one level per path for every year, since errors from one origin persist), the
world-demand elasticity from its estimate's distribution (with the estimate's lag structure: a change of
world military expenditure in year t moves world transfers over t..t+2, :meth:`forecasting.demand.Elasticity.
lagged`), and every deal (happens or not, slips, TIV per unit; the lines of one contract together,
:func:`forecasting.pipeline.simulate_deals`). Every source has its own stratified stream seeded by the request's seed
and its name (:func:`forecasting.pipeline.stream`): common random numbers across scenarios and across pipelines
that differ by a deal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

from forecasting.calibration import Calibration, world_beyond
from forecasting.coherent import PanelForecast, base_share
from forecasting.demand import Elasticity
from forecasting.members import member_forecasts
from forecasting.panel import Panel
from forecasting.paths import ResolvedScenario
from forecasting.pipeline import (
    MAX_SLIP_YEARS,
    PIPELINE_COUNTRY,
    Deal,
    expected_tiv,
    simulate_deals,
    stratified,
    stream,
)
from forecasting.prospects import PipelineRules, resolve_deals, rule_text, stated_probability
from forecasting.scenarios import SCENARIOS, ModelSettings, effective_pipeline

__all__ = ["DRAWS", "MODEL_TEXT", "JapanParts", "PipelineResult", "baseline_share", "breakdown", "by_year", "capped",
           "exports_besides_deals", "pipeline_forecast", "statistical_base"]

Array = npt.NDArray[np.float64]
DRAWS = ModelSettings().uncertainty_samples  # simulated paths by default
MODEL_TEXT = ("exports = statistical base (everything else) + deals x probability on their stated schedules with "
              "the stated slip odds (committed deals' too; a deal stated not to slip is held to its schedule); "
              "share = 100 x exports / world total")


@dataclass(frozen=True)
class JapanParts:
    """What Japan's pipeline forecast needs from the fit (target's unit: ``share`` or ``tiv``)."""

    measure: str
    base: Array  # statistical base for everything else, share in percent (horizons 1..30)
    base_spread: float  # its interval scale
    world: Array  # world total forecast, TIV million
    world_spread: float
    calibration: Calibration
    elasticity: Elasticity
    intermittent: bool = False  # the base's history is intermittent: it adds nothing to the lower bound


@dataclass(frozen=True)
class PipelineResult:
    """Point, interval bounds and the parts of one scenario (rows: forecast years)."""

    point: Array
    lower: Array
    upper: Array
    base: Array  # the base after driver what-ifs, share in percent
    world: Array  # world total in this scenario
    deals: dict[str, Array]  # expected TIV per deal
    known: Array  # known deliveries stated by the scenario, TIV million
    raw: Array | None = None  # the point before the bounds (0-100 % of a share, TIV >= 0)
    median: Array | None = None  # median of the simulated paths
    prospect_delivers: Array | None = None  # share of paths in which a prospective deal delivers, per year
    deal_delivers: dict[str, Array] | None = None  # the same per prospective deal
    world_baseline: Array | None = None  # the baseline scenario's world total (world demand moves this one)
    measure: str = "share"  # the target's measure


def exports_besides_deals(panel: Panel, deals: Sequence[Deal]) -> Array:
    """Japan's history (share, percent) minus the pipeline deals' past deliveries: what its base is fitted on."""
    years, share = panel.array(PIPELINE_COUNTRY, "share")
    past: dict[int, float] = {}
    for deal in deals:
        for year, tiv in deal.past_deliveries.items():
            past[year] = past.get(year, 0.0) + tiv
    return np.array([max(v - 100.0 * past.get(y, 0.0) / panel.world[y], 0.0)
                     for y, v in zip(years, share, strict=True)])


def statistical_base(panel: Panel, base: PanelForecast, deals: Sequence[Deal]
                     ) -> tuple[Array, Array, dict[str, Array]]:
    """The statistical base of Japan's exports besides the deals (share, horizons of ``base``), made coherent by
    the panel's reconciliation factor, the history it is fitted on, and its members' forecasts (what the
    response's ``model.members`` shows for Japan's pipeline forecast)."""
    other = exports_besides_deals(panel, deals)
    members = member_forecasts(other, base.horizon, "share")
    forecast = base_share(members, other) * base.factor
    return np.asarray(forecast, dtype=float), other, members


def baseline_share(panel: Panel, base: PanelForecast, deals: Sequence[Deal], other: Array) -> Array:
    """Japan's baseline point share: its statistical base besides the deals (``other``, from
    :func:`statistical_base`) plus the deals' expected deliveries in the built-in baseline (committed deals on
    schedule, prospects at their stated probabilities) over the world forecast; the value Japan's own baseline
    forecast serves."""
    years = [panel.last_year + h for h in range(1, base.horizon + 1)]
    resolved = resolve_deals(deals, effective_pipeline(SCENARIOS["baseline"]))
    total = sum((expected_tiv(d, years, p) for d, p in resolved), np.zeros(len(years)))
    return _combine("share", other, total, base.world)


def _world(parts: JapanParts, resolved: ResolvedScenario, baseline: ResolvedScenario, n: int,
           elasticity: float | Array) -> Array:
    """World total with world demand: the base forecast times exp(elasticity x dlog milex vs the baseline)."""
    years = resolved.years[:n]
    gap = np.zeros(n)
    if resolved.world_milex and baseline.world_milex:
        gap = np.array([math.log(resolved.world_milex[y] / baseline.world_milex[y]) for y in years])
    # The estimate's lag structure (a stated elasticity is a long-run value built up the same way).
    factor = np.exp(np.multiply.outer(np.asarray(elasticity), parts.elasticity.lagged(gap)))
    return np.asarray(parts.world[:n] * factor, dtype=float)


def pipeline_forecast(parts: JapanParts, resolved: ResolvedScenario, baseline: ResolvedScenario,
                      shifted_base: Array, shift: Array, inverse: Any, forward: Any, width: float,
                      seed: int, draws: int = DRAWS) -> PipelineResult:
    """One scenario's point and interval (see the module docstring).

    ``shifted_base`` is the base after the scenario's driver what-ifs
    (``inverse(forward(base) + shift)``); ``forward``/``inverse`` are the
    logit transform of the share, used to move the simulated base the same way.
    """
    years = list(resolved.years)
    n = len(years)
    beta = resolved.elasticity if resolved.elasticity is not None else parts.elasticity.value
    world = _world(parts, resolved, baseline, n, beta)
    deals = {d.deal_id: expected_tiv(d, years, p) for d, p in resolved.deals}
    known = np.array([resolved.known_deliveries.get(y, 0.0) for y in years])
    total = sum(deals.values(), np.zeros(n)) + known
    point = _combine(parts.measure, shifted_base, total, world)
    raw = _combine(parts.measure, shifted_base, total, world, bounded=False)
    # Simulation: one stratified stream per source (common random numbers across scenarios and deal sets).
    base_levels = stratified(stream(seed, "base"), draws)
    world_levels = stratified(stream(seed, "world"), draws)
    if resolved.elasticity is None:
        normal = NormalDist(parts.elasticity.value, parts.elasticity.standard_error) \
            if parts.elasticity.standard_error > 0 else None
        betas = np.full(draws, parts.elasticity.value) if normal is None else \
            np.array([normal.inv_cdf(u) for u in stratified(stream(seed, "elasticity"), draws)])
    else:
        betas = np.full(draws, resolved.elasticity)
    base_draws = np.column_stack([
        parts.base[h] + parts.calibration.draw("share", h + 1, base_levels) * parts.base_spread for h in range(n)])
    base_draws = np.clip(base_draws, 0.0, 100.0)
    if shift.any():
        base_draws = inverse(forward(base_draws) + shift[None, :])
    world_draws = np.column_stack([np.maximum(_world_draw(parts, h + 1, world_levels), parts.world[h] * 0.2)
                                   for h in range(n)])
    world_draws = world_draws * (_world(parts, resolved, baseline, n, betas) / parts.world[:n])
    per_deal = simulate_deals(resolved.deals, years, seed, draws)
    deal_draws = sum(per_deal.values(), np.zeros((draws, n)))
    paths = _combine(parts.measure, base_draws, deal_draws + known[None, :], world_draws)
    q = ((1.0 - width) / 2.0, (1.0 + width) / 2.0)
    lower, upper = np.quantile(paths, q, axis=0)
    if parts.intermittent:  # as for any intermittent history (lower bound 0): the base may deliver nothing
        lower = np.quantile(_combine(parts.measure, np.zeros_like(base_draws), deal_draws + known[None, :],
                                     world_draws), q[0], axis=0)
    # No clamp: the point is a mean and may lie outside the interval (module docstring, by_year).
    prospects = [d.deal_id for d, _ in resolved.deals if not d.committed]
    delivers = {i: (per_deal[i] > 0).mean(axis=0) for i in prospects}
    anyone = np.any([per_deal[i] > 0 for i in prospects], axis=0).mean(axis=0) if prospects else np.zeros(n)
    return PipelineResult(point, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float), shifted_base,
                          world, deals, known, raw, np.asarray(np.median(paths, axis=0), dtype=float),
                          np.asarray(anyone, dtype=float), delivers, np.asarray(parts.world[:n], dtype=float),
                          parts.measure)


def _world_draw(parts: JapanParts, horizon: int, levels: Array) -> Array:
    """The world total's simulated values at ``horizon``, inverse-CDF draws at quantile ``levels``: the point
    plus calibrated errors up to the last calibrated horizon; beyond it, as the served world interval does
    (:func:`forecasting.calibration.world_beyond`), the last horizon's draws grown on their log ratio to the
    point, so the simulation's world spread matches the interval's."""
    point = float(parts.world[horizon - 1])
    last = parts.calibration.last_horizon("world")
    if horizon <= last or point <= 0:
        return np.asarray(point + parts.calibration.draw("world", horizon, levels) * parts.world_spread,
                          dtype=float)
    return world_beyond(point, parts.world_spread, parts.calibration.draw("world", last, levels), horizon, last)


def _combine(measure: str, base_share: Array, deals_tiv: Array, world: Array, bounded: bool = True) -> Array:
    if measure == "share":
        share = base_share + 100.0 * deals_tiv / world
        return np.asarray(np.clip(share, 0.0, 100.0) if bounded else share, dtype=float)
    tiv = base_share * world / 100.0 + deals_tiv
    return np.asarray(np.maximum(tiv, 0.0) if bounded else tiv, dtype=float)


def capped(result: PipelineResult, ceiling: float) -> PipelineResult:
    """``result`` with its point and bounds at most ``ceiling`` (a scenario's stated cap)."""
    if not math.isfinite(ceiling):
        return result
    return replace(result, point=np.minimum(result.point, ceiling), lower=np.minimum(result.lower, ceiling),
                   upper=np.minimum(result.upper, ceiling),
                   median=None if result.median is None else np.minimum(result.median, ceiling))


def by_year(result: PipelineResult, years: Sequence[int], width: float) -> dict[str, Any]:
    """What the point alone hides, per forecast year (``pipeline.by_year``), and the notes that go with it:
    the median of the simulated paths, the probability that a prospective deal (any, and each) delivers, and
    whether the point (a mean) lies inside its interval; a note when it does not, one for the years in which a
    prospect delivers in 20-80 % of the paths (both may be given), one when world demand differs from the
    baseline's (why the deals' share moves), and one for the years from which no deal of the scenario delivers
    any more (the forecast is then the statistical base alone)."""
    n = len(years)
    median = result.median if result.median is not None else result.point
    anyone = result.prospect_delivers if result.prospect_delivers is not None else np.zeros(n)
    each = result.deal_delivers or {}
    inside = [bool(result.lower[i] - 1e-12 <= result.point[i] <= result.upper[i] + 1e-12) for i in range(n)]
    rows = [{"year": y, "median": float(median[i]), "probability_prospect_delivers": float(anyone[i]),
             "probability_delivers": {k: float(v[i]) for k, v in each.items()},
             "point_inside_interval": inside[i]} for i, y in enumerate(years)]
    notes: list[str] = []
    label = f"{round(100 * width):g} %"
    outside = [y for y, ok in zip(years, inside, strict=True) if not ok]
    if outside:
        notes.append(
            f"In {_years_text(outside)} the point lies outside its {label} interval. The point is the expected "
            "value over the deals' probabilities: where a prospect delivers in some paths and not in others it "
            "is a value few paths take, and the interval (quantiles of the paths) is not widened to hold it. "
            "Read it with pipeline.by_year: the median of the paths and the probability that a prospective deal "
            "delivers that year.")
    split = [y for y, p in zip(years, anyone, strict=True) if 0.2 <= p <= 0.8]
    if split:
        notes.append(f"In {_years_text(split)} a prospective deal delivers in 20-80 % of the simulated paths: "
                     "the point is a mean of outcomes with and without that delivery; pipeline.by_year gives the "
                     "median and the probability.")
    notes += _world_demand_note(result, years)
    total = sum(result.deals.values(), np.zeros(n)) + result.known
    active = [i for i in range(n) if total[i] > 1e-9]
    if active and active[-1] < n - 1:
        first = years[active[-1] + 1]
        notes.append(
            f"From {first} no deal of this scenario delivers any more, even with the slips of up to "
            f"{MAX_SLIP_YEARS} years the simulation allows: Japan's forecast is then its statistical base alone, "
            f"{float(result.base[active[-1] + 1]):.3g} % of world exports, which amounts to assuming that Japan "
            "concludes no further major deal; it is a floor of what the catalogue knows, not a forecast that "
            "Japan stops exporting major systems.")
    return {"by_year": rows, "notes": notes}


def _world_demand_note(result: PipelineResult, years: Sequence[int]) -> list[str]:
    """A sentence when this scenario's world total differs from the baseline's (world demand): the deals are
    fixed quantities, so a larger world makes their share smaller (their TIV does not move)."""
    base = result.world_baseline
    if base is None or len(base) != len(years):
        return []
    ratio = result.world / np.where(base > 0, base, 1.0) - 1.0
    if not np.any(np.abs(ratio) > 1e-9):
        return []
    peak = int(np.argmax(np.abs(ratio)))
    i = int(np.argmax(np.abs(ratio) >= 0.995 * abs(ratio[peak])))  # the first year near the largest gap
    size = f"{100 * ratio[i]:+.0f} % against the baseline's by {years[i]}" if abs(ratio[i]) >= 0.005 else \
        f"{100 * ratio[i]:+.2f} % at most, in {years[i]}"
    larger = ratio[i] > 0
    if result.measure == "share":
        effect = ("so the deals' share of it is smaller than in the baseline (and Japan's share lies below the "
                  "baseline's while they deliver)" if larger else
                  "so the deals' share of it is larger than in the baseline")
    else:
        effect = ("so Japan's TIV besides the deals (a share of the world total) moves with it while the deals' "
                  "TIV does not")
    return [f"World transfers differ from the baseline's here ({size}) through world demand "
            "(world_demand_elasticity and the world military expenditure path): Japan's deals are fixed "
            "quantities, ships, radars and missiles at their TIV per unit, which world demand makes no larger "
            f"(a scenario only makes them likelier), {effect}; pipeline.breakdown gives the world_demand part "
            "per year."]


def _years_text(years: Sequence[int]) -> str:
    """2029, 2030, 2031, 2035 -> '2029-2031, 2035'."""
    runs: list[list[int]] = []
    for y in years:
        if runs and y == runs[-1][-1] + 1:
            runs[-1].append(y)
        else:
            runs.append([y])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def breakdown(measure: str, scenario: PipelineResult, baseline: PipelineResult, base_share: Array,
              ceiling: float = math.inf) -> list[dict[str, float]]:
    """Per year: each cause's part of (scenario - baseline) at the point; the parts sum to the total. The
    causes are parts of the unbounded points; what the bounds take (a share's 0-100 %, TIV >= 0, a stated cap,
    ``ceiling``) is the part ``cap``, present only when a bound binds in some year."""
    w0, ws = baseline.world, scenario.world
    ids = list(dict.fromkeys([*baseline.deals, *scenario.deals]))
    zero = np.zeros(len(w0))
    d_s = sum(scenario.deals.values(), zero) + scenario.known
    rows: list[tuple[dict[str, float], float]] = []
    for i in range(len(w0)):
        per_deal = {f"deal:{d}": float(scenario.deals.get(d, zero)[i] - baseline.deals.get(d, zero)[i]) for d in ids}
        known = float(scenario.known[i] - baseline.known[i])
        if measure == "share":
            parts = {"drivers": float(scenario.base[i] - base_share[i]),
                     **{k: 100.0 * v / w0[i] for k, v in per_deal.items()},
                     "known_deliveries": 100.0 * known / w0[i],
                     "world_demand": float(100.0 * d_s[i] * (1.0 / ws[i] - 1.0 / w0[i]))}
        else:
            parts = {"drivers": float((scenario.base[i] - base_share[i]) * w0[i] / 100.0), **per_deal,
                     "known_deliveries": known,
                     "world_demand": float(scenario.base[i] * (ws[i] - w0[i]) / 100.0)}
        parts["statistical_base"] = 0.0
        s_raw = scenario.point if scenario.raw is None else scenario.raw
        b_raw = baseline.point if baseline.raw is None else baseline.raw
        uncapped = float(s_raw[i] - b_raw[i])
        parts["total"] = float(min(scenario.point[i], ceiling) - min(baseline.point[i], ceiling))
        rows.append((parts, parts["total"] - uncapped))
    binds = any(abs(cut) > 1e-12 for _, cut in rows)
    return [{**parts, **({"cap": cut} if binds else {})} for parts, cut in rows]


_REQUEST = "the analyst's added deal in this request (an assumption of the request, not SIPRI's or tivcast's)"


def _probability_source(deal: Deal, p: float, rules: PipelineRules) -> str:
    """Where a deal's probability in this scenario comes from, in words an analyst can quote."""
    origin = deal.origin.get("probability")
    if "probability_contract" in deal.sources:  # a line following its contract's edited probability
        return "derived from the contract's probability: in this request the line " \
            + deal.sources["probability_contract"] + "; the catalogue's probability for the line: " \
            + deal.sources.get("probability", "not stated")
    if origin == "request" and any(e.deal_id == deal.deal_id and e.probability is not None for e in rules.edits):
        return deal.sources["probability"]  # the analyst's edit, naming the catalogue value and the rule overridden
    if deal.committed:
        return deal.sources.get("probability", "committed") if origin is None else f"{_REQUEST}: committed, 1"
    if origin is not None or deal.origin.get("probability_liberalised") is not None:
        stated = f"{_REQUEST}: probability {deal.probability:g}" if origin == "request" else \
            f"not stated in the request: tivcast's default probability for an added deal, {deal.probability:g}"
        if deal.probability_liberalised != deal.probability:
            stated += f" (liberalised {deal.probability_liberalised:g})"
        if stated_probability(deal, rules) is not None:
            return f"{stated}; {deal.sources.get('probability_rule', 'the request states it, so it wins')}"
        return f"{stated}; a probability the request leaves to tivcast's default follows the scenario's " \
            "prospect rule: " + rule_text(deal, p, rules)
    return f"{deal.sources.get('probability', 'the scenario')}; {rule_text(deal, p, rules)}"


def _figure(deal: Deal, figure: str, fallback: str) -> dict[str, Any]:
    """Who states a deal's figure: source, tivcast_own, estimated_or_asserted and origin. ``tivcast_own`` comes
    from structured data: the request's figures are not tivcast's, its defaults are, and a catalogue figure is
    tivcast's own when the dataset's ``tivcast_assumptions`` column names it."""
    origin = deal.origin.get(figure, "catalogue")
    if origin == "request":
        stated = deal.sources.get(figure)
        edited = stated is not None and stated.startswith("the analyst's edit")
        source = stated if edited else _REQUEST + (f"; its stated source: {stated}" if stated else "")
        return {"source": source, "tivcast_own": False, "estimated_or_asserted": "asserted by the request",
                "origin": "request"}
    if origin == "default":
        return {"source": f"not stated in the request: tivcast's default for an added deal, {fallback}",
                "tivcast_own": True, "estimated_or_asserted": "default", "origin": "default"}
    if origin == "derived":  # a contract's line: its probability from the request's contract probability and the
        # catalogue's ratio (the ratio is tivcast's), its TIV per unit the request's contract price (the request's)
        price = figure == "tiv_per_unit"
        return {"source": deal.sources.get(figure, "derived"),
                "tivcast_own": not price and figure in deal.tivcast_figures,
                "estimated_or_asserted": f"derived from the contract's {'TIV per unit' if price else 'probability'}",
                "origin": "derived"}
    source = deal.sources.get(figure, "not stated in the catalogue")
    return {"source": source, "tivcast_own": figure in deal.tivcast_figures, "estimated_or_asserted": "asserted",
            "origin": "catalogue"}


def _deal_assumptions(deal: Deal, p: float, rules: PipelineRules, years_served: Sequence[int]
                      ) -> list[dict[str, Any]]:
    """The assumptions behind one deal, each saying whether it is the catalogue's (SIPRI's, a statement's or
    tivcast's), the request's own or tivcast's default for an added deal."""
    years = list(deal.delivery_years)
    prob = _figure(deal, "probability", f"{deal.probability:g}")
    prob["source"] = _probability_source(deal, p, rules)
    edited_p = prob["origin"] == "request" and not deal.committed
    derived_p = prob["origin"] == "derived"
    units = _figure(deal, "units", f"{deal.units_ordered:g} unit")
    tiv = _figure(deal, "tiv_per_unit", f"{deal.tiv_per_unit[1]:g}")
    delivery = _figure(deal, "delivery_years", "")
    slip = _figure(deal, "slip", f"{deal.slip_probability:g} (no slip)")
    low, central, high = deal.tiv_per_unit
    after = [y for y in years if years_served and y > years_served[-1]]
    before = [y for y in years if years_served and y < years_served[0]]
    delivery_note = f"the simulation lets deliveries slip by up to {MAX_SLIP_YEARS} years; the point is the " \
        "expected value under the slip odds"
    if after:
        delivery_note += f"; {len(after)} of the {len(years)} delivery years fall after this forecast's last year " \
            f"({years_served[-1]}) and count for nothing here (ask a longer horizon to see them)"
    if before:
        delivery_note += f"; deliveries planned in {', '.join(map(str, before))}, before the first forecast year, " \
            f"are counted in {years_served[0]} (the catalogue's schedule is older than the data)"
    out = [
        {"name": f"{deal.deal_id}.probability", "value": p, "unit": "probability", **prob,
         "range": None if edited_p or derived_p else [1.0, 1.0] if deal.committed else
         [0.0, max(deal.probability_liberalised, p)],
         "range_note": "the request's own value: no range stated" if edited_p else
         f"derived: the contract's probability, which the request states, times the line's probability given "
         f"the contract ({deal.depends_on}); it moves with the contract's and has no range of its own"
         if derived_p else
         "committed: SIPRI records the order" if deal.committed and prob["origin"] == "catalogue" else
         "committed: probability 1" if deal.committed else
         "from restriction (no new deals) to the liberalisation scenario's probability"},
        {"name": f"{deal.deal_id}.units_remaining", "value": deal.remaining, "unit": "units", **units,
         "range": None if deal.units_range is None else list(deal.units_range),
         "range_note": None if deal.units_range is not None else
         "the request's own value: no range stated" if units["origin"] == "request" else "as recorded or stated"},
        {"name": f"{deal.deal_id}.tiv_per_unit", "value": central, "unit": "TIV million per unit", **tiv,
         "range": [low, high],
         "range_note": None if high > low or tiv["origin"] == "catalogue" else
         "the request's own value, stated without a range: the simulation holds it fixed"},
        {"name": f"{deal.deal_id}.delivery_years", "value": years, "unit": "years", **delivery,
         "range": [min(years), max(years) + MAX_SLIP_YEARS] if years else None, "range_note": delivery_note},
        {"name": f"{deal.deal_id}.slip_probability", "value": deal.slip_probability, "unit": "per year", **slip,
         "range": None, "range_note": "no published basis for a range: tivcast's judgement, whose effect the "
         "simulated interval carries" if slip["origin"] == "catalogue" else "a stated value"},
        {"name": f"{deal.deal_id}.requires_liberalisation", "value": deal.requires_liberalisation, "unit": "yes/no",
         **_figure(deal, "requires_liberalisation", "false"), "range": None,
         "range_note": "a reading of today's rules, not a quantity" + (
             f"; this request states the deal's probability ({p:g}), which overrides the block in this scenario"
             if deal.requires_liberalisation and rules.prospects != "liberalised" and p > 0 else "")},
    ]
    if deal.past_deliveries:
        past = _figure(deal, "past_deliveries", "")
        out.append({"name": f"{deal.deal_id}.past_deliveries",
                    "value": {str(y): v for y, v in sorted(deal.past_deliveries.items())},
                    "unit": "TIV million by year", **past, "range": None,
                    "range_note": "subtracted year by year from Japan's history before its statistical base is "
                    "fitted, so nothing counts twice: the yearly split moves the base's history"
                    + (" (tivcast's split of SIPRI's total over those years)" if past["tivcast_own"] else "")})
    if deal.depends_on is not None:
        out.append({"name": f"{deal.deal_id}.depends_on", "value": deal.depends_on, "unit": "deal id",
                    "source": f"one programme: the statement that {deal.deal_id}.units_remaining cites "
                    f"(its lines are {deal.depends_on} and this one)", "tivcast_own": False,
                    "estimated_or_asserted": "asserted",
                    "origin": "catalogue", "range": None,
                    "range_note": "one contract: this line happens only in the simulated paths where that deal "
                    "happens (its probability given the contract: this one's over that one's) and draws the same "
                    "TIV per unit; its slips are its own"})
    return out


def _world_milex(resolved: ResolvedScenario, baseline: ResolvedScenario, observed: Mapping[int, float]
                 ) -> tuple[dict[str, Any], bool] | None:
    """The scenario's world military expenditure path as an assumption (yearly real growth, the first year's
    from the last observed one), and whether it is the baseline's."""
    path, base = {**observed, **resolved.world_milex}, baseline.world_milex
    years = [y for y in resolved.years if y in path and y - 1 in path]
    if not years:
        return None
    growth = {str(y): round(path[y] / path[y - 1] - 1.0, 6) for y in years}
    same = all(abs(path[y] - base.get(y, path[y])) < 1e-9 * max(path[y], 1.0) for y in years)
    return {"name": "world_military_expenditure_growth", "value": growth, "unit": "real growth a year",
            "estimated_or_asserted": "asserted", "tivcast_own": True,
            "source": "the baseline's path (the recent trend continued): it moves nothing" if same else
            "this scenario's stated path; world transfers follow its difference from the baseline's path "
            "through world_demand_elasticity",
            "range": None, "range_note": "a scenario is one stated path, not a forecast: compare scenarios for "
            "the range"}, same


_MOVES_NOTHING = (
    ". Here it moves nothing: world transfers follow world military expenditure's departure from the baseline's "
    "path (the baseline's world total is the statistical forecast, which world spending did not improve in the "
    "held-out test), and this scenario's path is the baseline's; state a world military expenditure path (or base "
    "the scenario on demand-surge) for the elasticity to act")


def assumptions(resolved: ResolvedScenario, baseline: ResolvedScenario, rules: PipelineRules,
                elasticity: Elasticity, card_summary: Mapping[str, Any], world_milex: Mapping[int, float]
                ) -> list[dict[str, Any]]:
    """Every assumption of the scenario: value, unit, source, whether it is estimated or asserted, whether it is
    tivcast's own rather than SIPRI's or a published figure, and its range (or why it has none)."""
    stated_elasticity = resolved.elasticity is not None
    milex = _world_milex(resolved, baseline, world_milex)
    moves_nothing = milex is not None and milex[1]
    z95 = NormalDist().inv_cdf(0.975)
    e_range = None if stated_elasticity or not elasticity.estimated else [
        elasticity.value - z95 * elasticity.standard_error, elasticity.value + z95 * elasticity.standard_error]
    out: list[dict[str, Any]] = [
        {"name": "statistical_base", "value": "coherent equal-weight ensemble on Japan's exports minus the "
         "pipeline deals' past deliveries", "unit": "percent of world exports", "estimated_or_asserted": "estimated",
         "tivcast_own": True, "source": "forecasting.coherent; held-out accuracy in the model card",
         "range": None, "range_note": "its calibrated uncertainty is part of the simulated interval",
         "accuracy": card_summary},
        {"name": "world_demand_elasticity",
         "value": elasticity.value if not stated_elasticity else resolved.elasticity,
         "unit": "d log world TIV / d log world military expenditure",
         "estimated_or_asserted": "asserted by the request" if stated_elasticity
         else "estimated" if elasticity.estimated else "asserted: 0, no world military expenditure in the data",
         "tivcast_own": not stated_elasticity,
         **({"origin": "request"} if stated_elasticity else {}),
         "source": elasticity.to_dict() if not stated_elasticity else
         f"the analyst's value in this request (scenario.pipeline.elasticity: {resolved.elasticity:g}; an "
         f"assumption of the request, not tivcast's; it replaces the estimate, {elasticity.value:.3g})"
         + (_MOVES_NOTHING if moves_nothing else ""),
         "standard_error": elasticity.standard_error if not stated_elasticity else None,
         "range": e_range, "range_note": "95 % confidence interval of the estimate (sampling error only: the "
         "specification moves it more, see source.specification_sensitivity); a long-run value, reached over "
         f"years t..t+{elasticity.lag_years} after a change of world military expenditure in year t"
         if e_range is not None else
         f"a stated long-run value, built up over years t..t+{elasticity.lag_years} as the estimate's"
         if stated_elasticity else "not estimated"},
    ]
    if milex is not None:
        out.append(milex[0])
    if resolved.known_deliveries:
        known = {str(y): v for y, v in sorted(resolved.known_deliveries.items())}
        out.append({"name": "known_deliveries", "value": known,
                    "unit": "TIV million", "estimated_or_asserted": "asserted by the request", "tivcast_own": False,
                    "origin": "request", "source": "the request's known_deliveries, added on top of the pipeline's "
                    "deals and the statistical base: deliveries of a pipeline deal (e.g. the radars' 13 TIV million "
                    "a year in 2025-2026) stated here count twice; edit or remove the deal instead",
                    "range": None, "range_note": "stated values, certain in the simulation"})
    described = rules.describe()
    if described:
        out.append({"name": "pipeline_changes", "value": described, "unit": "description",
                    "estimated_or_asserted": "asserted by the request", "tivcast_own": False, "origin": "request",
                    "source": "the request's scenario.pipeline", "range": None,
                    "range_note": "each change's figures are listed as assumptions below"})
    for deal, p in resolved.deals:
        out += _deal_assumptions(deal, p, rules, resolved.years)
    return out
