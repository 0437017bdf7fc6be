"""The glue from payloads to forecasting, called directly (as the tasks and the embedded pool do)."""

from __future__ import annotations

import json
from dataclasses import replace

import grimp
import pytest

from forecasting import ForecastInputs, InsufficientData, Target
from forecasting.model import forecast_scenarios
from tests.workers.conftest import japan_forecast
from workers import compute
from workers.requests import backtest_job, scenario_set_job

JAPAN = {"country": "JPN", "measure": "share"}


class TestRun:
    def test_forecast_bytes_are_the_forecasts_canonical_json(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs, "liberalisation")
        body, fits = compute.run(spec.payload)
        direct = forecast_scenarios(japan_inputs, ["liberalisation"], Target("JPN"), horizon=5)
        assert body == direct.forecasts["liberalisation"].to_json().encode()
        assert json.loads(body)["key"] == spec.key
        assert fits == 1

    def test_a_scenario_set_fits_once_per_distinct_settings(self, japan_inputs: ForecastInputs) -> None:
        spec = scenario_set_job(JAPAN, ["baseline", "liberalisation", "restriction"], 5, 0.8, japan_inputs)
        body, fits = compute.run(spec.payload)
        result = json.loads(body)
        assert fits == 1
        assert (result["key"], result["kind"]) == (spec.key, "scenario_set")
        assert list(result["forecasts"]) == ["baseline", "liberalisation", "restriction"]

    def test_a_payload_under_the_wrong_key_fails(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs)
        with pytest.raises(compute.KeyMismatch):
            compute.run({**spec.payload, "key": "f" * 64})

    def test_an_input_error_is_a_forecasting_error(self, japan_inputs: ForecastInputs) -> None:
        unknown = replace(japan_inputs, country="ZZZ")  # a supplier the evaluation never scored
        with pytest.raises(InsufficientData, match="not evaluated"):
            compute.run(backtest_job({"country": "ZZZ", "measure": "share"}, unknown).payload)

    def test_test_hooks_are_ignored_without_the_environment(self, japan_inputs: ForecastInputs,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv(compute.TEST_HOOKS_ENV, raising=False)
        spec = japan_forecast(japan_inputs)
        body, _ = compute.run({**spec.payload, "test_hook": {"crash": True}})  # would SIGKILL this process
        assert json.loads(body)["key"] == spec.key


API_FACING = ["workers.client", "workers.requests", "workers.settings", "workers.jobs", "workers.cache",
              "workers.breaker", "workers.embedded", "workers.celery_app", "workers.cli"]


def test_api_facing_modules_never_reach_the_model() -> None:
    """Like import-linter, grimp follows imports inside functions too; the model is reached by name only."""
    graph = grimp.build_graph("workers", "forecasting", include_external_packages=True)
    forbidden = ["prophet", "forecasting.model", "forecasting.backtest", "workers.compute", "workers.tasks"]
    assert "prophet" in graph.modules  # so that the check below can fail
    chains = {(m, f): graph.find_shortest_chain(importer=m, imported=f) for m in API_FACING for f in forbidden}
    assert {pair: chain for pair, chain in chains.items() if chain is not None} == {}
