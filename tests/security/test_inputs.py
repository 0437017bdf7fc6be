"""Every input forbids unknown fields and bounds its strings and lists (OWASP API3/API4).

The audit walks the OpenAPI document, so a new route or field that forgets a bound fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Databases
from tests.security.conftest import KEY, assert_problem, serve

# The upload body is a file: bounded by TIVCAST_MAX_UPLOAD_BYTES, not by its schema.
UNBOUNDED_BY_DESIGN = {("/v1/admin/datasets/{dataset_id}/releases", "application/octet-stream")}


@pytest.fixture(scope="module")
def client(sqlite: Databases) -> Iterator[TestClient]:
    with serve(sqlite.copy(), admin_api_key=KEY, rate_limit=None) as client:
        yield client


def unbounded(schema: dict[str, Any], components: dict[str, Any], where: str) -> Iterator[str]:
    """Places in ``schema`` that accept unknown fields or values of any length."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        yield from unbounded(components[name], components, f"{where}->{name}")
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for i, option in enumerate(schema.get(key, [])):
            yield from unbounded(option, components, f"{where}[{i}]")
    kind = schema.get("type")
    if kind == "object":
        if schema.get("additionalProperties", True) is not False and "maxProperties" not in schema:
            yield f"{where}: object accepts unknown fields"
        for name, field in schema.get("properties", {}).items():
            yield from unbounded(field, components, f"{where}.{name}")
    elif kind == "array":
        if "maxItems" not in schema:
            yield f"{where}: array without maxItems"
        yield from unbounded(schema.get("items", {}), components, f"{where}[]")
    elif kind == "string" and not {"maxLength", "pattern", "enum", "format"} & set(schema):
        yield f"{where}: string without maxLength"


def test_every_parameter_and_body_of_the_openapi_document_is_bounded(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    components = spec["components"]["schemas"]
    problems: list[str] = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                where = f"{method.upper()} {path} {parameter['in']} {parameter['name']}"
                problems += unbounded(parameter["schema"], components, where)
            for media_type, content in operation.get("requestBody", {}).get("content", {}).items():
                if (path, media_type) not in UNBOUNDED_BY_DESIGN:
                    problems += unbounded(content["schema"], components, f"{method.upper()} {path} {media_type}")
    assert not problems, "\n".join(problems)


def body(**changes: Any) -> dict[str, Any]:
    return {"target": {"country": "JPN"}, "scenario": "baseline", **changes}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(extra=1), "extra"),
        ({"target": {"country": "JPN", "currency": "USD"}}, "target.currency"),
        (body(history_window={"start": 2000, "stop": 2010}), "history_window.stop"),
        (body(scenario="x" * 65), "scenario"),
        ({"target": {"country": "JPN"}, "scenarios": ["baseline"] * 11}, "scenarios"),
        (body(scenario={f"k{i}": i for i in range(13)}), "scenario"),
        (body(scenario={"name": "big", "description": "x" * 20_000}), "scenario"),
        (body(scenario={"name": "deep", "drivers": json.loads('{"a":' * 8 + "1" + "}" * 8)}), "scenario"),
    ],
    ids=[
        "unknown field",
        "unknown nested field",
        "unknown window field",
        "long name",
        "too many scenarios",
        "too many keys",
        "too large",
        "too deep",
    ],
)
def test_forecast_requests_refuse_unknown_or_oversized_input(
    client: TestClient, payload: dict[str, Any], field: str
) -> None:
    problem = assert_problem(client.post("/v1/forecasts", json=payload), 422)
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem


def test_a_custom_scenario_within_the_bounds_reaches_the_model(client: TestClient) -> None:
    scenario = {"name": "gcap", "changes": [{"driver": "export_policy_openness", "op": "set", "value": 7}]}
    problem = assert_problem(client.post("/v1/forecasts", json=body(scenario=scenario)), 422)
    assert problem["type"] == "/problems/invalid-forecast"  # refused by forecasting's own validation
