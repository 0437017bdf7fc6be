"""Requests, canonical JSON and content keys (DESIGN.md, "Forecast identity")."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import replace

import pytest

import forecasting.keys
from forecasting.errors import InvalidScenario, InvalidTarget
from forecasting.inputs import ForecastInputs
from forecasting.keys import ForecastRequest, canonical_json, canonical_request, content_key
from forecasting.parsing import parse_scenario
from forecasting.scenarios import get_scenario, with_settings
from forecasting.series import HistoryWindow, Target


def request(**changes: object) -> ForecastRequest:
    return replace(ForecastRequest(Target("JPN"), get_scenario("baseline")), **changes)  # type: ignore[arg-type]


class TestForecastRequest:
    def test_horizon_out_of_range_is_refused_with_the_value(self) -> None:
        with pytest.raises(InvalidScenario) as caught:
            request(horizon=45)
        assert str(caught.value) == "'horizon' must be between 1 and 30, got 45"
        assert caught.value.field == "horizon"

    @pytest.mark.parametrize("width", [0.0, 1.0, 1.5, -0.2])
    def test_interval_width_must_be_inside_0_1(self, width: float) -> None:
        with pytest.raises(InvalidScenario, match=r"'interval_width' must be in \(0, 1\)") as caught:
            request(interval_width=width)
        assert caught.value.field == "interval_width"

    def test_round_trip_through_json_keeps_the_key(self, japan_inputs: ForecastInputs) -> None:
        custom = parse_scenario({"changes": [
            {"driver": "japan_defence_spending", "op": "multiply", "value": 1.2, "from_year": 2028}]})
        for original in (request(), request(scenario=custom, horizon=7, window=HistoryWindow(1990, None))):
            shipped = ForecastRequest.from_dict(json.loads(json.dumps(original.to_dict())))
            assert shipped == original
            assert content_key(shipped, japan_inputs) == content_key(original, japan_inputs)


    def test_malformed_request_bodies_name_the_field(self) -> None:
        with pytest.raises(InvalidTarget) as caught:
            ForecastRequest.from_dict({"target": "JPN", "scenario": "baseline"})
        assert caught.value.field == "target"
        with pytest.raises(InvalidScenario) as unknown:
            ForecastRequest.from_dict({"target": {"country": "JPN"}, "scenario": "utopia"})
        assert unknown.value.field == "scenario.name"


class TestContentKey:
    def test_same_request_same_key(self, japan_inputs: ForecastInputs) -> None:
        key = content_key(request(), japan_inputs)
        assert key == content_key(request(), ForecastInputs.from_dict(japan_inputs.to_dict()))
        assert len(key) == 64
        assert int(key, 16) >= 0

    def test_key_is_sha256_of_the_canonical_json(self, japan_inputs: ForecastInputs) -> None:
        canonical = canonical_json(canonical_request(request(), japan_inputs))
        assert content_key(request(), japan_inputs) == hashlib.sha256(canonical.encode()).hexdigest()
        assert canonical == json.dumps(json.loads(canonical), sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False)

    def test_named_scenario_is_expanded_to_concrete_paths(self, japan_inputs: ForecastInputs) -> None:
        scenario = canonical_request(request(), japan_inputs)["scenario"]
        paths = scenario["drivers"]["japan_defence_spending"]
        assert sorted(paths) == [str(y) for y in range(2025, 2035)]
        assert all(isinstance(v, float) for v in paths.values())

    @pytest.mark.parametrize(
        "change",
        [
            {"horizon": 11},
            {"interval_width": 0.9},
            {"window": HistoryWindow(1990, None)},
            {"target": Target("JPN", "tiv")},
            {"scenario": get_scenario("liberalisation")},
            {"seed": 1},
        ],
    )
    def test_any_change_of_the_request_changes_the_key(
        self, japan_inputs: ForecastInputs, change: dict[str, object]
    ) -> None:
        assert content_key(request(**change), japan_inputs) != content_key(request(), japan_inputs)

    def test_new_data_version_gives_a_new_key(self, japan_inputs: ForecastInputs) -> None:
        newer = replace(japan_inputs, data_version=japan_inputs.data_version + "-next")
        assert content_key(request(), newer) != content_key(request(), japan_inputs)

    def test_new_model_version_gives_a_new_key(
        self, japan_inputs: ForecastInputs, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        before = content_key(request(), japan_inputs)
        monkeypatch.setattr(forecasting.keys, "MODEL_VERSION", "next")
        assert content_key(request(), japan_inputs) != before

    def test_float_noise_does_not_change_the_key(self, japan_inputs: ForecastInputs) -> None:
        assert content_key(request(interval_width=0.1 + 0.7), japan_inputs) == content_key(
            request(interval_width=0.8), japan_inputs
        )

    def test_a_change_and_a_path_with_the_same_values_share_a_key(
        self, japan_inputs: ForecastInputs
    ) -> None:
        as_change = parse_scenario({"name": "x", "title": "t", "description": "d", "changes": [
            {"driver": "export_policy_openness", "op": "set", "value": 0.8, "from_year": 2026}]})
        as_path = parse_scenario({"name": "x", "title": "t", "description": "d", "drivers": {
            "export_policy_openness": {"mode": "level", "values": {"2026": 0.8}}}})
        assert content_key(request(scenario=as_change), japan_inputs) == content_key(
            request(scenario=as_path), japan_inputs
        )


class TestCanonicalJson:
    def test_sorted_keys_no_whitespace(self) -> None:
        assert canonical_json({"b": 1, "a": [1.5, None, True]}) == '{"a":[1.5,null,true],"b":1}'

    def test_negative_zero_and_rounding_are_normalised(self) -> None:
        assert canonical_json({"x": -0.0, "y": 0.30000000000000004}) == '{"x":0.0,"y":0.3}'

    def test_non_finite_numbers_are_refused(self) -> None:
        with pytest.raises(ValueError, match="non-finite"):
            canonical_json({"x": float("nan")})


def test_keys_and_scenarios_do_not_import_the_model_stack() -> None:
    code = (
        "import sys, forecasting, forecasting.keys, forecasting.parsing, forecasting.model; "
        "assert 'prophet' not in sys.modules and 'cmdstanpy' not in sys.modules, 'model stack imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


def test_custom_settings_on_a_built_in_scenario_round_trip(japan_inputs: ForecastInputs) -> None:
    flat = with_settings(get_scenario("liberalisation"), growth="flat")
    assert not flat.builtin
    original = request(scenario=flat)
    shipped = ForecastRequest.from_dict(json.loads(json.dumps(original.to_dict())))
    assert content_key(shipped, japan_inputs) == content_key(original, japan_inputs)
