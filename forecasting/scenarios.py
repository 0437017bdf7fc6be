"""Scenarios: named or custom future driver paths plus model settings.

A scenario says how each driver evolves after its last observation
(:class:`DriverPath`), optionally as what-if changes to its base scenario's
paths (:class:`DriverChange`: add, multiply or set a driver from a year), which
known future deliveries to add, and which model settings to fit with. Custom
scenarios start from a base (``baseline`` unless stated) and override it.
Scenarios are resolved against the data into concrete yearly values by
:func:`forecasting.paths.resolve_scenario` (rules described there); the
resolved values identify a forecast (:mod:`forecasting.keys`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from forecasting.drivers import JAPAN_SPENDING, OWN_MILEX, POLICY, WORLD_MILEX
from forecasting.errors import InvalidScenario
from forecasting.prospects import PipelineRules

__all__ = [
    "SCENARIOS",
    "DriverChange",
    "DriverPath",
    "ModelSettings",
    "Scenario",
    "effective",
    "get_scenario",
    "with_settings",
]

Growth = Literal["linear", "flat", "logistic"]
PathMode = Literal["hold", "level", "growth", "trend"]
ChangeOp = Literal["add", "multiply", "set"]


@dataclass(frozen=True)
class ModelSettings:
    """Settings the model is fitted with; scenarios sharing them share one fit.

    Parameters
    ----------
    growth
        Trend of the Prophet regression whose driver coefficients move a
        scenario away from the baseline (on the transformed scale):
        ``linear``, ``flat`` or ``logistic`` (then ``cap`` is required). The
        baseline itself is the ensemble, which no trend setting changes.
    cap
        A ceiling on the forecast, point and interval bounds, in the target's
        unit (percent for shares, TIV million for TIV): a stated assumption
        ("this country's share will not pass 2 %"); also the saturation level
        of the driver regression's logistic trend. The floor is 0.
    changepoint_prior_scale
        Flexibility of the driver regression's trend (Prophet's default 0.05).
    driver_prior_scale
        Prior standard deviation of a driver's effect per step (+0.1 of the
        policy index, +10 % of spending), on the transformed scale (logit or
        log). The default 0.5 lets one step multiply the odds of the share by
        up to about e = 2.7 (two standard deviations) before the data speak;
        with 30-40 annual points, mostly zeros for Japan, a loose prior lets
        a driver that barely moved in the fitted years take an extreme
        coefficient (with Prophet's default of 10, the mean absolute error of
        the Japan backtest is about 100 times larger).
    drivers
        Drivers to use; ``None`` uses every applicable driver with data.
    zero_offset
        Offset of the transform (see :class:`forecasting.series.Scale`);
        ``None`` uses the documented default.
    uncertainty_samples
        Number of simulated paths behind the intervals of Japan's deal-pipeline
        forecast (4000 by default). Every other forecast's interval is
        conformal, read from past errors, not simulated: there it changes
        nothing (the response says so).
    """

    growth: Growth = "linear"
    cap: float | None = None
    changepoint_prior_scale: float = 0.05
    driver_prior_scale: float = 0.5
    drivers: tuple[str, ...] | None = None
    zero_offset: float | None = None
    uncertainty_samples: int = 4000

    def to_dict(self) -> dict[str, Any]:
        return {
            "growth": self.growth, "cap": self.cap, "changepoint_prior_scale": self.changepoint_prior_scale,
            "driver_prior_scale": self.driver_prior_scale,
            "drivers": None if self.drivers is None else list(self.drivers),
            "zero_offset": self.zero_offset, "uncertainty_samples": self.uncertainty_samples,
        }


@dataclass(frozen=True)
class DriverPath:
    """How one driver evolves after its last observation (module docstring)."""

    mode: PathMode = "hold"
    values: dict[int, float] = field(default_factory=dict)
    fill: Literal["hold", "linear"] = "hold"
    trend_years: int = 10
    # A growth path's return to the trend: from this year on, the trend growth of the last ``trend_years``
    # observed years (the baseline's rate), so the level reached keeps its gap to the baseline's path.
    trend_from: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "values": {str(y): v for y, v in sorted(self.values.items())},
                "fill": self.fill, "trend_years": self.trend_years,
                **({} if self.trend_from is None else {"trend_from": self.trend_from})}


@dataclass(frozen=True)
class DriverChange:
    """A what-if change to the base path: ``op`` by ``value`` from ``from_year`` to ``to_year``.

    In a custom scenario it must touch a forecast year (refused otherwise by
    :func:`forecasting.paths.resolve_scenario`, naming ``from_year`` or ``to_year``).
    """

    driver: str
    op: ChangeOp
    value: float
    from_year: int
    to_year: int | None = None

    def applies(self, year: int) -> bool:
        return self.from_year <= year and (self.to_year is None or year <= self.to_year)

    def apply(self, current: float) -> float:
        if self.op == "add":
            return current + self.value
        if self.op == "multiply":
            return current * self.value
        return self.value

    def to_dict(self) -> dict[str, Any]:
        return {"driver": self.driver, "op": self.op, "value": self.value,
                "from_year": self.from_year, "to_year": self.to_year}


@dataclass(frozen=True)
class Scenario:
    """A named scenario: plain-language meaning, driver paths, changes, settings."""

    name: str
    title: str
    description: str
    base: str | None = "baseline"
    paths: dict[str, DriverPath] = field(default_factory=dict)
    changes: tuple[DriverChange, ...] = ()
    settings: ModelSettings = ModelSettings()
    known_deliveries: dict[int, float] = field(default_factory=dict)
    countries: tuple[str, ...] | None = None  # None: every country
    builtin: bool = False
    pipeline: PipelineRules | None = None  # Japan's deal pipeline; None: as the base scenario

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict; custom scenarios round-trip through ``parse_scenario``."""
        return {
            "name": self.name, "title": self.title, "description": self.description, "base": self.base,
            "drivers": {n: p.to_dict() for n, p in sorted(self.paths.items())},
            "changes": [c.to_dict() for c in self.changes],
            "settings": self.settings.to_dict(),
            "known_deliveries": {str(y): v for y, v in sorted(self.known_deliveries.items())},
            "countries": None if self.countries is None else list(self.countries),
            "builtin": self.builtin,
            "pipeline": None if self.pipeline is None else self.pipeline.to_dict(),
        }


# Japan MOD initial budgets on the Defense Buildup Program basis, 100 million
# yen (oku yen): FY2024 and FY2025 enacted, FY2026 the government draft of
# December 2025, FY2027 the plan's "about 8.9 trillion yen". The baseline
# applies their year-on-year growth to SIPRI's constant-dollar series, i.e. it
# treats nominal-yen growth as real growth (no inflation or exchange-rate
# adjustment); no figure is published beyond FY2027, so spending is then held.
MOD_BUDGET_OKU_YEN: dict[int, float] = {2024: 77_249.0, 2025: 84_748.0, 2026: 88_093.0, 2027: 89_000.0}
_PLAN_RATES = {y: MOD_BUDGET_OKU_YEN[y] / MOD_BUDGET_OKU_YEN[y - 1] - 1.0 for y in (2025, 2026, 2027)}
_PLAN_TEXT = (
    "Japan's defence spending follows the published FY2023-27 Defense Buildup Program: "
    "+9.7 % in FY2025 (enacted), +3.9 % in FY2026 (government draft) and +1.0 % to about "
    "8.9 trillion yen in FY2027, then held flat. These fiscal-year growth rates are applied to "
    "SIPRI's calendar-year series in constant dollars, i.e. nominal yen growth is taken as real growth."
)

_PIPELINE_TEXT = (
    "Japan's exports are its deal pipeline plus a statistical base for everything else: deliveries of "
    "committed deals (the Philippine radars, the PAC-3 MSE missiles for the United States) on their stated "
    "schedules with the stated slip odds (the radars held to SIPRI's 'delivery planned by 2026', 13 TIV million "
    "in each of 2025 and 2026; the missiles may slip, 30 % a year), "
)

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "baseline", "Baseline: committed deals, stated prospects, current rules",
            _PIPELINE_TEXT + "plus each open prospect times its stated probability (Australia's Mogami-class "
            "frigates: 0.75 for the 3 built in Japan, 0.65 for the 8 built in Australia under licence, which SIPRI "
            "counts in the licensor's exports), with deliveries at their expected dates under the stated slip "
            "odds, under today's rules (prospects that the five-category rule blocks count for "
            "nothing). The statistical base and the world total are the served ensemble; world military "
            "expenditure keeps growing at its average real rate of the last ten observed years (with data to "
            "2024: 2014-2024, about 3.3 % a year). " + _PLAN_TEXT + " Another country's forecast is its "
            "statistical base; its own military spending, when used, continues its ten-year trend.",
            base=None,
            paths={
                POLICY: DriverPath("hold"),
                JAPAN_SPENDING: DriverPath("growth", {**_PLAN_RATES, 2028: 0.0}),
                WORLD_MILEX: DriverPath("trend", trend_years=10),
                OWN_MILEX: DriverPath("trend", trend_years=10),
            },
            builtin=True, pipeline=PipelineRules("baseline"),
        ),
        Scenario(
            "liberalisation", "Liberalisation: Japan lifts the five-category limit",
            "As the baseline, but Japan eases its rules further from 2026: the limit of finished-equipment "
            "exports to five non-combat categories is lifted. Every prospect counts at its liberalised "
            "probability (the Mogami-class frigates 0.85 built in Japan, 0.75 built in Australia), and "
            "prospects that today's rule blocks open up "
            "(the illustrative transfer of retired escort ships, 0.5). Hypothetical; budgets and world demand "
            "as in the baseline.",
            countries=("JPN",), builtin=True, pipeline=PipelineRules("liberalised"),
        ),
        Scenario(
            "restriction", "Restriction: committed deals only, no new ones",
            "As the baseline, but no new deal is concluded: committed deals are delivered on their stated "
            "schedules with the stated slip odds and every prospect counts for nothing (as if Japan returned "
            "to its pre-2014 practice for new contracts). "
            "The statistical base and world demand as in the baseline.",
            countries=("JPN",), builtin=True, pipeline=PipelineRules("none"),
        ),
        Scenario(
            "demand-surge", "Demand surge: world military spending grows fast",
            "As the baseline, but world military expenditure grows 8 % a year in real terms from 2025 to 2030 "
            "(about the pace of 2023 and 2024, 6.7 % and 9.4 % in SIPRI's constant-dollar series, 8.0 % on "
            "average, continued for six years), then at the baseline's trend rate (the average of the last ten "
            "observed years, about 3.3 % a year), so spending stays about 30 % above the baseline's path and "
            "world transfers, with the estimated elasticity, about 22 % above the baseline's from 2032 to the "
            "horizon's end (the surge is kept, not faded). World transfers follow through the elasticity "
            "estimated on the history (a long-run value reached two years after a change of spending, as "
            "deliveries lag orders and orders lag budgets; served with its standard error, and the response says "
            "how much other specifications move it), and "
            "every open prospect becomes 10 points more likely. Japan's share lies below the baseline's while "
            "its deals deliver: the deals are fixed quantities (ships, radars, missiles) that the surge makes "
            "only likelier, not larger, while the world total they are a share of grows. A common rise in world "
            "transfers moves no other country's share.",
            paths={WORLD_MILEX: DriverPath("growth", {2025: 0.08}, trend_from=2031)}, builtin=True,
            pipeline=PipelineRules("baseline", probability_shift=0.10),
        ),
    )
}


def get_scenario(name: str) -> Scenario:
    """Return the built-in scenario ``name`` or raise :class:`InvalidScenario`."""
    if name not in SCENARIOS:
        raise InvalidScenario(
            f"unknown scenario {name!r}; built-in scenarios are {', '.join(SCENARIOS)}", field="scenario.name"
        )
    return SCENARIOS[name]


def effective(scenario: Scenario) -> tuple[dict[str, DriverPath], tuple[DriverChange, ...], dict[int, float]]:
    """Paths, changes and deliveries of ``scenario`` merged over its base chain."""
    if scenario.base is None:
        return dict(scenario.paths), scenario.changes, dict(scenario.known_deliveries)
    paths, changes, deliveries = effective(get_scenario(scenario.base))
    return ({**paths, **scenario.paths}, changes + scenario.changes,
            {**deliveries, **scenario.known_deliveries})


def effective_pipeline(scenario: Scenario) -> PipelineRules:
    """The pipeline rules of ``scenario``, inherited from its base chain when not stated."""
    if scenario.pipeline is not None:
        return scenario.pipeline
    if scenario.base is None:
        return PipelineRules("baseline")
    return effective_pipeline(get_scenario(scenario.base))


def countries(scenario: Scenario) -> tuple[str, ...] | None:
    own = scenario.countries
    base = None if scenario.base is None else countries(get_scenario(scenario.base))
    if own is None or base is None:
        return own if base is None else base
    return tuple(c for c in own if c in base)


def with_settings(scenario: Scenario, **changes: Any) -> Scenario:
    """The same driver paths fitted with other settings, as a custom scenario.

    A built-in scenario becomes a custom scenario named ``<name>-custom`` based
    on it, so that it can never be mistaken for the catalogue entry.
    """
    settings = replace(scenario.settings, **changes)
    if not scenario.builtin:
        return replace(scenario, settings=settings)
    return Scenario(f"{scenario.name}-custom", f"{scenario.title} (custom settings)", scenario.description,
                    base=scenario.name, settings=settings)
