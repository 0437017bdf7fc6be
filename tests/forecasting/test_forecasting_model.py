"""Prophet fit/predict: bounds, determinism, output, scenario sets, housekeeping."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from forecasting.errors import InvalidScenario, NotFittedError
from forecasting.inputs import ForecastInputs
from forecasting.keys import ForecastRequest, content_key
from forecasting.model import FittedModel, ModelSpec, fit, forecast_scenarios, predict
from forecasting.model_card import load_card
from forecasting.output import Forecast
from forecasting.parsing import parse_scenario
from forecasting.scenarios import SCENARIOS, ModelSettings, Scenario, get_scenario, with_settings
from forecasting.series import HistoryWindow, Target
from tests.forecasting.conftest import pipeline

JAPAN_SCENARIOS = ["baseline", "liberalisation", "restriction", "demand-surge"]
POLICY_WHAT_IF = parse_scenario({"name": "open-up", "changes": [
    {"driver": "export_policy_openness", "op": "set", "value": 1.0, "from_year": 2026}]})


def bounded_values(forecast: Forecast) -> list[float]:
    """Every value of the forecast that is in the target's unit (points and bounds)."""
    rows = forecast.years
    return [v for r in rows for v in (r.point, r.lower, r.upper)]


class TestBounds:
    @pytest.mark.parametrize("name", JAPAN_SCENARIOS)
    def test_no_negative_japanese_share_in_any_scenario(self, japan_fit: FittedModel, name: str) -> None:
        forecast = predict(japan_fit, name, horizon=30, interval_width=0.98)
        values = bounded_values(forecast)
        assert min(values) >= 0.0
        assert max(values) <= 100.0
        # Japan's pipeline point is a mean of either/or deals and may lie outside its simulated interval (which is
        # not widened to hold it); each year says whether it does. Non-pipeline forecasts hold it: see below.
        flags = forecast.to_dict()["pipeline"]["by_year"]
        assert all(r.lower <= r.upper for r in forecast.years)
        assert all(f["point_inside_interval"] == (r.lower <= r.point <= r.upper)
                   for r, f in zip(forecast.years, flags, strict=True))

    def test_extreme_what_ifs_stay_inside_0_100(self, japan_fit: FittedModel) -> None:
        collapse = parse_scenario({"name": "collapse", "base": "restriction", "changes": [
            {"driver": "japan_defence_spending", "op": "multiply", "value": 0.2, "from_year": 2025},
            {"driver": "export_policy_openness", "op": "set", "value": 0.0, "from_year": 2025}]})
        boom = parse_scenario({"name": "boom", "changes": [
            {"driver": "export_policy_openness", "op": "set", "value": 1.0, "from_year": 2025},
            {"driver": "japan_defence_spending", "op": "multiply", "value": 50, "from_year": 2025}]})
        for scenario in (collapse, boom):
            values = bounded_values(predict(japan_fit, scenario, horizon=30, interval_width=0.99))
            assert 0.0 <= min(values)
            assert max(values) <= 100.0

    def test_tiv_is_never_negative(self, japan_inputs: ForecastInputs) -> None:
        fitted = fit(japan_inputs, ModelSpec(Target("JPN", "tiv")))
        forecast = predict(fitted, "restriction", horizon=30, interval_width=0.98)
        assert min(bounded_values(forecast)) >= 0.0
        assert forecast.to_dict()["target"]["unit"] == "TIV million"

    def test_a_stated_cap_bounds_the_point_and_both_bounds(self, japan_inputs: ForecastInputs,
                                                          korea_inputs: ForecastInputs) -> None:
        korea = with_settings(get_scenario("baseline"), growth="logistic", cap=2.0)  # KOR's base is about 2.7 %
        uncapped = predict(fit(korea_inputs, ModelSpec(Target("KOR"))), "baseline", 10)
        capped = predict(fit(korea_inputs, ModelSpec(Target("KOR"), settings=korea.settings)), korea, 10)
        assert max(r.point for r in uncapped.years) > 2.0 and max(r.upper for r in uncapped.years) > 2.0
        assert 0.0 <= min(bounded_values(capped)) and max(bounded_values(capped)) <= 2.0
        assert "ceiling" in capped.model["settings_effect"]["cap"]
        japan = with_settings(get_scenario("liberalisation"), growth="logistic", cap=0.05)
        forecast = predict(fit(japan_inputs, ModelSpec(Target("JPN"), settings=japan.settings)), japan, 10)
        assert max(bounded_values(forecast)) <= 0.05
        assert min(row["cap"] for row in pipeline(forecast)["breakdown"]) < 0  # what the cap took: parts still sum
        assert min(r.components["cap"] for r in forecast.years) < 0
        for row in pipeline(forecast)["breakdown"]:
            assert sum(v for k, v in row.items() if k not in ("year", "total")) == pytest.approx(row["total"], abs=1e-5)
        # A capped baseline differs from the baseline under the same cap by nothing, yet its components still
        # add up to its point: the cap is one of them.
        capped_baseline = with_settings(get_scenario("baseline"), growth="logistic", cap=0.5)
        forecast = predict(fit(japan_inputs, ModelSpec(Target("JPN"), settings=capped_baseline.settings)),
                           capped_baseline, 10)
        assert max(r.point for r in forecast.years) == pytest.approx(0.5)
        for r in forecast.years:
            parts = r.components
            assert parts["statistical_base"] + parts["deals"] + parts.get("cap", 0) == pytest.approx(r.point, abs=1e-9)
        assert min(r.components["cap"] for r in forecast.years) < -0.4  # the frigate years lose most of their 1.06 %

    def test_uncertainty_samples_set_japan_s_simulation_and_say_they_change_nothing_else(
        self, japan_inputs: ForecastInputs, korea_inputs: ForecastInputs
    ) -> None:
        few = with_settings(get_scenario("baseline"), uncertainty_samples=200)
        japan = predict(fit(japan_inputs, ModelSpec(Target("JPN"), settings=few.settings)), few, 5)
        default = predict(fit(japan_inputs, ModelSpec(Target("JPN"))), "baseline", 5)
        assert [r.point for r in japan.years] == [r.point for r in default.years]  # expected values, not draws
        assert [r.upper for r in japan.years] != [r.upper for r in default.years]
        assert "200 simulated paths" in japan.to_dict()["pipeline"]["interval"]
        korea = predict(fit(korea_inputs, ModelSpec(Target("KOR"), settings=few.settings)), few, 5)
        korea_default = predict(fit(korea_inputs, ModelSpec(Target("KOR"))), "baseline", 5)
        assert [(r.lower, r.upper) for r in korea.years] == [(r.lower, r.upper) for r in korea_default.years]
        assert korea.model["settings_effect"]["uncertainty_samples"].startswith("no effect")


class TestDeterminism:
    def test_same_input_gives_byte_identical_output(self, japan_inputs: ForecastInputs) -> None:
        outputs = {
            predict(fit(ForecastInputs.from_dict(japan_inputs.to_dict()), ModelSpec(Target("JPN")), seed=7),
                    "liberalisation").to_json()
            for _ in range(2)
        }
        assert len(outputs) == 1

    def test_prediction_leaves_the_global_random_state_alone(self, japan_fit: FittedModel) -> None:
        np.random.seed(123)
        expected = np.random.random()
        np.random.seed(123)
        predict(japan_fit, "baseline")
        assert np.random.random() == expected


class TestForecastOutput:
    def test_to_dict_is_json_with_named_interval_keys(self, japan_fit: FittedModel) -> None:
        data = json.loads(json.dumps(predict(japan_fit, "liberalisation", 5, 0.95).to_dict()))
        row = data["forecast"][0]
        assert {"year", "point", "lo-95", "hi-95", "components_model_scale", "effects", "drivers"} <= set(row)
        assert set(row["difference_from_baseline"]) == {"point", "lo-95", "hi-95"}
        assert [r["year"] for r in data["forecast"]] == list(range(2025, 2030))

    def test_output_carries_history_settings_versions_and_key(
        self, japan_fit: FittedModel, japan_inputs: ForecastInputs
    ) -> None:
        forecast = predict(japan_fit, "baseline", 10, 0.8)
        data = forecast.to_dict()
        request = ForecastRequest(Target("JPN"), get_scenario("baseline"), 10, 0.8, HistoryWindow(), 0)
        assert data["key"] == forecast.key == content_key(request, japan_inputs)
        assert data["data_version"] == japan_inputs.data_version
        assert data["model_version"]
        assert data["model"]["settings"]["drivers"] == list(japan_fit.design.settings.drivers or ())
        excluded = [h for h in data["history"] if not h["used_in_fit"]]
        assert excluded
        assert all(h["excluded_because"] for h in excluded)
        assert any("vintages" in note for note in data["notes"])

    def test_components_add_up_to_the_point_forecast(self, statistical_fit: FittedModel) -> None:
        forecast = predict(statistical_fit, POLICY_WHAT_IF)
        for row in forecast.years:
            z = sum(row.components.values())
            assert statistical_fit.design.scale.inverse(z) == pytest.approx(row.point, rel=1e-9, abs=1e-12)

    def test_the_baseline_point_is_the_coherent_ensemble(self, statistical_fit: FittedModel) -> None:
        forecast = predict(statistical_fit, "baseline")
        members = statistical_fit.base.members["JPN"]
        equal = np.mean(np.vstack(list(members.values())), axis=0) * statistical_fit.base.factor
        assert [r.point for r in forecast.years] == pytest.approx(equal[:10], rel=1e-12)
        described = forecast.to_dict()["model"]["members"]
        assert set(described) == set(members) and "prophet" in described
        assert sum(m["weight"] for m in described.values()) == pytest.approx(1.0)

    def test_a_scenario_moves_the_base_by_its_driver_differences(self, statistical_fit: FittedModel) -> None:
        rows = predict(statistical_fit, POLICY_WHAT_IF).years
        scale = statistical_fit.design.scale
        for row, base in zip(rows, predict(statistical_fit, "baseline").years, strict=True):
            shift = sum(v for k, v in row.components.items() if k != "statistical_base")
            assert row.point == pytest.approx(float(scale.inverse(scale.forward(base.point) + shift)), rel=1e-9)

    def test_wider_intervals_contain_narrower_ones(self, japan_fit: FittedModel) -> None:
        narrow, wide = predict(japan_fit, "baseline", 10, 0.5), predict(japan_fit, "baseline", 10, 0.95)
        for n, w in zip(narrow.years, wide.years, strict=True):
            assert w.lower <= n.lower <= n.upper <= w.upper
            assert n.point == w.point

    def test_baseline_differs_from_itself_by_nothing(self, japan_fit: FittedModel) -> None:
        assert all(r.difference == (0.0, 0.0, 0.0) for r in predict(japan_fit, "baseline").years)

    def test_a_policy_what_if_moves_the_share_in_the_direction_of_its_coefficient(
        self, statistical_fit: FittedModel
    ) -> None:
        sign = np.sign(statistical_fit.coefficients["export_policy_openness"])
        rows = {r.year: r for r in predict(statistical_fit, POLICY_WHAT_IF).years}
        assert rows[2025].difference[0] == pytest.approx(0.0, abs=1e-12)  # the change starts in 2026
        assert all(np.sign(rows[y].difference[0]) == sign for y in range(2026, 2035))

    def test_a_known_delivery_adds_its_share_of_the_world_total(
        self, statistical_fit: FittedModel, japan_inputs: ForecastInputs
    ) -> None:
        with_delivery = parse_scenario({"name": "frigates", "known_deliveries": {"2028": 50}})
        row = {r.year: r for r in predict(statistical_fit, with_delivery).years}[2028]
        base = {r.year: r for r in predict(statistical_fit, "baseline").years}[2028]
        added = 100 * 50 / statistical_fit.base.world[2028 - 2025]  # against the world forecast for 2028
        assert row.known_delivery == pytest.approx(added)
        assert row.point - base.point == pytest.approx(added)
        assert row.difference[0] == pytest.approx(added)

    def test_settings_the_model_was_not_fitted_with_are_refused(self, japan_fit: FittedModel) -> None:
        flat = with_settings(get_scenario("baseline"), growth="flat")
        with pytest.raises(NotFittedError, match="fitted") as caught:
            predict(japan_fit, flat)
        assert caught.value.field == "scenario.settings"

    def test_predict_needs_a_fitted_model(self) -> None:
        with pytest.raises(NotFittedError):
            predict(None, "baseline")  # type: ignore[arg-type]

    def test_horizon_is_validated(self, japan_fit: FittedModel) -> None:
        with pytest.raises(InvalidScenario, match="got 45"):
            predict(japan_fit, "baseline", horizon=45)


class TestScenarioSets:
    def test_a_shared_specification_is_fitted_once_and_equals_separate_fits(
        self, japan_inputs: ForecastInputs
    ) -> None:
        what_if = parse_scenario({"name": "budget-plus-20", "changes": [
            {"driver": "japan_defence_spending", "op": "multiply", "value": 1.2, "from_year": 2026}]})
        scenarios: list[Scenario | str] = [*JAPAN_SCENARIOS, what_if]
        result = forecast_scenarios(japan_inputs, scenarios, Target("JPN"), horizon=8, seed=3)
        assert result.fit_groups == (tuple(s if isinstance(s, str) else s.name for s in scenarios),)
        for scenario in scenarios:
            name = scenario if isinstance(scenario, str) else scenario.name
            alone = predict(fit(japan_inputs, ModelSpec(Target("JPN")), seed=3), scenario, 8)
            assert result.forecasts[name].to_json() == alone.to_json()

    def test_different_settings_get_their_own_fit(self, japan_inputs: ForecastInputs) -> None:
        flexible = parse_scenario({"name": "flexible", "settings": {"changepoint_prior_scale": 0.5}})
        result = forecast_scenarios(japan_inputs, ["baseline", flexible], Target("JPN"), horizon=5)
        assert result.fit_groups == (("baseline",), ("flexible",))
        alone = predict(fit(japan_inputs, ModelSpec(Target("JPN"), settings=flexible.settings)), flexible, 5)
        assert result.forecasts["flexible"].to_json() == alone.to_json()
        table = result.to_dict()["comparison"]
        assert set(table[0]) == {"year", "baseline", "flexible"}

    def test_duplicate_names_are_refused(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidScenario, match="twice"):
            forecast_scenarios(japan_inputs, ["baseline", SCENARIOS["baseline"]], Target("JPN"))


class TestEdgeCases:
    def test_a_country_that_never_exported_gets_zero_forecasts(self, japan_inputs: ForecastInputs) -> None:
        never = replace(japan_inputs, target_tiv=dict.fromkeys(japan_inputs.world_tiv, 0.0), pipeline=(),
                        panel_tiv={**japan_inputs.panel_tiv, "JPN": dict.fromkeys(japan_inputs.world_tiv, 0.0)})
        forecast = predict(fit(never, ModelSpec(Target("JPN"))), "baseline", 5)
        assert all(r.point == 0.0 and r.lower == 0.0 for r in forecast.years)
        assert max(r.upper for r in forecast.years) < 1e-6


class TestOtherCountries:
    def test_an_as_of_forecast_of_another_supplier_ignores_today_s_japanese_pipeline(
            self, korea_inputs: ForecastInputs) -> None:
        # as of 2015, Japan's deals ordered and announced since (radars, PAC-3, frigates) were not known
        spec = ModelSpec(Target("USA"), HistoryWindow(end=2015))
        usa = replace(korea_inputs, country="USA", target_tiv=korea_inputs.panel_tiv["USA"])
        assert usa.pipeline  # the API passes the catalogue with every target
        with_deals = predict(fit(usa, spec), "baseline", 10).points
        without = predict(fit(replace(usa, pipeline=()), spec), "baseline", 10).points
        assert with_deals == without
        today = ModelSpec(Target("USA"))  # from the latest data the room made for Japan's deals stays
        assert predict(fit(usa, today), "baseline", 10).points != predict(
            fit(replace(usa, pipeline=()), today), "baseline", 10).points

    def test_world_demand_leaves_korea_s_share_alone(self, korea_inputs: ForecastInputs) -> None:
        result = forecast_scenarios(korea_inputs, ["baseline", "demand-surge"], Target("KOR"), horizon=10)
        forecast = result.forecasts["demand-surge"]
        assert forecast.design.settings.drivers == ("own_military_expenditure",)
        assert forecast.points == result.forecasts["baseline"].points  # a common factor moves no share
        assert 0.0 <= min(bounded_values(forecast))
        assert max(bounded_values(forecast)) <= 100.0

    def test_world_demand_raises_the_world_total(self, world_inputs: ForecastInputs) -> None:
        result = forecast_scenarios(world_inputs, ["baseline", "demand-surge"], Target("WLD", "tiv"), horizon=10)
        surge, base = result.forecasts["demand-surge"], result.forecasts["baseline"]
        elasticity = surge.model["world_demand"]
        assert elasticity["estimated_or_asserted"] == "estimated" and elasticity["standard_error"] > 0
        assert all(np.sign(surge.points[y] - base.points[y]) == np.sign(elasticity["value"]) for y in range(2026, 2035))
        for s, b in zip(surge.years, base.years, strict=True):  # the elasticity's uncertainty widens the interval
            assert s.upper - s.lower >= b.upper - b.lower

    def test_world_demand_moves_a_supplier_s_tiv_but_not_its_share(self, korea_inputs: ForecastInputs) -> None:
        tiv = forecast_scenarios(korea_inputs, ["baseline", "demand-surge"], Target("KOR", "tiv"), horizon=8)
        share = forecast_scenarios(korea_inputs, ["baseline", "demand-surge"], Target("KOR"), horizon=8)
        assert share.forecasts["demand-surge"].points == share.forecasts["baseline"].points
        assert tiv.forecasts["demand-surge"].points != tiv.forecasts["baseline"].points

    def test_a_country_without_driver_data_gets_a_trend_model(self, korea_inputs: ForecastInputs) -> None:
        bare = replace(korea_inputs, drivers={})
        forecast = predict(fit(bare, ModelSpec(Target("KOR"))), "baseline", 5)
        assert forecast.design.settings.drivers == ()
        assert forecast.design.history.fit_points[0].year == min(bare.world_tiv)


class TestProphetHousekeeping:
    def test_temporary_files_are_removed(
        self, japan_inputs: ForecastInputs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import cmdstanpy

        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's own temporary directory
        before = set(os.listdir(cmdstanpy._TMPDIR))  # cmdstanpy's per-process directory
        predict(fit(japan_inputs, ModelSpec(Target("JPN"))), "baseline")
        assert set(os.listdir(cmdstanpy._TMPDIR)) == before
        assert list(tmp_path.iterdir()) == []

    def test_console_stays_quiet(self, japan_inputs: ForecastInputs) -> None:
        code = (
            "import json, sys\n"
            "from forecasting.inputs import ForecastInputs\n"
            "from forecasting.model import ModelSpec, fit, predict\n"
            "from forecasting.series import Target\n"
            "inputs = ForecastInputs.from_dict(json.load(sys.stdin))\n"
            "predict(fit(inputs, ModelSpec(Target('JPN'))), 'baseline')\n"
        )
        done = subprocess.run([sys.executable, "-c", code], input=json.dumps(japan_inputs.to_dict()),
                              capture_output=True, text=True, timeout=120, check=True)
        assert (done.stdout, done.stderr) == ("", "")


def test_default_settings_are_shared_by_the_catalogue() -> None:
    assert {s.settings for s in SCENARIOS.values()} == {ModelSettings()}


def test_untransformed_prophet_with_a_floor_would_go_negative(japan_inputs: ForecastInputs) -> None:
    """Why the model works on the logit scale: Prophet's floor bounds the trend, not the interval."""
    import pandas as pd

    from forecasting.members import prophet_class

    years = range(1988, 2025)
    share = [100 * japan_inputs.target_tiv.get(y, 0.0) / japan_inputs.world_tiv[y] for y in years]
    frame = pd.DataFrame({"ds": pd.to_datetime([f"{y}-01-01" for y in years]), "y": share,
                          "cap": 100.0, "floor": 0.0})
    raw = prophet_class()(growth="logistic", yearly_seasonality=False, weekly_seasonality=False,
                           daily_seasonality=False, uncertainty_samples=500)
    with tempfile.TemporaryDirectory() as tmp:
        raw.fit(frame, seed=0, output_dir=tmp)
    future = pd.DataFrame({"ds": pd.to_datetime([f"{y}-01-01" for y in range(2025, 2035)]),
                           "cap": 100.0, "floor": 0.0})
    np.random.seed(0)
    assert raw.predict(future)["yhat_lower"].min() < 0.0


class TestRequestedInterval:
    @pytest.mark.parametrize("width", [0.5, 0.9, 0.99])
    def test_any_width_says_how_often_it_held(self, korea_inputs: ForecastInputs, width: float) -> None:
        model = predict(fit(korea_inputs, ModelSpec(Target("KOR"))), "baseline", 5, width).to_dict()["model"]
        asked = model["requested_interval"]
        assert asked["nominal"] == width and asked["measure"] == "share" and asked["n_h1_5"] > 3000
        assert abs(asked["measured_h1_5"] - width) < 0.03  # calibrated the same way at every width
        assert set(asked["measured_by_horizon"]) == {str(h) for h in range(1, 11)}

    def test_at_80_and_95_it_is_the_card_s_coverage(self, korea_inputs: ForecastInputs) -> None:
        fitted = fit(korea_inputs, ModelSpec(Target("KOR")))
        card = load_card()
        for width, key in ((0.8, "measured_80"), (0.95, "measured_95")):
            asked = predict(fitted, "baseline", 5, width).to_dict()["model"]["requested_interval"]
            assert asked["measured_h1_5"] == pytest.approx(card.data["accuracy"]["overall_h1_5"]["models"]["served"][
                "coverage_" + key[-2:]], abs=1e-6)
            for h, value in asked["measured_by_horizon"].items():
                assert value == pytest.approx(card.data["coverage"][h][key], abs=1e-6)

    def test_the_world_total_uses_its_own_errors(self, world_inputs: ForecastInputs) -> None:
        asked = predict(fit(world_inputs, ModelSpec(Target("WLD", "tiv"))), "baseline", 5, 0.8).to_dict()[
            "model"]["requested_interval"]
        assert asked["measure"] == "world" and asked["n_h1_5"] < 200


class TestSupplierTivBounds:
    """A supplier never exports more than the world: its TIV upper bound is at most the world total's."""

    def test_no_shipped_supplier_s_tiv_upper_bound_exceeds_the_world_s_at_any_width(
            self, inputs_for: Any) -> None:
        world_inputs = inputs_for("WLD")
        codes = sorted(c for c in world_inputs.panel_tiv if c != "JPN")
        capped = 0
        for width in (0.5, 0.95, 0.99):
            world = predict(fit(world_inputs, ModelSpec(Target("WLD", "tiv"))), "baseline", 10, width)
            world_upper = {r.year: r.upper for r in world.years}
            for code in codes:
                forecast = predict(fit(inputs_for(code), ModelSpec(Target(code, "tiv"))), "baseline", 10, width)
                for r in forecast.years:
                    assert 0.0 <= r.lower <= r.upper <= world_upper[r.year] + 1e-6, (code, width, r.year)
                    assert r.point <= world.years[r.year - world.years[0].year].point + 1e-6
                    capped += r.upper >= world_upper[r.year] - 1e-6
        assert capped > 0  # at 99 % the cap binds (the United States, China, Germany, Spain, ...)
