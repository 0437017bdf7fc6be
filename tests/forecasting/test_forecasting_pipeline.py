"""Japan's deal pipeline: the register reproduced, ordered scenarios, a breakdown that adds up, assumptions."""

from __future__ import annotations

import csv
import dataclasses
import io
from importlib import resources
from typing import Any

import pytest

from forecasting.errors import InvalidScenario
from forecasting.inputs import ForecastInputs
from forecasting.keys import ForecastRequest, resolve_request
from forecasting.model import FittedModel, ModelSpec, fit, predict
from forecasting.output import Forecast
from forecasting.panel import REST, Panel
from forecasting.parsing import parse_scenario
from forecasting.series import HistoryWindow, Target
from tests.forecasting.conftest import pipeline

BUILT_IN = ["baseline", "liberalisation", "restriction", "demand-surge"]


@pytest.fixture(scope="module")
def forecasts(japan_fit: FittedModel) -> dict[str, Forecast]:
    return {name: predict(japan_fit, name, horizon=10) for name in BUILT_IN}


class TestRegister:
    def test_the_radars_remaining_units_land_by_2026_in_the_baseline(self, forecasts: dict[str, Forecast]) -> None:
        radars = next(d for d in pipeline(forecasts["baseline"])["deals"] if d["deal_id"] == "phl-jfps3-radars")
        assert radars["units_remaining"] == 2
        # SIPRI's comment, "delivery planned by 2026", is held: the 2 remaining units (13 TIV million each, as the
        # register prices them) land in 2025 and 2026, in the point and in every simulated path, none later.
        assert radars["expected_tiv"]["2025"] == pytest.approx(13)
        assert radars["expected_tiv"]["2026"] == pytest.approx(13)
        assert sum(v for y, v in radars["expected_tiv"].items() if int(y) > 2026) == 0
        assert radars["slip_probability"] == 0

    def test_committed_deals_match_the_sipri_register(self, japan_inputs: ForecastInputs) -> None:
        text = resources.files("api").joinpath("data/japan-export-deals.csv").read_text(encoding="utf-8")
        register = {r["deal_id"]: r for r in csv.DictReader(io.StringIO(text))}
        for deal in japan_inputs.deals():
            if not deal.committed:
                continue
            row = next(r for r in japan_inputs.pipeline if r["deal_id"] == deal.deal_id)
            sipri = register[row["register_deal_id"]]
            assert deal.tiv_per_unit[1] == float(sipri["tiv_per_unit_million"])
            assert sum(deal.past_deliveries.values()) == pytest.approx(float(sipri["tiv_delivered_million"]))
            assert deal.units_delivered == float(sipri["number_delivered"] or 0)
            assert deal.order_year == int(sipri["year_of_order"])

    def test_the_base_does_not_count_the_deals_twice(self, japan_fit: FittedModel) -> None:
        assert japan_fit.japan is not None
        # Japan's 2023-2024 radar deliveries belong to the deal, not to the statistical base.
        assert japan_fit.japan.base[0] < japan_fit.base.share["JPN"][0]

    def test_an_as_of_forecast_counts_the_deliveries_recorded_after_its_end(
            self, japan_inputs: ForecastInputs) -> None:
        # As of 2019 the radars (ordered 2020, 2 delivered in 2023-2024) are 4 units to come: the two recorded
        # deliveries are due in 2023 and 2024, not lost because the register has them as past.
        fitted = fit(japan_inputs, ModelSpec(Target("JPN", "tiv"), HistoryWindow(end=2019)))
        radars = next(d for d in pipeline(predict(fitted, "baseline", 10))["deals"]
                      if d["deal_id"] == "phl-jfps3-radars")
        assert radars["units_remaining"] == 4
        assert radars["expected_tiv"]["2023"] == pytest.approx(13)  # held to the register's plan: no slip
        assert sum(radars["expected_tiv"].values()) == pytest.approx(4 * 13)
        assert sum(v for y, v in radars["expected_tiv"].items() if int(y) < 2023) == 0
        assert "the register records after 2019 are forecast" in " ".join(predict(fitted, "baseline", 10).notes)


class TestScenarios:
    @pytest.mark.parametrize("measure", ["share", "tiv"])
    def test_restriction_is_below_baseline_below_liberalisation(self, japan_inputs: ForecastInputs,
                                                                measure: str) -> None:
        fitted = fit(japan_inputs, ModelSpec(Target("JPN", measure)))  # type: ignore[arg-type]
        points = {n: predict(fitted, n).points for n in ("restriction", "baseline", "liberalisation")}
        for year in points["baseline"]:
            assert points["restriction"][year] <= points["baseline"][year] <= points["liberalisation"][year]
        assert any(points["restriction"][y] < points["liberalisation"][y] for y in points["baseline"])

    @pytest.mark.parametrize("measure", ["share", "tiv"])
    def test_the_model_notes_describe_the_pipeline_forecast(self, japan_inputs: ForecastInputs, measure: str) -> None:
        model = predict(fit(japan_inputs, ModelSpec(Target("JPN", measure))), "baseline").to_dict()["model"]  # type: ignore[arg-type]
        assert "pipeline's expected deliveries" in model["point_forecast"]
        assert model["transform"]["kind"] == "logit"  # what the drivers fit on: the share, for a TIV target too
        assert "shift the statistical base's share on its logit scale" in model["transform"]["used_for"]
        assert "no supplier's statistical share" in model["world_demand"]["applies_to"]

    def test_a_stated_zero_offset_is_the_one_the_base_is_shifted_on(self, japan_inputs: ForecastInputs) -> None:
        scenario = parse_scenario({"name": "budget-up", "base": "baseline", "settings": {"zero_offset": 0.05},
                                   "changes": [{"driver": "japan_defence_spending", "op": "multiply", "value": 1.3,
                                                "from_year": 2026}]})
        fitted = fit(japan_inputs, ModelSpec(Target("JPN", "share"), settings=scenario.settings))
        model = predict(fitted, scenario).to_dict()["model"]
        assert model["transform"]["offset"] == 0.05 and "(offset 0.05 pp)" in model["transform"]["used_for"]
        assert fitted.design.base_share_scale.offset == 0.05  # the scale Japan's rows shift the base on
        tiv = fit(japan_inputs, ModelSpec(Target("JPN", "tiv"), settings=scenario.settings))
        assert tiv.design.base_share_scale.offset == 0.004  # a TIV offset is in TIV: the share keeps its own

    def test_an_as_of_forecast_says_the_pipeline_is_today_s(self, japan_inputs: ForecastInputs) -> None:
        early = predict(fit(japan_inputs, ModelSpec(Target("JPN"), HistoryWindow(end=2015))), "baseline", 5)
        assert any("the deal pipeline is today's" in n and "(2015)" in n for n in early.to_dict()["notes"])
        full = predict(fit(japan_inputs, ModelSpec(Target("JPN"))), "baseline", 5)
        assert not any("the deal pipeline is today's" in n for n in full.to_dict()["notes"])

    @pytest.mark.parametrize("scenario", ["baseline", "demand-surge"])
    def test_an_as_of_forecast_uses_no_driver_value_or_policy_event_from_after_its_end(
        self, japan_inputs: ForecastInputs, scenario: str
    ) -> None:
        def as_of(inputs: ForecastInputs) -> dict[str, Any]:
            out = predict(fit(inputs, ModelSpec(Target("JPN", "tiv"), HistoryWindow(end=2000))), scenario, 5).to_dict()
            return {k: out[k] for k in ("forecast", "notes", "pipeline")}

        tripled = {n: {y: v * (3.0 if y > 2000 else 1.0) for y, v in series.items()}
                   for n, series in japan_inputs.drivers.items()}
        later = dataclasses.replace(
            japan_inputs, drivers=tripled,
            policy_events=tuple(e for e in japan_inputs.policy_events if int(e[0][:4]) <= 2000),
        )
        ours = as_of(japan_inputs)
        assert ours == as_of(later)  # spending tripled after 2000 and no policy event after it: nothing changes
        assert all("2024" not in n for n in ours["notes"] if "pipeline is today's" not in n and "vintages" not in n)

    def test_without_world_military_expenditure_the_elasticity_is_said_to_be_assumed(
        self, japan_inputs: ForecastInputs
    ) -> None:
        drivers = {k: v for k, v in japan_inputs.drivers.items() if k != "world_military_expenditure"}
        inputs = dataclasses.replace(japan_inputs, drivers=drivers)
        forecast = predict(fit(inputs, ModelSpec(Target("JPN", "tiv"))), "demand-surge").to_dict()
        assumption = next(a for a in forecast["pipeline"]["assumptions"] if a["name"] == "world_demand_elasticity")
        assert assumption["value"] == 0.0 and assumption["estimated_or_asserted"].startswith("asserted: 0")
        assert forecast["model"]["world_demand"]["method"].startswith("not estimated")
        assert forecast["model"]["world_demand"]["estimated_or_asserted"].startswith("asserted: 0")  # one word
        assert forecast["model"]["world_demand"]["years"] == "none"

    @pytest.mark.parametrize("name", BUILT_IN)
    def test_the_breakdown_sums_to_the_difference_from_the_baseline(self, forecasts: dict[str, Forecast],
                                                                     name: str) -> None:
        for row, year in zip(pipeline(forecasts[name])["breakdown"], forecasts[name].years, strict=True):
            values = [v for k, v in row.items() if k not in ("year", "total")]
            # JSON keeps 6 significant digits of each part: the sum is exact to within their rounding
            rounding = 1e-6 * sum(abs(v) for v in values) + 1e-9
            assert sum(values) == pytest.approx(row["total"], rel=1e-5, abs=rounding)
            assert row["total"] == pytest.approx(year.difference[0], rel=1e-5, abs=1e-9)

    def test_the_same_request_gives_the_same_forecast(self, japan_inputs: ForecastInputs,
                                                      forecasts: dict[str, Forecast]) -> None:
        again = predict(fit(japan_inputs, ModelSpec(Target("JPN"))), "liberalisation", horizon=10)
        assert again.to_json() == forecasts["liberalisation"].to_json()

    def test_intervals_are_bounded_and_say_whether_they_hold_the_point(self, forecasts: dict[str, Forecast]) -> None:
        # the point is a mean of either/or deals: the interval is not widened to hold it, each year says whether
        # it does (tests/forecasting/test_forecasting_pipeline_analyst.py); on these 10 years it does
        for forecast in forecasts.values():
            flags = pipeline(forecast)["by_year"]
            assert all(0 <= r.lower <= r.upper <= 100 and 0 <= r.point <= 100 for r in forecast.years)
            assert all(f["point_inside_interval"] == (r.lower <= r.point <= r.upper)
                       for r, f in zip(forecast.years, flags, strict=True))
            assert all(f["point_inside_interval"] for f in flags)

    def test_every_assumption_says_where_it_comes_from(self, forecasts: dict[str, Forecast]) -> None:
        assumptions = {a["name"]: a for a in pipeline(forecasts["baseline"])["assumptions"]}
        assert assumptions["world_demand_elasticity"]["estimated_or_asserted"] == "estimated"
        assert assumptions["world_demand_elasticity"]["standard_error"] > 0
        assert assumptions["aus-mogami-frigates.tiv_per_unit"]["tivcast_own"] is True
        assert assumptions["aus-mogami-frigates.tiv_per_unit"]["range"] == [250, 550]
        assert assumptions["phl-jfps3-radars.tiv_per_unit"]["tivcast_own"] is False
        assert all({"value", "unit", "source", "estimated_or_asserted", "tivcast_own", "range"} <= set(a)
                   for a in assumptions.values())
        assert all(a["range"] is not None or a["range_note"] for a in assumptions.values())  # a range, or why not
        # 3 built in Japan and 8 in Australia is the published statement; the 8 are a line of their own.
        assert assumptions["aus-mogami-frigates.units_remaining"]["tivcast_own"] is False
        assert assumptions["aus-mogami-frigates-australian-built.units_remaining"]["value"] == 8
        frigates = assumptions["aus-mogami-frigates.probability"]
        assert frigates["value"] == 0.75 and frigates["tivcast_own"] is True and frigates["range"] == [0.0, 0.85]
        assert assumptions["phl-jfps3-radars.probability"]["range"] == [1.0, 1.0]  # committed
        assert assumptions["phl-jfps3-radars.delivery_years"]["range"] == [2025, 2029]  # slips up to 3 years
        low, high = assumptions["world_demand_elasticity"]["range"]
        assert low < assumptions["world_demand_elasticity"]["value"] < high
        assert "moves nothing" in assumptions["world_military_expenditure_growth"]["source"]

    def test_demand_surge_states_its_spending_path_and_why_prospects_are_likelier(
        self, forecasts: dict[str, Forecast]
    ) -> None:
        assumptions = {a["name"]: a for a in pipeline(forecasts["demand-surge"])["assumptions"]}
        growth = assumptions["world_military_expenditure_growth"]
        assert [growth["value"][str(y)] for y in range(2025, 2031)] == pytest.approx([0.08] * 6)
        baseline = {a["name"]: a for a in pipeline(forecasts["baseline"])["assumptions"]}
        trend = baseline["world_military_expenditure_growth"]["value"]
        # after the surge, the baseline's trend rate (3.33 %): the surge keeps its level gap, it does not fade
        assert [growth["value"][str(y)] for y in range(2031, 2035)] == [trend[str(y)] for y in range(2031, 2035)]
        assert growth["value"]["2031"] == pytest.approx(0.0333, abs=1e-4)
        frigates = assumptions["aus-mogami-frigates.probability"]
        assert frigates["value"] == pytest.approx(0.85)
        assert "baseline probability, 0.75, shifted by +0.1" in frigates["source"]


class TestCustom:
    def test_a_signed_frigate_deal_adds_its_ships(self, japan_fit: FittedModel,
                                                 forecasts: dict[str, Forecast]) -> None:
        signed = parse_scenario({"name": "signed", "pipeline": {
            "edits": [{"deal_id": "aus-mogami-frigates", "probability": 1.0}]}})
        ours = predict(japan_fit, signed, horizon=10)
        row = {r["year"]: r for r in pipeline(ours)["breakdown"]}[2030]
        world = float(pipeline(ours)["world_total"]["2030"])
        # 2030's expected ship: planned for 2030 (no slip, 0.65) or for 2029 and a year late (0.35 x 0.65).
        assert row["deal:aus-mogami-frigates"] == pytest.approx(100 * 0.25 * 400 * (0.65 + 0.35 * 0.65) / world,
                                                                rel=1e-5)

    def test_without_deals_japan_s_intermittent_base_has_a_lower_bound_of_0(
            self, japan_fit: FittedModel, japan_inputs: ForecastInputs) -> None:
        # Japan's history besides the deals is intermittent, so as for any such history its base adds nothing to
        # the lower bound: with every deal removed the bounds are [0, upper] at any width.
        edits = [{"deal_id": d.deal_id, "remove": True} for d in japan_inputs.deals()]
        custom = parse_scenario({"name": "no-deals", "base": "baseline", "pipeline": {"edits": edits}})
        for width in (0.5, 0.8, 0.95):
            years = predict(japan_fit, custom, horizon=10, interval_width=width).years
            assert all(r.lower == 0.0 < r.point < r.upper for r in years), width

    def test_a_removed_deal_and_a_stated_elasticity(self, japan_fit: FittedModel) -> None:
        custom = parse_scenario({"name": "no-pac3", "base": "demand-surge", "pipeline": {
            "elasticity": 1.0, "edits": [{"deal_id": "usa-pac3-mse", "remove": True}]}})
        section = pipeline(predict(japan_fit, custom, horizon=10))
        assert "usa-pac3-mse" not in {d["deal_id"] for d in section["deals"]}
        assert any(r["world_demand"] < 0 for r in section["breakdown"])  # more world demand, smaller share
        elasticity = next(a for a in section["assumptions"] if a["name"] == "world_demand_elasticity")
        assert elasticity["value"] == 1.0 and elasticity["estimated_or_asserted"].startswith("asserted")

    @pytest.mark.parametrize(("pipeline_part", "field"), [
        ({"edits": [{"deal_id": "aus-mogami-frigates", "probability": 1.5}]},
         "scenario.pipeline.edits[0].probability"),
        ({"edits": [{"deal_id": "aus-mogami-frigates", "tiv_per_unit": -5}]},
         "scenario.pipeline.edits[0].tiv_per_unit"),
        ({"added": [{"deal_id": "x", "recipient": "NZL", "order_year": 2030, "tiv_per_unit": 10,
                     "delivery_years": [2028]}]}, "scenario.pipeline.added[0].delivery_years"),
        ({"prospects": "maybe"}, "scenario.pipeline.prospects"),
    ])
    def test_impossible_inputs_name_their_field(self, pipeline_part: dict[str, Any], field: str) -> None:
        with pytest.raises(InvalidScenario) as caught:
            parse_scenario({"name": "bad", "pipeline": pipeline_part})
        assert caught.value.field == field

    def test_an_unknown_deal_is_refused_when_resolved(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"name": "ghost", "pipeline": {"edits": [{"deal_id": "no-such-deal", "units": 1}]}})
        with pytest.raises(InvalidScenario, match="unknown deal") as caught:
            resolve_request(ForecastRequest(Target("JPN"), custom), japan_inputs)
        assert caught.value.field == "scenario.pipeline.edits[0].deal_id"  # the path the client sent

    def test_a_delivery_before_the_order_of_a_catalogue_deal_is_refused(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"name": "early", "pipeline": {
            "edits": [{"deal_id": "aus-mogami-frigates", "delivery_years": [2024]}]}})
        with pytest.raises(InvalidScenario, match="precedes the order"):
            resolve_request(ForecastRequest(Target("JPN"), custom), japan_inputs)

    def test_custom_pipelines_round_trip_through_json(self) -> None:
        custom = parse_scenario({"name": "rt", "pipeline": {
            "prospects": "liberalised", "probability_shift": 0.05,
            "edits": [{"deal_id": "usa-pac3-mse", "units": 12, "tiv_per_unit": [1.2, 1.5, 1.8]}],
            "added": [{"deal_id": "nz-frigates", "recipient": "NZL", "system": "frigate", "order_year": 2027,
                       "units_ordered": 2, "tiv_per_unit": 300, "delivery_years": [2031, 2032],
                       "probability": 0.3, "slip_probability": 0.3}]}})
        assert parse_scenario(custom.to_dict() | {"builtin": False}) == custom


def shipped_inputs(panel: Panel, code: str, pipeline: tuple[dict[str, Any], ...]) -> ForecastInputs:
    """What a worker builds from the shipped release for ``code``, the pipeline included (the baseline uses no
    driver)."""
    return ForecastInputs(country=code, target_tiv=panel.suppliers[code], world_tiv=panel.world, drivers={},
                          policy_events=(), data_version="shipped", world_tiv_lower_bound_years=panel.lower_bound_years,
                          panel_tiv=panel.suppliers, pipeline=pipeline)


@pytest.fixture(scope="module")
def shipped_fits(shipped_panel: Panel, japan_inputs: ForecastInputs) -> dict[str, FittedModel]:
    """Every shipped supplier's served model on the shipped release, and Japan's without its pipeline (``-``)."""
    fits = {code: fit(shipped_inputs(shipped_panel, code, japan_inputs.pipeline), ModelSpec(Target(code)))
            for code in shipped_panel.codes() if code != REST}
    fits["-"] = fit(shipped_inputs(shipped_panel, "JPN", ()), ModelSpec(Target("JPN")))
    return fits


@pytest.fixture(scope="module")
def served(shipped_fits: dict[str, FittedModel]) -> dict[str, list[float]]:
    """Every shipped supplier's served baseline points, 2025-2034."""
    return {code: [r.point for r in predict(f, "baseline", horizon=10).years]
            for code, f in shipped_fits.items() if code != "-"}


class TestServedSharesAddUp:
    """Japan's served baseline is its pipeline forecast; every other supplier makes room for it."""

    def test_every_shipped_supplier_s_baseline_and_the_rest_add_up_to_100(
        self, served: dict[str, list[float]], shipped_fits: dict[str, FittedModel]
    ) -> None:
        assert len(served) >= 25
        rest = shipped_fits["JPN"].base.share[REST][:10]
        totals = [sum(points[i] for points in served.values()) + rest[i] for i in range(10)]
        assert totals == pytest.approx([100.0] * 10, abs=1e-4)  # points are rounded to 6 significant digits

    def test_the_room_others_make_is_what_japan_s_deals_take(
        self, served: dict[str, list[float]], shipped_fits: dict[str, FittedModel]
    ) -> None:
        # Without the pipeline Japan's share is the statistical one and nobody makes room.
        assert shipped_fits["-"].base.room is None
        room = shipped_fits["USA"].base.room
        assert room is not None
        statistical = shipped_fits["-"].base.share
        frigate_years = [i for i, y in enumerate(range(2025, 2035)) if y in (2029, 2030, 2031)]
        for i in frigate_years:  # three frigates due: Japan's share rises, everyone else's falls by one factor
            assert served["JPN"][i] > 0.5 > statistical["JPN"][i]
            assert room[i] < 0.995
            for code in ("USA", "KOR", "FRA"):
                assert served[code][i] == pytest.approx(statistical[code][i] * room[i], rel=1e-5)

    def test_the_response_states_the_rule_and_the_factors(self, japan_fit: FittedModel) -> None:
        coherence = predict(japan_fit, "baseline", horizon=10).to_dict()["model"]["coherence"]
        assert "what Japan's deals deliver the others do not" in coherence["pipeline_room"]["rule"]
        assert len(coherence["pipeline_room"]["factor"]) == 10
