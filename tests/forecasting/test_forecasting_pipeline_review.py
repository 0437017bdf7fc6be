"""Japan's pipeline scenarios as an analyst defends them: who states each figure, licensed production counted as
SIPRI counts it, added deals' fields honoured, a breakdown that always sums, an exact expected point and
simulation bounds that are not noise."""

from __future__ import annotations

from typing import Any

import pytest

from forecasting.inputs import ForecastInputs
from forecasting.model import FittedModel, ModelSpec, fit, predict
from forecasting.output import Forecast
from forecasting.parsing import parse_scenario
from forecasting.series import Target
from tests.forecasting.conftest import assumptions


def custom(japan_fit: FittedModel, pipeline: dict[str, Any], **extra: Any) -> Forecast:
    return predict(japan_fit, parse_scenario({"name": "x", "pipeline": pipeline, **extra}), horizon=10)


class TestWhoStatesAFigure:
    def test_an_edited_figure_is_the_request_s_not_sipri_s(self, japan_fit: FittedModel) -> None:
        listed = assumptions(custom(japan_fit, {"edits": [
            {"deal_id": "phl-jfps3-radars", "tiv_per_unit": 20}, {"deal_id": "usa-pac3-mse", "units": 60},
            {"deal_id": "aus-mogami-frigates", "probability": 0.9, "delivery_years": [2030, 2031, 2032]}]}))
        radar = listed["phl-jfps3-radars.tiv_per_unit"]
        assert radar["value"] == 20 and radar["tivcast_own"] is False and radar["origin"] == "request"
        assert radar["source"].startswith("the analyst's edit in this request: 20 TIV million")
        assert "replaces the catalogue's 13 TIV million per unit" in radar["source"]
        assert radar["range"] == [20, 20] and "without a range" in radar["range_note"]  # not SIPRI's 13
        pac3 = listed["usa-pac3-mse.units_remaining"]
        assert pac3["value"] == 60 and pac3["origin"] == "request" and pac3["range"] is None
        assert pac3["source"].startswith("the analyst's edit") and "the catalogue's 30 ordered" in pac3["source"]
        years = listed["aus-mogami-frigates.delivery_years"]
        assert years["value"] == [2030, 2031, 2032] and years["range"] == [2030, 2035]
        assert years["source"].startswith("the analyst's edit in this request: 2030, 2031, 2032")
        probability = listed["aus-mogami-frigates.probability"]
        assert probability["value"] == 0.9 and probability["tivcast_own"] is False
        assert "liberalisation scenario" not in str(probability["range_note"])
        assert "replaces the catalogue's 0.75" in probability["source"]
        # The changes are listed in words too.
        assert "phl-jfps3-radars: tiv_per_unit 20" in listed["pipeline_changes"]["value"]

    def test_an_added_deal_s_fields_are_honoured_and_its_defaults_listed(self, japan_fit: FittedModel) -> None:
        forecast = custom(japan_fit, {"added": [{"deal_id": "x6", "recipient": "NZL", "tiv_per_unit": 100,
                                                 "delivery_years": [2030], "requires_liberalisation": True,
                                                 "sources": {"units": "Nikkei 2026-01-01"}}]})
        deal = next(d for d in forecast.to_dict()["pipeline"]["deals"] if d["deal_id"] == "x6")
        assert deal["requires_liberalisation"] is True and deal["sources"] == {"units": "Nikkei 2026-01-01"}
        assert deal["scenario_probability"] == 0.0  # blocked under today's rules, as a catalogue prospect would be
        listed = assumptions(forecast)
        assert listed["x6.units_remaining"]["origin"] == "default" and listed["x6.units_remaining"]["value"] == 1
        assert "Nikkei" not in listed["x6.units_remaining"]["source"]  # a default is not the analyst's source
        assert listed["x6.slip_probability"]["origin"] == "default"
        assert "default probability for an added deal, 0.5" in listed["x6.probability"]["source"]
        assert listed["x6.tiv_per_unit"]["tivcast_own"] is False and listed["x6.tiv_per_unit"]["origin"] == "request"
        assert listed["x6.requires_liberalisation"]["value"] is True
        liberalised = custom(japan_fit, {"prospects": "liberalised", "added": [
            {"deal_id": "x6", "recipient": "NZL", "tiv_per_unit": 100, "delivery_years": [2030],
             "requires_liberalisation": True, "sources": {"units": "Nikkei"}}]})
        assert assumptions(liberalised)["x6.units_remaining"]["source"].startswith("not stated")
        assert next(d for d in liberalised.to_dict()["pipeline"]["deals"] if d["deal_id"] == "x6")[
            "scenario_probability"] == 0.5

    def test_restriction_s_rule_applies_to_an_added_prospect_whose_probability_is_a_default(
            self, japan_fit: FittedModel) -> None:
        forecast = custom(japan_fit, {"prospects": "none", "added": [
            {"deal_id": "x9", "recipient": "NZL", "tiv_per_unit": 100, "delivery_years": [2030]},
            {"deal_id": "x8", "recipient": "NZL", "tiv_per_unit": 100, "delivery_years": [2030],
             "probability": 0.6}]})
        deals = {d["deal_id"]: d for d in forecast.to_dict()["pipeline"]["deals"]}
        assert deals["x9"]["scenario_probability"] == 0.0 and sum(deals["x9"]["expected_tiv"].values()) == 0
        assert "no new deals" in assumptions(forecast)["x9.probability"]["source"]
        # a stated probability is the analyst's override, as for an edited catalogue deal
        assert deals["x8"]["scenario_probability"] == 0.6
        assert "overrides this scenario's prospect rule" in assumptions(forecast)["x8.probability"]["source"]

    def test_known_deliveries_are_listed_with_their_double_count_risk(self, japan_fit: FittedModel) -> None:
        forecast = custom(japan_fit, {}, known_deliveries={"2025": 13, "2026": 13})
        known = assumptions(forecast)["known_deliveries"]
        assert known["value"] == {"2025": 13, "2026": 13} and "count twice" in known["source"]

    def test_a_delivery_after_the_horizon_is_said_to_count_for_nothing(self, japan_fit: FittedModel) -> None:
        forecast = custom(japan_fit, {"edits": [{"deal_id": "aus-mogami-frigates",
                                                  "delivery_years": [2040, 2041, 2042]}]})
        assert "fall after this forecast's last year (2034)" in \
            assumptions(forecast)["aus-mogami-frigates.delivery_years"]["range_note"]

    def test_catalogue_figures_say_where_they_come_from(self, japan_fit: FittedModel) -> None:
        listed = assumptions(predict(japan_fit, "baseline", horizon=10))
        assert "joint development" in listed["aus-mogami-frigates.requires_liberalisation"]["source"]
        assert "TPS-P14" in listed["phl-jfps3-radars.tiv_per_unit"]["source"]
        assert listed["phl-jfps3-radars.tiv_per_unit"]["tivcast_own"] is False
        surge = predict(japan_fit, "demand-surge", horizon=10).to_dict()["scenario"]["description"]
        assert "6.7 % and 9.4 %" in surge


class TestLicensedProduction:
    def test_the_australian_built_ships_are_counted_as_sipri_counts_licensed_production(
            self, japan_fit: FittedModel) -> None:
        forecast = predict(japan_fit, "baseline", horizon=10).to_dict()["pipeline"]
        local = next(d for d in forecast["deals"] if d["deal_id"] == "aus-mogami-frigates-australian-built")
        assert local["units_remaining"] == 8 and min(local["delivery_years"]) > 2031
        assert "licensed production in the licensor's exports" in local["sources"]["units"]
        assert "Beechjet-400" in local["sources"]["tiv_per_unit"]
        assert local["scenario_probability"] == 0.65 and local["expected_tiv"]["2034"] > 0
        japanese = next(d for d in forecast["deals"] if d["deal_id"] == "aus-mogami-frigates")
        assert "exceed" not in japanese["reasoning"] and "1,845" in japanese["reasoning"]
        listed = {a["name"]: a for a in forecast["assumptions"]}
        assert listed["aus-mogami-frigates-australian-built.tiv_per_unit"]["range"] == [250, 550]
        assert listed["aus-mogami-frigates-australian-built.probability"]["range"] == [0.0, 0.75]

    @pytest.mark.parametrize("measure", ["share", "tiv"])
    def test_restriction_baseline_liberalisation_stay_ordered(self, japan_inputs: ForecastInputs,
                                                              measure: str) -> None:
        fitted = fit(japan_inputs, ModelSpec(Target("JPN", measure)))  # type: ignore[arg-type]
        points = {n: predict(fitted, n, horizon=15).points for n in ("restriction", "baseline", "liberalisation")}
        for year in points["baseline"]:
            assert points["restriction"][year] <= points["baseline"][year] <= points["liberalisation"][year]


class TestBreakdownAndPoint:
    def test_the_breakdown_sums_when_the_share_reaches_100(self, japan_fit: FittedModel) -> None:
        huge = [{"deal_id": f"x{i}", "recipient": "NZL", "units_ordered": 10, "tiv_per_unit": 1000,
                 "delivery_years": [2030], "probability": 1} for i in range(6)]
        forecast = custom(japan_fit, {"added": huge})
        row = next(r for r in forecast.to_dict()["pipeline"]["breakdown"] if r["year"] == 2030)
        point = next(r.point for r in forecast.years if r.year == 2030)
        assert point == 100.0 and row["cap"] < 0
        parts = sum(v for k, v in row.items() if k not in ("year", "total"))
        assert parts == pytest.approx(row["total"], abs=2e-3)  # parts of ~170 keep 6 significant digits

    def test_the_point_is_the_expected_value_under_the_slip_odds(self, japan_fit: FittedModel) -> None:
        forecast = predict(japan_fit, "baseline", horizon=10).to_dict()["pipeline"]
        frigates = next(d for d in forecast["deals"] if d["deal_id"] == "aus-mogami-frigates")
        # 2029: the first ship, on time with probability 0.65 (slip odds 0.35), deal probability 0.75.
        assert frigates["expected_tiv"]["2029"] == pytest.approx(0.75 * 400 * 0.65)
        assert sum(frigates["expected_tiv"].values()) == pytest.approx(0.75 * 400 * 3)  # nothing slips past 2034

    def test_removing_a_finished_deal_leaves_later_bounds_unchanged(self, japan_fit: FittedModel) -> None:
        base = {r.year: r for r in predict(japan_fit, "baseline", horizon=10).years}
        without = {r.year: r for r in custom(japan_fit, {"edits": [{"deal_id": "usa-pac3-mse",
                                                                     "remove": True}]}).years}
        for year in range(2031, 2035):  # PAC-3 deliveries end in 2027, 2030 with 3 years of slip
            assert (without[year].lower, without[year].upper) == (base[year].lower, base[year].upper)
        assert without[2026].point < base[2026].point
