"""Scenario resolution: how stated driver paths become concrete yearly values.

Path rules, applied to the years after a driver's last observation (an
observed value always supersedes a scenario value, and this is noted):

* ``hold``: the last observed value (for the policy index: the regime in
  force at the end of the last observed year) is carried forward.
* ``level``: stated levels; between stated years the last level holds
  (``fill="hold"``, a step path) or is interpolated linearly from the last
  observation or stated level (``fill="linear"``), as the scenario says.
* ``growth``: stated annual growth rates (0.05 = 5 %); a rate holds until the
  next stated year; before the first stated year the rate is 0.
* ``trend``: the compound average growth of the last ``trend_years`` observed
  years, continued.
* ``growth`` with ``trend_from``: the stated rates until ``trend_from``, then
  the ``trend`` rate (the baseline's), so the level the stated rates reached
  keeps its ratio to the baseline's path instead of fading towards it.

What-if changes (:class:`~forecasting.scenarios.DriverChange`) are applied
afterwards, in order: ``add`` or ``multiply`` the path's value, or ``set``
it, from ``from_year`` (to ``to_year`` if given), never to observed years.
A custom scenario's change must touch a forecast year (``from_year`` not after
the last, ``to_year`` not before the first; a change partly inside them
applies to the years inside), as its known deliveries must lie in them.
The result must stay inside the driver's range. A note flags any value
outside the range seen in the fitted years: its effect is an extrapolation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from forecasting.drivers import DRIVERS, WORLD_MILEX
from forecasting.errors import InvalidScenario
from forecasting.pipeline import PIPELINE_COUNTRY, Deal
from forecasting.prospects import PipelineRules, resolve_deals
from forecasting.scenarios import (
    DriverPath,
    ModelSettings,
    Scenario,
    countries,
    effective,
    effective_pipeline,
    get_scenario,
)

if TYPE_CHECKING:
    from forecasting.keys import Design

__all__ = ["ResolvedScenario", "check_bounds", "path_values", "resolve_scenario"]



def path_values(name: str, path: DriverPath, observed: Mapping[int, float], start_value: float,
                years: range) -> tuple[dict[int, float], list[str]]:
    """Values of ``path`` for the ``years`` after the driver's last observation.

    Parameters
    ----------
    name
        Driver name (for notes).
    path
        The stated path.
    observed
        The driver's observed values by year (not empty).
    start_value
        Value the path starts from (the last observation; for the policy index
        the regime in force at the end of the last observed year).
    years
        Forecast years; years up to the last observation are skipped.

    Returns
    -------
    tuple
        Values by year, and notes stating the assumptions used.
    """
    last = max(observed)
    notes: list[str] = []
    stated = dict(sorted(path.values.items()))
    if any(y <= last for y in stated):
        notes.append(f"{name}: observed values up to {last} supersede the scenario's values for those years")
    rate = trend = 0.0
    if path.mode == "trend" or (path.mode == "growth" and path.trend_from is not None):
        first = min((y for y in observed if y >= last - path.trend_years), default=last)
        trend = (observed[last] / observed[first]) ** (1.0 / (last - first)) - 1.0 if last > first else 0.0
        rate = trend if path.mode == "trend" else 0.0
        notes.append(f"{name}: trend growth {100 * trend:.2f} % a year ({first}-{last} average), continued"
                     if path.mode == "trend" else
                     f"{name}: from {path.trend_from} the trend growth {100 * trend:.2f} % a year ({first}-{last} "
                     "average, the baseline's rate), so the level the stated rates reached keeps its gap to the "
                     "baseline's path")
    unit = DRIVERS[name].unit if name in DRIVERS else ""
    notes.append(f"{name}: {path.mode} path from the last observation ({last}: {observed[last]:.6g}"
                 + (f" {unit}" if unit else "")
                 + (f", carried forward as {start_value:.6g}" if start_value != observed[last] else "") + ")")
    anchors = [(last, start_value)] + [(y, v) for y, v in stated.items() if y > last]
    values: dict[int, float] = {}
    value = start_value
    for year in range(last + 1, years.stop):
        if path.mode == "growth":
            rate = trend if path.trend_from is not None and year >= path.trend_from else \
                next((v for y, v in reversed(stated.items()) if y <= year), 0.0)
        if path.mode in ("growth", "trend"):
            value *= 1.0 + rate
        elif path.mode == "level":
            value = _level(anchors, year, path.fill)
        if year in years:
            values[year] = value
    return values, notes


def _level(anchors: list[tuple[int, float]], year: int, fill: str) -> float:
    before = [(y, v) for y, v in anchors if y <= year]
    after = [(y, v) for y, v in anchors if y > year]
    y0, v0 = before[-1]
    if fill == "hold" or not after or y0 == year:
        return v0
    y1, v1 = after[0]
    return v0 + (v1 - v0) * (year - y0) / (y1 - y0)


def check_bounds(name: str, series: Mapping[int, float], where: str) -> None:
    """Raise :class:`InvalidScenario` (``field=where``) if a value leaves the driver's range."""
    info = DRIVERS[name]
    for year, value in series.items():
        if not math.isfinite(value) or value < info.lower or (info.upper is not None and value > info.upper):
            high = "" if info.upper is None else f" and at most {info.upper:g}"
            raise InvalidScenario(
                f"{name} would be {value:g} in {year}; it must be at least {info.lower:g}{high} ({info.unit})",
                field=where,
            )


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario turned into concrete yearly driver values for the forecast years."""

    name: str
    title: str
    description: str
    settings: ModelSettings
    years: tuple[int, ...]
    drivers: dict[str, dict[int, float]]
    known_deliveries: dict[int, float]
    notes: tuple[str, ...] = ()
    deals: tuple[tuple[Deal, float], ...] = ()  # Japan's pipeline in this scenario, with probabilities
    world_milex: dict[int, float] = field(default_factory=dict)  # world demand path (Japan's model)
    elasticity: float | None = None  # stated world-demand elasticity; None: the estimate

    def to_dict(self) -> dict[str, Any]:
        """Canonical content (notes excluded: they explain, they do not define)."""
        out = {
            "name": self.name, "title": self.title, "description": self.description,
            "settings": self.settings.to_dict(), "years": list(self.years),
            "drivers": {n: {str(y): v for y, v in sorted(s.items())} for n, s in sorted(self.drivers.items())},
            "known_deliveries": {str(y): v for y, v in sorted(self.known_deliveries.items())},
        }
        if self.deals or self.world_milex:
            out["pipeline"] = {"deals": [{**d.to_dict(), "scenario_probability": p} for d, p in self.deals],
                               "world_military_expenditure": {str(y): v for y, v in sorted(self.world_milex.items())},
                               "elasticity": self.elasticity}
        return out


def resolve_scenario(scenario: Scenario, d: Design, horizon: int) -> ResolvedScenario:
    """Turn ``scenario`` into values of the drivers used by design ``d`` for the forecast years.

    Parameters
    ----------
    scenario
        The scenario as stated (built-in or parsed), merged with its base.
    d
        The design (drivers used, their observations, the forecast origin).
    horizon
        Number of forecast years after ``d.history.last_year``.

    Returns
    -------
    ResolvedScenario
        Values of each used driver for every forecast year (observed values
        where the driver is observed), known deliveries, settings and notes.
    """
    allowed = countries(scenario)
    if allowed is not None and d.target.country not in allowed:
        raise InvalidScenario(
            f"scenario {scenario.name!r} applies to {', '.join(allowed)} only, not {d.target.country}",
            field="scenario.name",
        )
    _check_pipeline_applies(scenario, d.target.country, d.target.measure, bool(d.world_milex))
    used = d.settings.drivers or ()
    _check_applicable(scenario, (*used, WORLD_MILEX) if d.world_milex else used)
    paths, changes, deliveries = effective(scenario)
    own_from = len(changes) - len(scenario.changes)
    years = range(d.history.last_year + 1, d.history.last_year + horizon + 1)
    _check_changes_in_years(scenario, years)
    resolved: dict[str, dict[int, float]] = {}
    notes: list[str] = list(d.notes)
    for name in used:
        observed = d.observed[name]
        future, path_notes = path_values(name, paths.get(name, DriverPath()), observed, d.hold_values[name], years)
        notes += path_notes
        series = {y: observed[y] if y in observed else future[y] for y in years}
        check_bounds(name, series, f"scenario.drivers.{name}")
        for i, change in enumerate(changes):
            if change.driver == name:
                series = {y: change.apply(v) if change.applies(y) and y not in observed else v
                          for y, v in series.items()}
                check_bounds(name, series, f"scenario.changes[{i - own_from}]" if i >= own_from else "scenario.base")
        notes += _range_note(name, series, [observed[p.year] for p in d.history.fit_points])
        resolved[name] = series
    outside = [y for y in deliveries if y not in years]
    if outside:
        raise InvalidScenario(
            f"known deliveries in {outside[0]} fall outside the forecast years {years.start}-{years.stop - 1}",
            field=f"scenario.known_deliveries[{outside[0]}]",
        )
    deals: tuple[tuple[Deal, float], ...] = ()
    world: dict[int, float] = {}
    rules = effective_pipeline(scenario)
    if d.pipeline:
        deals = resolve_deals(d.pipeline, rules, years.start)  # a delivery in an observed year is refused
    if d.world_milex:
        future, world_notes = path_values(WORLD_MILEX, paths.get(WORLD_MILEX, DriverPath()), d.world_milex,
                                          d.world_milex[max(d.world_milex)], years)
        world = {y: d.world_milex[y] if y in d.world_milex else future[y] for y in years}
        for i, change in enumerate(changes):
            if change.driver == WORLD_MILEX:
                world = {y: change.apply(v) if change.applies(y) and y not in d.world_milex else v
                         for y, v in world.items()}
                check_bounds(WORLD_MILEX, world, f"scenario.changes[{i - own_from}]" if i >= own_from
                             else "scenario.base")
        notes += world_notes
    if rules.elasticity is not None and d.target.country != PIPELINE_COUNTRY and world:
        notes.append(f"world-demand elasticity: {rules.elasticity:g}, asserted by the request "
                     "(scenario.pipeline.elasticity), not the estimate model.world_demand describes; world "
                     "transfers follow the scenario's world military expenditure path with it, built up over the "
                     "estimate's lag years, and its bounds carry no uncertainty of the elasticity")
    return ResolvedScenario(scenario.name, scenario.title, scenario.description, d.settings, tuple(years),
                            resolved, dict(sorted(deliveries.items())), tuple(notes), deals, world,
                            rules.elasticity)


def _check_changes_in_years(scenario: Scenario, years: range) -> None:
    """A custom scenario's change that touches no forecast year would change nothing: refused, naming the
    year that lies outside (a built-in's changes are its fixed story, applied to whatever years they reach)."""
    if scenario.builtin:
        return
    span = f"the forecast years {years.start}-{years.stop - 1}"
    for i, change in enumerate(scenario.changes):
        if change.from_year >= years.stop:
            raise InvalidScenario(
                f"change {i} ({change.op} {change.driver}) starts in {change.from_year}, after {span}: it would "
                "change nothing; start it within them or forecast a longer horizon",
                field=f"scenario.changes[{i}].from_year",
            )
        if change.to_year is not None and change.to_year < years.start:
            raise InvalidScenario(
                f"change {i} ({change.op} {change.driver}) ends in {change.to_year}, before {span}: it would "
                "change nothing; end it within them",
                field=f"scenario.changes[{i}].to_year",
            )


def _range_note(name: str, series: Mapping[int, float], fitted: list[float]) -> list[str]:
    low, high = min(fitted), max(fitted)
    outside = [v for v in series.values() if not low <= v <= high]
    if not outside:
        return []
    return [f"{name}: scenario values up to {max(outside, key=lambda v: abs(v - (low + high) / 2)):.4g} lie "
            f"outside the range of the fitted years ({low:.4g}-{high:.4g}); their effect is extrapolated"]


def _check_pipeline_applies(scenario: Scenario, country: str, measure: str, world_milex: bool) -> None:
    """A custom scenario's ``pipeline`` part is Japan's deal pipeline: for any other target its deals and
    prospect rules would be ignored, so a stated change there is refused rather than served under a key of its
    own (a ``pipeline`` that changes nothing of its base's rules passes). Its ``elasticity`` is the world-demand
    channel: it applies to every target that world demand moves (``world_demand``: a TIV target, the world
    total's included, with world military expenditure in the data) and is refused for the others."""
    world_demand = measure == "tiv" and world_milex
    if country == PIPELINE_COUNTRY or scenario.builtin or scenario.pipeline is None:
        return
    base = PipelineRules("baseline") if scenario.base is None else effective_pipeline(get_scenario(scenario.base))
    stated = scenario.pipeline
    if replace(stated, elasticity=base.elasticity) != base:
        raise InvalidScenario(
            f"scenario.pipeline applies to {PIPELINE_COUNTRY} only (Japan's deal pipeline: its deals and prospect "
            f"rules); {country}'s forecast holds none of these deals and would ignore them: remove them or "
            f"forecast {PIPELINE_COUNTRY}" + (" (scenario.pipeline.elasticity alone applies to this forecast: it "
                                              "moves world transfers)" if world_demand else ""),
            field="scenario.pipeline")
    if stated.elasticity != base.elasticity and not world_demand:
        raise InvalidScenario(
            f"scenario.pipeline.elasticity moves world transfers, so it applies to TIV forecasts (WLD's "
            f"included) and to {PIPELINE_COUNTRY}'s share; {country}'s share would ignore it (a common rise in "
            "world transfers moves no other country's share): forecast the measure 'tiv' or remove it"
            if measure != "tiv" else
            "scenario.pipeline.elasticity needs world military expenditure in the data, which these inputs lack: "
            "without it world demand moves nothing",
            field="scenario.pipeline.elasticity")


def _check_applicable(scenario: Scenario, used: tuple[str, ...]) -> None:
    """Every driver a custom scenario names must be used (world demand counts for Japan's pipeline model)."""
    stated = [(f"scenario.drivers.{n}", n) for n in scenario.paths]
    stated += [(f"scenario.changes[{i}].driver", c.driver) for i, c in enumerate(scenario.changes)]
    for where, name in stated:
        if name not in used and not scenario.builtin:
            raise InvalidScenario(
                f"driver {name!r} is not used by this model (drivers used: {', '.join(used) or 'none'})",
                field=where,
            )
