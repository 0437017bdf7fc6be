"""Drivers: the explanatory series given to Prophet as extra regressors.

Each driver has a documented meaning, unit and source (:data:`DRIVERS`), and
its history comes from the curated data handed in through
:class:`forecasting.inputs.ForecastInputs`:

``export_policy_openness`` (Japan only)
    Japan's arms-export policy regime turned into a number, the *openness
    index* (0 = total ban, 1 = case-by-case licensing as practised by the
    large Western exporters). Derived from the policy timeline (ISO date,
    regime id) with :func:`openness_by_year`; see :data:`REGIMES` for the
    value of each regime and the reasoning.
``japan_defence_spending`` (Japan only)
    Japan's military expenditure, SIPRI, USD million at constant 2023 prices
    (1952 onwards). Enters the model as its natural log, so that a 10 % rise
    has the same effect at any level.
``world_military_expenditure`` (the world total, ``WLD``)
    Global demand: SIPRI world military expenditure, USD billion at constant
    2023 prices. SIPRI publishes no world total before 1988 and none for 1991.
    Enters as its natural log.
``own_military_expenditure`` (countries other than Japan, optional)
    The target country's own military expenditure, SIPRI, USD million at
    constant 2023 prices, when the caller passes it. For Japan the same series
    is ``japan_defence_spending``. Enters as its natural log.

Every driver enters centred on its mean over the fitted years and measured
in steps (+0.1 of the index, +10 % of spending); see :func:`regressor_values`.

Coverage rule: a year in which any driver used by the model has no observed
value is left out of the fit (listed with its reason in the forecast's
history); nothing is back-cast or interpolated. With world military
expenditure the fit therefore starts in 1988 and skips 1991. Choose the
drivers explicitly (``ModelSettings.drivers``) to fit a longer history.

Timing: a driver acts in the same calendar year. In reality orders turn into
deliveries over years (the 2020 Philippine radar contract was delivered in
2023-2024); with some 36 annual points, most of them zero for Japan, a lag
structure cannot be estimated reliably, so none is assumed.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DRIVERS",
    "INPUT_DRIVERS",
    "POLICY",
    "PRE_PRINCIPLES",
    "REGIMES",
    "DriverInfo",
    "Regime",
    "applicable_drivers",
    "openness_by_year",
    "parse_event_date",
]

POLICY = "export_policy_openness"
JAPAN_SPENDING = "japan_defence_spending"
WORLD_MILEX = "world_military_expenditure"
OWN_MILEX = "own_military_expenditure"
PRE_PRINCIPLES = "pre_principles"


@dataclass(frozen=True)
class DriverInfo:
    """What a driver means and how it enters the model."""

    name: str
    title: str
    meaning: str
    unit: str
    source: str
    countries: tuple[str, ...] | None  # None: every country except JPN-only replacements
    regressor: Literal["level", "log"]
    lower: float  # smallest allowed value of a path
    upper: float | None  # largest allowed value of a path

    @property
    def step(self) -> tuple[float, str]:
        """The unit a driver's coefficient and prior refer to: +10 % for spending, +0.1 for the index."""
        return (math.log(1.1), "+10 %") if self.regressor == "log" else (0.1, "+0.1")


DRIVERS: dict[str, DriverInfo] = {
    POLICY: DriverInfo(
        POLICY,
        "Export-policy openness",
        "Japan's arms-export policy regime as an openness index: 0 = total ban (1976), "
        "1 = case-by-case licensing like the large Western exporters. Annual values are "
        "day-weighted averages of the regimes in force during the year.",
        "index 0-1",
        "Derived from the curated Japan arms-export policy timeline",
        ("JPN",),
        "level",
        0.0,
        1.0,
    ),
    JAPAN_SPENDING: DriverInfo(
        JAPAN_SPENDING,
        "Japan's defence spending",
        "Japan's military expenditure; the model uses its natural log.",
        "USD million, constant 2023 prices",
        "SIPRI Military Expenditure Database (2025 release)",
        ("JPN",),
        "log",
        1e-9,
        None,
    ),
    WORLD_MILEX: DriverInfo(
        WORLD_MILEX,
        "World military expenditure",
        "Global demand for arms: SIPRI world military expenditure; the model uses its "
        "natural log. No SIPRI world total exists before 1988 or for 1991.",
        "USD billion, constant 2023 prices",
        "SIPRI Military Expenditure Database (2025 release), regional totals",
        None,
        "log",
        1e-9,
        None,
    ),
    OWN_MILEX: DriverInfo(
        OWN_MILEX,
        "Own military expenditure",
        "The target country's own military expenditure (not used for Japan, where "
        "japan_defence_spending plays this role); the model uses its natural log.",
        "USD million, constant 2023 prices",
        "SIPRI Military Expenditure Database (2025 release)",
        None,
        "log",
        1e-9,
        None,
    ),
}

# Drivers whose history is passed in ``ForecastInputs.drivers`` (the policy
# index is derived from ``ForecastInputs.policy_events`` instead).
INPUT_DRIVERS: tuple[str, ...] = (JAPAN_SPENDING, WORLD_MILEX, OWN_MILEX)


@dataclass(frozen=True)
class Regime:
    """One Japanese arms-export policy regime and its openness index."""

    id: str
    start: str  # ISO date (or month) on which it took effect
    openness: float
    reasoning: str


# The openness index is an ordinal judgement, not an estimate. Anchors: the
# 1976 de facto total ban is 0; 1 would be licensing on the merits of each case
# as practised by the US or France, which Japan has never reached. Each step is
# sized by how much of the market it opened: exceptions for one partner (US)
# add little, general exemptions and the switch from "ban with exceptions" to
# "approval with conditions" add more.
REGIMES: dict[str, Regime] = {
    r.id: r
    for r in (
        Regime(PRE_PRINCIPLES, "1945-01-01", 0.7,
               "Before 1967: export licensing under the export trade control order, no stated "
               "arms-export principles; Japan delivered ships and aircraft abroad."),
        Regime("three_principles_1967", "1967-04-21", 0.5,
               "Three Principles: exports banned to communist countries, embargoed countries "
               "and parties to conflicts; allowed elsewhere in principle, restrained in practice."),
        Regime("de_facto_ban_1976", "1976-02-27", 0.0,
               "Miki cabinet view: exports to all other areas also 'refrained from' - a total ban."),
        Regime("us_technology_exception_1983", "1983-01-14", 0.05,
               "Military technology to the United States exempted; the ban otherwise stands."),
        Regime("bmd_exception_2004", "2004-12", 0.1,
               "Ballistic-missile-defence co-development with the US exempted."),
        Regime("comprehensive_exemptions_2011", "2011-12-27", 0.25,
               "General exemptions for peace contribution and for international joint "
               "development and production with partners."),
        Regime("transfer_principles_2014", "2014-04-01", 0.45,
               "Ban replaced by approval with conditions; finished equipment limited to five "
               "non-combat categories (rescue, transport, warning, surveillance, minesweeping)."),
        Regime("transfer_principles_revised_2023", "2023-12-22", 0.55,
               "Licensed products may go to the licensor country (e.g. Patriot to the US)."),
        Regime("gcap_third_country_2024", "2024-03-26", 0.6,
               "A finished combat system (the GCAP fighter) may go to third countries, "
               "case by case by cabinet decision."),
    )
}


def applicable_drivers(country: str, measure: str = "share") -> tuple[str, ...]:
    """Return the drivers that are meaningful for ``country`` (ISO3) and ``measure``, in model order.

    World military expenditure is world demand: it acts on the world total
    (``WLD``) and so on every TIV forecast, through the elasticity of
    :mod:`forecasting.demand`, not as a regressor, and never on a *share* (a
    common factor cannot raise every share at once). Japan: policy openness and Japan's defence spending.
    Any other country: its own military expenditure, when the caller passes
    it. Japan's policy regime and budget say nothing about, say, Korea's
    exports, so they are not offered there.
    """
    if country == "WLD":
        return ()
    if country == "JPN":
        return (POLICY, JAPAN_SPENDING)
    return (OWN_MILEX,)


def parse_event_date(text: str) -> dt.date:
    """Parse a policy-event date, ``YYYY-MM-DD`` or ``YYYY-MM``.

    A month-precision date (the December 2004 BMD exception) is read as the
    first day of that month, so the year's index moves by at most 1/12 of a
    step from the true day. Raises ``ValueError`` on any other format.
    """
    if len(text) == 7:
        return dt.date.fromisoformat(text + "-01")
    if len(text) == 10:
        return dt.date.fromisoformat(text)
    raise ValueError(f"expected YYYY-MM-DD or YYYY-MM, got {text!r}")


def openness_by_year(events: Sequence[tuple[str, str]], years: Iterable[int]) -> dict[int, float]:
    """Openness index per calendar year from (date, regime id) policy events.

    Parameters
    ----------
    events
        ``(ISO date, regime id)`` pairs; events with an empty regime id (deals,
        strategies) do not change the regime and are ignored. Before the first
        regime event the regime is ``pre_principles``.
    years
        Calendar years wanted.

    Returns
    -------
    dict[int, float]
        Day-weighted mean of the openness of the regimes in force during each
        year (a regime adopted on 1 April counts for 275/365 of that year).
    """
    changes = sorted((parse_event_date(d), r) for d, r in events if r)
    result: dict[int, float] = {}
    for year in years:
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        total = 0.0
        current = PRE_PRINCIPLES
        cursor = start
        for day, regime in changes:
            if day <= start:
                current = regime
                continue
            if day >= end:
                break
            total += (day - cursor).days * REGIMES[current].openness
            cursor, current = day, regime
        total += (end - cursor).days * REGIMES[current].openness
        result[year] = total / (end - start).days
    return result


def regime_in_force(events: Sequence[tuple[str, str]], on: dt.date) -> str:
    """Return the id of the regime in force on ``on``."""
    current = PRE_PRINCIPLES
    for day, regime in sorted((parse_event_date(d), r) for d, r in events if r):
        if day <= on:
            current = regime
    return current


def regressor_centre(name: str, values: Iterable[float]) -> float:
    """Mean over the fitted years of the driver on its regressor scale (log for spending)."""
    scaled = [math.log(v) if DRIVERS[name].regressor == "log" else v for v in values]
    return sum(scaled) / len(scaled)


def regressor_values(name: str, values: Mapping[int, float], centre: float) -> dict[int, float]:
    """Values as they enter Prophet: centred, in steps of +0.1 (index) or +10 % (spending).

    Drivers are not standardised by their own spread: a driver that hardly
    varied in the fitted years would get an enormous scale factor and, at the
    first new value, an extreme effect. In fixed steps, the coefficient prior
    (``ModelSettings.driver_prior_scale``) means the same for every window and
    shrinks a weakly varying driver towards no effect.
    """
    info = DRIVERS[name]
    step = info.step[0]
    if info.regressor == "log":
        return {y: (math.log(v) - centre) / step for y, v in values.items()}
    return {y: (v - centre) / step for y, v in values.items()}
