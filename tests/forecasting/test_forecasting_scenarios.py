"""The scenario catalogue, custom scenarios (parsing and validation) and their resolution."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from forecasting.drivers import REGIMES
from forecasting.errors import InvalidScenario
from forecasting.inputs import ForecastInputs
from forecasting.keys import ForecastRequest, ResolvedScenario, resolve_request
from forecasting.parsing import parse_scenario
from forecasting.scenarios import MOD_BUDGET_OKU_YEN, SCENARIOS, ModelSettings, Scenario, get_scenario
from forecasting.series import Target

Rows = Callable[[str], list[dict[str, str]]]


def resolve(inputs: ForecastInputs, scenario: Scenario | str, horizon: int = 10) -> ResolvedScenario:
    chosen = get_scenario(scenario) if isinstance(scenario, str) else scenario
    target = Target(inputs.country, "tiv" if inputs.country == "WLD" else "share")
    return resolve_request(ForecastRequest(target, chosen, horizon), inputs)[1]


class TestCatalogue:
    def test_required_scenarios_exist(self) -> None:
        assert {"baseline", "liberalisation", "restriction", "demand-surge"} <= set(SCENARIOS)

    @pytest.mark.parametrize("name", list(SCENARIOS))
    def test_each_scenario_explains_itself(self, name: str) -> None:
        scenario = SCENARIOS[name]
        assert scenario.title
        assert len(scenario.description) > 80
        assert json.loads(json.dumps(scenario.to_dict()))["name"] == name

    def test_unknown_name_lists_the_choices(self) -> None:
        with pytest.raises(InvalidScenario, match="baseline") as caught:
            get_scenario("boom")
        assert caught.value.field == "scenario.name"

    def test_budget_plan_figures_match_the_bundled_mod_data(self, data_rows: Rows) -> None:
        budget = {
            int(r["fiscal_year"]): float(r["value_oku_yen"])
            for r in data_rows("japan_mod_defense_budget.csv") if r["basis"] == "dbp_target_expenditure"
        }
        plan = next(r for r in data_rows("japan_defense_buildup_program_2023_2027.csv")
                    if r["item"] == "annual_budget_defense_related_expenditure")
        assert MOD_BUDGET_OKU_YEN == {2024: budget[2024], 2025: budget[2025], 2026: budget[2026],
                                      2027: float(plan["value_yen"]) / 1e8}


class TestBaselineResolution:
    def test_japan_spending_follows_the_plan_then_holds(self, japan_inputs: ForecastInputs) -> None:
        resolved = resolve(japan_inputs, "baseline").drivers["japan_defence_spending"]
        spending = japan_inputs.drivers["japan_defence_spending"]
        level = spending[2024]
        for year in (2025, 2026, 2027):
            level *= MOD_BUDGET_OKU_YEN[year] / MOD_BUDGET_OKU_YEN[year - 1]
            assert resolved[year] == pytest.approx(level)
        assert resolved[2028] == resolved[2034] == pytest.approx(level)

    def test_policy_holds_the_regime_in_force(self, japan_inputs: ForecastInputs) -> None:
        resolved = resolve(japan_inputs, "baseline").drivers["export_policy_openness"]
        assert set(resolved.values()) == {REGIMES["gcap_third_country_2024"].openness}

    def test_world_spending_continues_its_ten_year_trend(self, world_inputs: ForecastInputs) -> None:
        world = world_inputs.drivers["world_military_expenditure"]
        rate = (world[2024] / world[2014]) ** 0.1
        resolved = resolve(world_inputs, "baseline").world_milex
        assert resolved[2030] == pytest.approx(world[2024] * rate**6)

    def test_world_spending_drives_the_world_total_not_a_share(self, japan_inputs: ForecastInputs) -> None:
        assert "world_military_expenditure" not in resolve(japan_inputs, "demand-surge").drivers

    def test_notes_state_the_assumptions(self, world_inputs: ForecastInputs) -> None:
        notes = " ".join(resolve(world_inputs, "baseline").notes)
        assert "trend growth" in notes
        assert "2014-2024" in notes


class TestNamedScenarios:
    def test_japan_s_scenarios_act_through_the_pipeline_not_the_drivers(self, japan_inputs: ForecastInputs) -> None:
        base = resolve(japan_inputs, "baseline")
        for name in ("liberalisation", "restriction"):
            assert resolve(japan_inputs, name).drivers == base.drivers
        probability = {n: {d.deal_id: p for d, p in resolve(japan_inputs, n).deals}
                       for n in ("baseline", "liberalisation", "restriction", "demand-surge")}
        assert probability["restriction"]["aus-mogami-frigates"] == 0.0
        assert probability["baseline"]["aus-mogami-frigates"] == 0.75
        assert probability["liberalisation"]["aus-mogami-frigates"] == 0.85
        assert probability["demand-surge"]["aus-mogami-frigates"] == pytest.approx(0.85)
        assert probability["baseline"]["escort-transfer-prospect"] == 0.0  # blocked by the five-category rule
        assert probability["liberalisation"]["escort-transfer-prospect"] == 0.5
        assert all(probability[n]["phl-jfps3-radars"] == 1.0 for n in probability)  # committed

    def test_demand_surge_grows_world_spending_faster(self, world_inputs: ForecastInputs) -> None:
        base = resolve(world_inputs, "baseline").world_milex
        surge = resolve(world_inputs, "demand-surge").world_milex
        assert surge[2025] == pytest.approx(world_inputs.drivers["world_military_expenditure"][2024] * 1.08)
        assert all(surge[y] > base[y] for y in surge)

    def test_japan_policy_scenarios_do_not_apply_to_korea(self, korea_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidScenario, match="applies to JPN only") as caught:
            resolve(korea_inputs, "liberalisation")
        assert caught.value.field == "scenario.name"

    def test_korea_baseline_resolves_its_own_drivers(self, korea_inputs: ForecastInputs) -> None:
        assert set(resolve(korea_inputs, "baseline").drivers) == {"own_military_expenditure"}


class TestCustomScenarios:
    def test_shorthand_levels_hold_between_stated_years(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"name": "build-up", "drivers": {"japan_defence_spending": {"2027": 70000}}})
        path = resolve(japan_inputs, custom).drivers["japan_defence_spending"]
        last = japan_inputs.drivers["japan_defence_spending"][2024]
        assert path[2025] == path[2026] == last
        assert path[2027] == path[2034] == 70000.0

    def test_linear_fill_interpolates(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"drivers": {"japan_defence_spending": {
            "mode": "level", "values": {"2026": 60000, "2028": 70000}, "fill": "linear"}}})
        path = resolve(japan_inputs, custom).drivers["japan_defence_spending"]
        assert path[2027] == pytest.approx(65000.0)

    def test_demand_surge_s_path_as_served_is_a_valid_custom_path(self, world_inputs: ForecastInputs) -> None:
        """GET /v1/scenarios gives demand-surge's world path with trend_from: copied into a custom scenario it
        resolves to the same spending as the built-in one."""
        served = SCENARIOS["demand-surge"].to_dict()["drivers"]
        custom = parse_scenario({"name": "copy", "drivers": json.loads(json.dumps(served))})
        assert resolve(world_inputs, custom).world_milex == resolve(world_inputs, "demand-surge").world_milex

    @pytest.mark.parametrize(("path", "expected"), [
        ({"mode": "level", "values": {"2026": 2.5e6}, "trend_from": 2030}, "given for 'growth' paths only"),
        ({"mode": "growth", "values": {"2026": 0.05}, "trend_from": 2026}, "a year after the first stated rate"),
        ({"mode": "growth", "values": {"2026": 0.05}, "trend_from": "2030"}, "a year between"),
    ])
    def test_a_bad_trend_from_names_its_field(self, path: dict[str, Any], expected: str) -> None:
        with pytest.raises(InvalidScenario, match=expected) as caught:
            parse_scenario({"drivers": {"world_military_expenditure": path}})
        assert caught.value.field == "scenario.drivers.world_military_expenditure.trend_from"

    @pytest.mark.parametrize("year", ["2027", True, 2027.0])
    def test_a_change_s_year_is_a_json_integer(self, year: object) -> None:
        with pytest.raises(InvalidScenario) as caught:
            parse_scenario({"changes": [
                {"driver": "japan_defence_spending", "op": "multiply", "value": 1.1, "from_year": year}]})
        assert caught.value.field == "scenario.changes[0].from_year"

    def test_changes_add_multiply_and_set(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"changes": [
            {"driver": "japan_defence_spending", "op": "multiply", "value": 1.1, "from_year": 2027},
            {"driver": "export_policy_openness", "op": "set", "value": "transfer_principles_2014",
             "from_year": 2026, "to_year": 2028},
            {"driver": "export_policy_openness", "op": "add", "value": 0.05, "from_year": 2030},
        ]})
        base, what_if = resolve(japan_inputs, "baseline"), resolve(japan_inputs, custom)
        spend, policy = what_if.drivers["japan_defence_spending"], what_if.drivers["export_policy_openness"]
        assert spend[2026] == base.drivers["japan_defence_spending"][2026]
        assert spend[2027] == pytest.approx(1.1 * base.drivers["japan_defence_spending"][2027])
        assert policy[2027] == REGIMES["transfer_principles_2014"].openness
        assert policy[2029] == base.drivers["export_policy_openness"][2029]
        assert policy[2030] == pytest.approx(base.drivers["export_policy_openness"][2030] + 0.05)

    def test_custom_scenario_builds_on_a_named_base(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"base": "liberalisation", "changes": [
            {"driver": "japan_defence_spending", "op": "multiply", "value": 0.9, "from_year": 2026}]})
        lib = resolve(japan_inputs, "liberalisation")
        assert resolve(japan_inputs, custom).drivers["export_policy_openness"] == lib.drivers["export_policy_openness"]

    def test_custom_round_trips_through_json(self) -> None:
        custom = parse_scenario({
            "name": "what-if", "title": "What if", "description": "Spending plus ten percent.",
            "drivers": {"world_military_expenditure": {"mode": "growth", "values": {"2025": 0.05}}},
            "changes": [{"driver": "japan_defence_spending", "op": "multiply", "value": 1.1, "from_year": 2026}],
            "settings": {"growth": "logistic", "cap": 2.0, "changepoint_prior_scale": 0.1},
            "known_deliveries": {"2028": 300},
        })
        assert parse_scenario(json.loads(json.dumps(custom.to_dict()))) == custom

    def test_generated_description_quotes_the_changes(self) -> None:
        custom = parse_scenario({"changes": [
            {"driver": "japan_defence_spending", "op": "multiply", "value": 1.2, "from_year": 2028}]})
        assert "multiply japan_defence_spending by 1.2 from 2028" in custom.description

    def test_a_driver_the_model_does_not_use_is_refused(self, korea_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"drivers": {"export_policy_openness": {"2026": 0.9}}})
        with pytest.raises(InvalidScenario, match="not used") as caught:
            resolve(korea_inputs, custom)
        assert caught.value.field == "scenario.drivers.export_policy_openness"

    def test_a_change_leaving_the_range_names_the_change(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"changes": [
            {"driver": "export_policy_openness", "op": "add", "value": 0.7, "from_year": 2026}]})
        with pytest.raises(InvalidScenario, match="at most 1") as caught:
            resolve(japan_inputs, custom)
        assert caught.value.field == "scenario.changes[0]"

    def test_deliveries_outside_the_horizon_are_refused(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"known_deliveries": {"2040": 100}})
        with pytest.raises(InvalidScenario, match="outside the forecast years") as caught:
            resolve(japan_inputs, custom, horizon=5)
        assert caught.value.field == "scenario.known_deliveries[2040]"

    def test_a_share_cap_above_100_is_refused(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"settings": {"growth": "logistic", "cap": 150}})
        with pytest.raises(InvalidScenario, match="at most 100") as caught:
            resolve(japan_inputs, custom)
        assert caught.value.field == "scenario.settings.cap"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"drivers": {"japan_defence_spending": {"2031": -5}}}, "scenario.drivers.japan_defence_spending[2031]",
         "got -5"),
        ({"drivers": {"japan_defence_spending": {"2231": 5}}}, "scenario.drivers.japan_defence_spending[2231]",
         "between 1950 and 2100"),
        ({"drivers": {"gdp": {"2030": 1}}}, "scenario.drivers.gdp", "one of"),
        ({"drivers": {"export_policy_openness": {"2030": "open"}}},
         "scenario.drivers.export_policy_openness[2030]", "regime id"),
        ({"drivers": {"world_military_expenditure": {"mode": "growth", "values": {"2030": 3}}}},
         "scenario.drivers.world_military_expenditure[2030]", "[-0.5, 1]"),
        ({"changes": [{"driver": "world_military_expenditure", "op": "pow", "value": 2, "from_year": 2026}]},
         "scenario.changes[0].op", "'add', 'multiply' or 'set'"),
        ({"changes": [{"driver": "export_policy_openness", "op": "set", "value": 1.5, "from_year": 2026}]},
         "scenario.changes[0].value", "got 1.5"),
        ({"changes": [{"driver": "export_policy_openness", "op": "set", "value": 0.5, "from_year": 2030,
                       "to_year": 2027}]}, "scenario.changes[0].to_year", "on or after"),
        ({"settings": {"growth": "logistic"}}, "scenario.settings.cap", "logistic"),
        ({"settings": {"cap": 5}}, "scenario.settings.cap", "logistic"),
        ({"settings": {"changepoint_prior_scale": 45}}, "scenario.settings.changepoint_prior_scale", "got 45"),
        ({"settings": {"uncertainty_samples": 5}}, "scenario.settings.uncertainty_samples", "got 5"),
        ({"settings": {"drivers": ["export_policy_openness", "export_policy_openness"]}},
         "scenario.settings.drivers", "distinct"),
        ({"known_deliveries": {"2030": -1}}, "scenario.known_deliveries[2030]", "got -1"),
        ({"name": "baseline"}, "scenario.name", "built-in"),
        ({"name": "year"}, "scenario.name", "comparison table"),  # it would overwrite the comparison's year
        ({"name": "Bad Name!"}, "scenario.name", "slug"),
        ({"base": "utopia"}, "scenario.base", "built-in"),
        ({"chnages": []}, "scenario.chnages", "unknown field"),
        ({"title": ""}, "scenario.title", "non-empty"),
        ({"builtin": True}, "scenario.builtin", "custom"),
    ],
)
def test_invalid_custom_scenarios_name_field_and_value(body: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(InvalidScenario) as caught:
        parse_scenario(body)
    assert caught.value.field == field
    assert message in str(caught.value)
    assert field in str(caught.value)


def test_a_scenario_must_be_an_object() -> None:
    with pytest.raises(InvalidScenario, match="JSON object"):
        parse_scenario(["baseline"])


def test_custom_settings_start_from_the_base() -> None:
    custom = parse_scenario({"settings": {"changepoint_prior_scale": 0.2}})
    assert custom.settings == ModelSettings(changepoint_prior_scale=0.2)
