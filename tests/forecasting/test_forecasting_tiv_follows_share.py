"""A driver what-if moves a supplier's share and its TIV alike: one regression per supplier, on its share, and the
TIV is that share times the world forecast (until model version 2026.12.8 a TIV target had a regression of its own:
doubling the United States' spending lowered its share and raised its TIV by 39 %, past what the world total
allows)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from forecasting.errors import InvalidScenario
from forecasting.inputs import ForecastInputs
from forecasting.model import ModelSpec, fit, predict
from forecasting.output import Forecast
from forecasting.parsing import parse_scenario
from forecasting.series import Target

DRIVER = {"USA": "own_military_expenditure", "JPN": "japan_defence_spending"}


def what_if(inputs_for: Callable[[str], ForecastInputs], code: str, measure: str, factor: float) -> Forecast:
    scenario = parse_scenario({"name": f"spending-x{factor:g}", "changes": [
        {"driver": DRIVER[code], "op": "multiply", "value": factor, "from_year": 2026}]})
    return predict(fit(inputs_for(code), ModelSpec(Target(code, measure), settings=scenario.settings)), scenario, 12)


@pytest.fixture(scope="module")
def world(inputs_for: Callable[[str], ForecastInputs]) -> Forecast:
    return predict(fit(inputs_for("WLD"), ModelSpec(Target("WLD", "tiv"))), "baseline", 12)


@pytest.mark.parametrize(("code", "factor"), [("USA", 2.0), ("USA", 10.0), ("JPN", 2.0)])
def test_the_tiv_what_if_is_the_share_what_if_times_the_world(
    inputs_for: Callable[[str], ForecastInputs], world: Forecast, code: str, factor: float
) -> None:
    share, tiv = what_if(inputs_for, code, "share", factor), what_if(inputs_for, code, "tiv", factor)
    assert any(abs(r.difference[0]) > 1e-6 for r in share.years)  # the what-if moves the share at all
    for s, t, w in zip(share.years, tiv.years, world.years, strict=True):
        assert t.point == pytest.approx(s.point * w.point / 100.0, rel=1e-9), t.year
        assert (t.difference[0] > 0) == (s.difference[0] > 0) or abs(s.difference[0]) < 1e-9, t.year
        assert t.upper <= w.upper + 1e-9, t.year  # a supplier never exports more than the world
        assert t.lower <= t.point <= t.upper or code == "JPN", t.year  # Japan's interval is simulated
    assert tiv.model["transform"]["kind"] == "logit"
    assert "share" in tiv.model["transform"]["used_for"] or code == "JPN"


class TestKnownDeliveries:
    """A known delivery is part of the world total (as Japan's deals are): never above the world forecast."""

    def test_one_above_the_world_forecast_is_refused_naming_its_year(
        self, inputs_for: Callable[[str], ForecastInputs], world: Forecast
    ) -> None:
        scenario = parse_scenario({"name": "huge", "known_deliveries": {"2030": 50_000}})
        fitted = fit(inputs_for("KOR"), ModelSpec(Target("KOR", "tiv"), settings=scenario.settings))
        with pytest.raises(InvalidScenario, match="more than the world total forecast") as refused:
            predict(fitted, scenario, 10)
        assert refused.value.field == "scenario.known_deliveries[2030]"

    def test_the_supplier_s_tiv_stays_at_most_the_world_s(
        self, inputs_for: Callable[[str], ForecastInputs], world: Forecast
    ) -> None:
        scenario = parse_scenario({"name": "large", "known_deliveries": {"2030": 28_000}})
        fitted = fit(inputs_for("KOR"), ModelSpec(Target("KOR", "tiv"), settings=scenario.settings))
        forecast = predict(fitted, scenario, 12)
        for row, w in zip(forecast.years, world.years, strict=True):
            assert row.point <= w.point + 1e-9 and row.upper <= w.upper + 1e-9, row.year
        assert forecast.years[5].point == pytest.approx(world.years[5].point)  # 2030: the whole world's

    def test_the_interval_holds_the_point_and_the_point_holds_the_delivery(
        self, inputs_for: Callable[[str], ForecastInputs]
    ) -> None:
        scenario = parse_scenario({"name": "near-world", "known_deliveries": {"2030": 28_500}})
        fitted = fit(inputs_for("KOR"), ModelSpec(Target("KOR", "tiv"), settings=scenario.settings))
        for row in predict(fitted, scenario, 8).years:
            assert row.lower <= row.point <= row.upper, row.year
            assert row.point >= row.known_delivery - 1e-9, row.year

    def test_one_above_the_world_under_the_scenario_s_world_demand_is_refused(
        self, inputs_for: Callable[[str], ForecastInputs]
    ) -> None:
        """Halving world spending shrinks the world total this scenario forecasts below the delivery."""
        scenario = parse_scenario({"name": "slump", "known_deliveries": {"2030": 25_000}, "changes": [
            {"driver": "world_military_expenditure", "op": "multiply", "value": 0.5, "from_year": 2026}]})
        fitted = fit(inputs_for("KOR"), ModelSpec(Target("KOR", "tiv"), settings=scenario.settings))
        with pytest.raises(InvalidScenario, match="under this scenario's world demand") as refused:
            predict(fitted, scenario, 8)
        assert refused.value.field == "scenario.known_deliveries[2030]"


def test_world_demand_s_effect_on_a_supplier_s_tiv_is_its_whole_difference(
    inputs_for: Callable[[str], ForecastInputs]
) -> None:
    """World spending up by half moves only world demand: its effect, in TIV, is the difference from the
    baseline (it was read through the share's logit and came out 2,836 of 4,618 for the United States)."""
    scenario = parse_scenario({"name": "boom", "changes": [
        {"driver": "world_military_expenditure", "op": "multiply", "value": 1.5, "from_year": 2026}]})
    fitted = fit(inputs_for("USA"), ModelSpec(Target("USA", "tiv"), settings=scenario.settings))
    rows = predict(fitted, scenario, 5).years
    assert any(r.difference[0] > 100 for r in rows)
    for row in rows:
        assert row.effects.get("world_demand", 0.0) == pytest.approx(row.difference[0], rel=1e-9, abs=1e-9), row.year
        assert "world_demand" not in row.components  # a factor on the world's TIV, not on the share's logit
