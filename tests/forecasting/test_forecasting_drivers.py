"""The drivers, the policy-regime index and its derivation from the policy timeline."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import pytest

from forecasting.drivers import DRIVERS, PRE_PRINCIPLES, REGIMES, applicable_drivers, openness_by_year

CONTRACT_REGIMES = {
    "three_principles_1967": "1967-04-21",
    "de_facto_ban_1976": "1976-02-27",
    "us_technology_exception_1983": "1983-01-14",
    "bmd_exception_2004": "2004-12",
    "comprehensive_exemptions_2011": "2011-12-27",
    "transfer_principles_2014": "2014-04-01",
    "transfer_principles_revised_2023": "2023-12-22",
    "gcap_third_country_2024": "2024-03-26",
}
EVENTS = tuple((date, regime) for regime, date in CONTRACT_REGIMES.items())


class TestRegimes:
    def test_the_data_teams_regime_ids_all_exist_with_their_dates(self) -> None:
        for regime, date in CONTRACT_REGIMES.items():
            assert REGIMES[regime].start == date
        assert PRE_PRINCIPLES in REGIMES

    def test_every_regime_has_an_index_in_0_1_and_a_reason(self) -> None:
        for regime in REGIMES.values():
            assert 0.0 <= regime.openness <= 1.0
            assert len(regime.reasoning) > 30

    def test_the_1976_ban_is_the_least_open_regime(self) -> None:
        assert REGIMES["de_facto_ban_1976"].openness == min(r.openness for r in REGIMES.values())

    def test_each_post_1976_step_opens_further(self) -> None:
        order = list(CONTRACT_REGIMES)[1:]
        values = [REGIMES[r].openness for r in order]
        assert values == sorted(values)

    def test_bundled_timeline_uses_only_known_ids(self, data_rows: Callable[[str], list[dict[str, str]]]) -> None:
        ids = {row["regime_id"] for row in data_rows("japan_arms_export_policy_timeline.csv")}
        assert ids - {""} == set(CONTRACT_REGIMES)


class TestOpennessByYear:
    def test_before_the_first_event_is_pre_principles(self) -> None:
        assert openness_by_year(EVENTS, [1960])[1960] == REGIMES[PRE_PRINCIPLES].openness

    def test_a_full_year_under_one_regime_takes_its_index(self) -> None:
        assert openness_by_year(EVENTS, [1980])[1980] == REGIMES["de_facto_ban_1976"].openness

    def test_a_change_year_is_day_weighted(self) -> None:
        before, after = REGIMES["comprehensive_exemptions_2011"], REGIMES["transfer_principles_2014"]
        days_before = (dt.date(2014, 4, 1) - dt.date(2014, 1, 1)).days
        expected = (days_before * before.openness + (365 - days_before) * after.openness) / 365
        assert openness_by_year(EVENTS, [2014])[2014] == pytest.approx(expected)

    def test_month_precision_dates_start_on_the_first(self) -> None:
        value = openness_by_year(EVENTS, [2004])[2004]
        low, high = REGIMES["us_technology_exception_1983"].openness, REGIMES["bmd_exception_2004"].openness
        assert value == pytest.approx((335 * low + 31 * high) / 366)

    def test_events_without_a_regime_are_ignored(self) -> None:
        with_noise = (*EVENTS, ("2016-04-26", ""), ("2025-08-05", ""))
        assert openness_by_year(with_noise, range(2010, 2026)) == openness_by_year(EVENTS, range(2010, 2026))


class TestDriverCatalogue:
    def test_every_driver_documents_meaning_unit_and_source(self) -> None:
        for info in DRIVERS.values():
            assert info.meaning
            assert info.unit
            assert info.source
            assert info.title
            json.dumps(info.__dict__)

    def test_japan_gets_its_policy_and_budget(self) -> None:
        assert applicable_drivers("JPN") == ("export_policy_openness", "japan_defence_spending")

    def test_other_countries_get_their_own_spending(self) -> None:
        assert applicable_drivers("KOR") == ("own_military_expenditure",)

    def test_world_spending_is_no_regressor_of_the_world_total(self) -> None:
        assert applicable_drivers("WLD", "tiv") == ()  # it acts through the estimated elasticity
