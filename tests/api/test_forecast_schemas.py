"""The forecast, job, compare and backtest operations have typed schemas, and real responses conform to them."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.api.test_forecasts import computed, wait_for

OPERATIONS = [("post", "/v1/forecasts"), ("get", "/v1/forecasts/latest"), ("get", "/v1/forecasts/compare"),
              ("get", "/v1/backtests"), ("get", "/v1/forecasts/{key}"), ("get", "/v1/jobs/{key}")]


def check(document: dict[str, Any], component: str, body: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{component}", "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


def test_every_forecast_operation_declares_typed_bodies(forecast_client: TestClient) -> None:
    document = forecast_client.get("/openapi.json").json()
    for method, path in OPERATIONS:
        responses = document["paths"][path][method]["responses"]
        for status in ("200", "202") if path != "/v1/jobs/{key}" else ("200",):  # a job is its own 200
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema != {} and ("$ref" in schema or "anyOf" in schema), (method, path, status)


def test_real_responses_conform(forecast_client: TestClient) -> None:
    document = forecast_client.get("/openapi.json").json()
    first = forecast_client.post("/v1/forecasts", json={"target": {"country": "KOR"}, "scenario": "baseline",
                                                        "horizon": 4})
    if first.status_code == 202:
        check(document, "JobDocument", first.json())
    key = first.headers.get("location", "").rsplit("/", 1)[-1] or first.json()["key"]
    wait_for(forecast_client, key)
    check(document, "JobDocument", forecast_client.get(f"/v1/jobs/{key}").json())
    check(document, "ForecastResult", forecast_client.get(f"/v1/forecasts/{key}").json())
    japan = computed(forecast_client, forecast_client.get("/v1/forecasts/latest", params={"country": "JPN"})).json()
    check(document, "ForecastResult", japan)
    assert japan["pipeline"] is not None
    compare = computed(forecast_client, forecast_client.get("/v1/forecasts/compare", params={
        "country": "JPN", "scenarios": "baseline,restriction", "horizon": 3})).json()
    check(document, "ScenarioSetResult", compare)
    backtest = computed(forecast_client, forecast_client.get("/v1/backtests", params={"country": "CHN"})).json()
    check(document, "BacktestReport", backtest)


@pytest.mark.parametrize("component", ["ForecastResult", "BacktestReport", "JobDocument", "ScenarioSetResult"])
def test_a_body_missing_a_typed_field_is_refused_by_the_schema(forecast_client: TestClient, component: str) -> None:
    document = forecast_client.get("/openapi.json").json()
    with pytest.raises(jsonschema.ValidationError, match="is a required property"):
        check(document, component, {})
