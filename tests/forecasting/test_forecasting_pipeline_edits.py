"""Custom pipeline edits as an analyst's review read them (model version 2026.12.9): repricing the frigate
reprices every ship of the one design, a stated elasticity is the request's own figure and says when it moves
nothing, and a delivery year given twice is refused rather than merged."""

from __future__ import annotations

import pytest

from forecasting.errors import InvalidScenario
from forecasting.model import FittedModel, predict
from forecasting.output import Forecast
from forecasting.parsing import parse_scenario
from tests.forecasting.conftest import assumptions, pipeline

JAPANESE, AUSTRALIAN = "aus-mogami-frigates", "aus-mogami-frigates-australian-built"


def expected(forecast: Forecast, deal_id: str) -> dict[str, float]:
    deal = next(d for d in pipeline(forecast)["deals"] if d["deal_id"] == deal_id)
    return {y: float(v) for y, v in deal["expected_tiv"].items()}


class TestRepricingAContract:
    def test_the_licence_built_ships_take_the_contract_s_edited_price(self, japan_fit: FittedModel) -> None:
        base = predict(japan_fit, "baseline", horizon=16)
        custom = parse_scenario({"name": "cheaper", "base": "baseline", "pipeline": {
            "edits": [{"deal_id": JAPANESE, "tiv_per_unit": [300, 300, 300]}]}})
        cheaper = predict(japan_fit, custom, horizon=16)
        before, after = expected(base, AUSTRALIAN), expected(cheaper, AUSTRALIAN)
        for year in ("2034", "2036", "2038"):  # every ship of the line at 300 instead of 400
            assert after[year] == pytest.approx(before[year] * 300 / 400, rel=1e-9)
        line = assumptions(cheaper)[f"{AUSTRALIAN}.tiv_per_unit"]
        assert line["value"] == 300 and line["origin"] == "derived" and line["tivcast_own"] is False
        assert line["estimated_or_asserted"] == "derived from the contract's TIV per unit"
        assert "one design, one price" in line["source"] and JAPANESE in line["source"]
        breakdown = {r["year"]: r for r in pipeline(cheaper)["breakdown"]}
        assert breakdown[2036][f"deal:{AUSTRALIAN}"] < 0  # the line's share of the difference, not 0

    def test_the_line_s_own_edited_price_wins(self, japan_fit: FittedModel) -> None:
        custom = parse_scenario({"name": "two-prices", "base": "baseline", "pipeline": {"edits": [
            {"deal_id": JAPANESE, "tiv_per_unit": [300, 300, 300]},
            {"deal_id": AUSTRALIAN, "tiv_per_unit": [200, 200, 200]}]}})
        line = assumptions(predict(japan_fit, custom, horizon=16))[f"{AUSTRALIAN}.tiv_per_unit"]
        assert line["value"] == 200 and line["origin"] == "request"


class TestAStatedElasticity:
    def test_it_is_the_request_s_figure_not_tivcast_s(self, japan_fit: FittedModel) -> None:
        custom = parse_scenario({"name": "el", "base": "demand-surge", "pipeline": {"elasticity": 1.0}})
        stated = assumptions(predict(japan_fit, custom, horizon=10))["world_demand_elasticity"]
        assert (stated["value"], stated["origin"], stated["tivcast_own"]) == (1.0, "request", False)
        assert stated["estimated_or_asserted"] == "asserted by the request"
        assert "replaces the estimate, 0.742" in stated["source"] and "moves nothing" not in stated["source"]
        estimated = assumptions(predict(japan_fit, "demand-surge", horizon=10))["world_demand_elasticity"]
        assert estimated["tivcast_own"] is True and estimated["estimated_or_asserted"] == "estimated"

    def test_on_the_baseline_s_spending_path_it_says_it_moves_nothing(self, japan_fit: FittedModel) -> None:
        base = predict(japan_fit, "baseline", horizon=10)
        custom = predict(japan_fit, parse_scenario({"name": "el2", "base": "baseline",
                                                    "pipeline": {"elasticity": 2.0}}), horizon=10)
        assert [r.point for r in custom.years] == pytest.approx([r.point for r in base.years], abs=1e-12)
        source = assumptions(custom)["world_demand_elasticity"]["source"]
        assert "moves nothing" in source and "departure from the baseline's path" in source


def test_a_delivery_year_given_twice_is_refused_naming_it() -> None:
    with pytest.raises(InvalidScenario) as refused:
        parse_scenario({"name": "twice", "base": "baseline", "pipeline": {"added": [
            {"deal_id": "x-one", "recipient": "AUS", "system": "x", "order_year": 2027, "units_ordered": 3,
             "tiv_per_unit": 10, "delivery_years": [2029, 2029, 2030]}]}})
    assert refused.value.field == "scenario.pipeline.added[0].delivery_years[1]"
    assert "each year once" in str(refused.value)
    with pytest.raises(InvalidScenario) as edited:
        parse_scenario({"name": "twice", "base": "baseline", "pipeline": {"edits": [
            {"deal_id": JAPANESE, "delivery_years": [2030, 2031, 2030]}]}})
    assert edited.value.field == "scenario.pipeline.edits[0].delivery_years[2]"
