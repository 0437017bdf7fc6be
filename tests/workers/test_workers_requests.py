"""Job specs and their keys: same request, same key; any change that matters, a new key."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from forecasting import ForecastInputs, ForecastRequest, InvalidScenario, InvalidTarget, content_key
from tests.workers.conftest import japan_forecast
from workers.requests import backtest_job, forecast_job, rebuild, scenario_set_job

JAPAN = {"country": "JPN", "measure": "share"}
CUSTOM = {"name": "open-up", "changes": [
    {"driver": "export_policy_openness", "op": "set", "value": 0.9, "from_year": 2027}]}


class TestForecastJob:
    def test_same_body_gives_the_same_key(self, japan_inputs: ForecastInputs) -> None:
        assert japan_forecast(japan_inputs).key == japan_forecast(japan_inputs).key

    def test_key_is_forecastings_content_key(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs, "liberalisation", horizon=7)
        request = ForecastRequest.from_dict({"target": JAPAN, "scenario": "liberalisation", "horizon": 7})
        assert spec.key == content_key(request, japan_inputs)

    def test_stated_defaults_give_the_same_key(self, japan_inputs: ForecastInputs) -> None:
        implicit = forecast_job({"target": JAPAN, "scenario": "baseline"}, japan_inputs)
        explicit = forecast_job({"target": JAPAN, "scenario": "baseline", "horizon": 10, "interval_width": 0.8,
                                 "history_window": {"start": None, "end": None}}, japan_inputs)
        assert implicit.key == explicit.key

    @pytest.mark.parametrize(
        "change",
        [{"scenario": "restriction"}, {"horizon": 6}, {"interval_width": 0.9}, {"scenario": CUSTOM},
         {"history_window": {"start": 1990, "end": None}}],
    )
    def test_any_change_gives_a_new_key(self, japan_inputs: ForecastInputs, change: dict[str, object]) -> None:
        base = {"target": JAPAN, "scenario": "baseline", "horizon": 5}
        assert forecast_job({**base, **change}, japan_inputs).key != forecast_job(base, japan_inputs).key

    def test_a_new_data_version_gives_a_new_key(self, japan_inputs: ForecastInputs) -> None:
        newer = replace(japan_inputs, data_version="another-version")
        assert japan_forecast(newer).key != japan_forecast(japan_inputs).key

    def test_payload_is_json_and_rebuilds_to_the_same_key(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs, CUSTOM)
        payload = json.loads(json.dumps(spec.payload))
        rebuilt, inputs = rebuild(payload)
        assert rebuilt.key == spec.key == payload["key"]
        assert inputs == japan_inputs

    def test_summary_says_what_the_job_is(self, japan_inputs: ForecastInputs) -> None:
        summary = japan_forecast(japan_inputs, "liberalisation").summary
        assert summary["kind"] == "forecast"
        assert summary["scenario"] == "liberalisation"
        assert summary["data_version"] == japan_inputs.data_version

    def test_bad_input_names_the_field(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidScenario) as error:
            japan_forecast(japan_inputs, horizon=99)
        assert error.value.field == "horizon"

    def test_inputs_of_another_country_are_refused(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidTarget) as error:
            forecast_job({"target": {"country": "KOR"}, "scenario": "baseline"}, japan_inputs)
        assert error.value.field == "target.country"


class TestScenarioSetJob:
    def test_order_is_part_of_the_key(self, japan_inputs: ForecastInputs) -> None:
        ab = scenario_set_job(JAPAN, ["baseline", "restriction"], 5, 0.8, japan_inputs)
        ba = scenario_set_job(JAPAN, ["restriction", "baseline"], 5, 0.8, japan_inputs)
        assert ab.key != ba.key
        assert ab.key == scenario_set_job(JAPAN, ["baseline", "restriction"], 5, 0.8, japan_inputs).key

    def test_key_differs_from_any_single_forecast(self, japan_inputs: ForecastInputs) -> None:
        single = scenario_set_job(JAPAN, ["baseline"], 5, 0.8, japan_inputs)
        assert single.key != japan_forecast(japan_inputs).key

    def test_rebuilds_with_custom_members(self, japan_inputs: ForecastInputs) -> None:
        spec = scenario_set_job(JAPAN, ["baseline", CUSTOM], 5, 0.8, japan_inputs, {"start": 1980, "end": None})
        assert rebuild(json.loads(json.dumps(spec.payload)))[0].key == spec.key
        assert spec.summary["scenarios"] == ["baseline", "open-up"]

    def test_a_member_error_names_the_member(self, japan_inputs: ForecastInputs) -> None:
        bad = {"name": "bad", "changes": [{"driver": "nonsense", "op": "add", "value": 1, "from_year": 2030}]}
        with pytest.raises(InvalidScenario) as error:
            scenario_set_job(JAPAN, ["baseline", bad], 5, 0.8, japan_inputs)
        assert (error.value.field or "").startswith("scenarios[1]")

    @pytest.mark.parametrize("scenarios", [[], ["baseline", "baseline"]])
    def test_empty_or_repeated_sets_are_refused(self, japan_inputs: ForecastInputs, scenarios: list[str]) -> None:
        with pytest.raises(InvalidScenario) as error:
            scenario_set_job(JAPAN, scenarios, 5, 0.8, japan_inputs)
        assert error.value.field == "scenarios"


class TestBacktestJob:
    def test_key_depends_on_horizon_and_data_version(self, japan_inputs: ForecastInputs) -> None:
        key = backtest_job(JAPAN, japan_inputs).key
        assert key == backtest_job(JAPAN, japan_inputs, horizon=5).key
        assert key != backtest_job(JAPAN, japan_inputs, horizon=3).key
        assert key != backtest_job(JAPAN, replace(japan_inputs, data_version="v2")).key
        assert key != backtest_job({"country": "JPN", "measure": "tiv"}, japan_inputs).key

    def test_bad_horizon_and_target_name_their_fields(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidScenario) as horizon:
            backtest_job(JAPAN, japan_inputs, horizon=0)
        with pytest.raises(InvalidTarget) as measure:
            backtest_job({"country": "JPN", "measure": "volume"}, japan_inputs)
        assert (horizon.value.field, measure.value.field) == ("horizon", "target.measure")
