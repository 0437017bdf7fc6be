"""The forecast, job, compare and backtest operations have typed schemas, and real responses conform to them."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict

from api.forecasts.schemas import BacktestReport, ElasticityOut, ForecastResult, JobDocument, ScenarioSetResult
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


# --- the nested parts are typed: real responses validate against the pydantic models, and no field is Any ---

# The fields that used to be free-form (``dict[str, Any]`` / ``Any``), by component.
NESTED = {
    "ScenarioOut": ("settings", "pipeline"),
    "ModelOut": ("coherence", "accuracy", "drivers"),
    "Assumption": ("value", "source"),
    "PipelineOut": ("deals", "breakdown"),
    "ForecastResult": ("request",),
    "ScenarioSetResult": ("comparison",),
    "BacktestReport": ("evaluated_on", "metrics_h1_5", "all_suppliers_h1_5"),
}
RESPONSES = ("ForecastResult", "ScenarioSetResult", "BacktestReport", "ScenarioOut", "JobDocument")
# A custom Japan scenario that exercises every part of a scenario's pipeline: edits, an added deal, a stated
# elasticity, other settings and a known delivery.
JAPAN_CUSTOM = {
    "name": "typed-pipeline",
    "base": "demand-surge",
    "settings": {"changepoint_prior_scale": 0.1},
    "known_deliveries": {"2027": 50},
    "pipeline": {
        "prospects": "liberalised",
        "elasticity": 1.0,
        "edits": [{"deal_id": "usa-pac3-mse", "units": 12, "tiv_per_unit": [1.2, 1.5, 1.8]}],
        "added": [
            {
                "deal_id": "nz-frigates",
                "recipient": "NZL",
                "system": "frigate",
                "order_year": 2027,
                "units_ordered": 2,
                "tiv_per_unit": 300,
                "delivery_years": [2031, 2032],
                "probability": 0.3,
                "slip_probability": 0.3,
            }
        ],
    },
}


def untyped(schema: Any, where: str) -> list[str]:
    """The places of ``schema`` that accept any value: ``{}`` (``Any``), ``additionalProperties`` true or ``{}``
    (``dict[str, Any]``), an object without properties or additionalProperties, an array without items."""
    found: list[str] = []
    if not isinstance(schema, dict):
        return found
    if not {k: v for k, v in schema.items() if k not in ("title", "description", "default", "examples")}:
        return [where]
    if schema.get("additionalProperties") in (True, {}):
        found.append(f"{where}.additionalProperties")
    if schema.get("type") == "object" and "properties" not in schema and "additionalProperties" not in schema:
        found.append(where)
    if schema.get("type") == "array" and "items" not in schema:
        found.append(where)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            found += untyped(sub, f"{where}.{key}[{i}]")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += untyped(schema[key], f"{where}.{key}")
    for name, sub in schema.get("properties", {}).items():
        found += untyped(sub, f"{where}.{name}")
    return found


def reachable(components: dict[str, Any], roots: tuple[str, ...]) -> set[str]:
    """The components ``roots`` refer to, directly or not (and the roots)."""
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            text = json.dumps(components[name])
            todo += re.findall(r'"#/components/schemas/([^"]+)"', text)
    return seen


def fields_typed_any(components: dict[str, Any], names: set[str]) -> list[str]:
    """Every field of the components ``names`` that accepts any value. A component's own
    ``additionalProperties: true`` is allowed: it is ``extra="allow"``, so that fields can be added later."""
    found: list[str] = []
    for name in sorted(names):
        component = components[name]
        for field, schema in component.get("properties", {}).items():
            found += untyped(schema, f"{name}.{field}")
        if isinstance(component.get("additionalProperties"), dict):
            found += untyped(component["additionalProperties"], f"{name}.additionalProperties")
    return found


def test_the_any_finder_finds_any_and_untyped_dicts() -> None:
    class Loose(BaseModel):
        anything: Any
        mapping: dict[str, Any]
        rows: list[dict[str, Any]]
        maybe: dict[str, Any] | None
        typed: dict[str, float] | None
        union: float | list[int] | str

    found = fields_typed_any({"Loose": Loose.model_json_schema()}, {"Loose"})
    assert sorted(found) == [
        "Loose.anything",
        "Loose.mapping.additionalProperties",
        "Loose.maybe.anyOf[0].additionalProperties",
        "Loose.rows.items.additionalProperties",
    ]


def test_no_field_of_the_forecast_schemas_is_typed_any(forecast_client: TestClient) -> None:
    components = forecast_client.get("/openapi.json").json()["components"]["schemas"]
    names = reachable(components, RESPONSES)
    assert set(NESTED) <= names and {"PipelineDealOut", "AccuracyOut", "RequestOut", "AccuracyTable"} <= names
    for component, fields in NESTED.items():
        assert set(fields) <= set(components[component]["properties"]), component
    assert fields_typed_any(components, names) == []


def undeclared(components: dict[str, Any], schema: Any, value: Any, where: str) -> list[str]:
    """The keys of ``value``, recursively, that ``schema`` does not declare: neither a property nor covered by a
    typed ``additionalProperties`` (a map such as ``additionalProperties: {type: number}``). A component's own
    ``additionalProperties: true`` (``extra="allow"``) declares nothing: such a key is an untyped
    ``additional_properties`` entry of a generated client. Of the branches of an ``anyOf``, the ones ``value``
    validates against are followed."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        return undeclared(components, components["schemas"][schema["$ref"].rsplit("/", 1)[1]], value, where)
    if "allOf" in schema:
        return [f for sub in schema["allOf"] for f in undeclared(components, sub, value, where)]
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        fitting = [b for b in branches if jsonschema.Draft202012Validator({**b, "components": components})
                   .is_valid(value)] or branches
        return min((undeclared(components, b, value, where) for b in fitting), key=len)
    found: list[str] = []
    if isinstance(value, dict):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
        for key, item in value.items():
            if key in properties:
                found += undeclared(components, properties[key], item, f"{where}.{key}")
            elif isinstance(extra, dict) and extra:
                found += undeclared(components, extra, item, f"{where}[{key}]")
            else:
                found.append(f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            found += undeclared(components, schema["items"], item, f"{where}[]")
    return found


def test_the_undeclared_finder_finds_keys_outside_the_schema() -> None:
    class Row(BaseModel):
        model_config = ConfigDict(extra="allow")
        year: int

    class Body(BaseModel):
        model_config = ConfigDict(extra="allow")
        rows: list[Row]
        by_name: dict[str, Row]
        values: dict[str, float]
        maybe: Row | None = None

    components = {"schemas": {"Body": Body.model_json_schema(ref_template="#/components/schemas/{model}")}}
    components["schemas"] |= components["schemas"]["Body"].pop("$defs")
    body = {"rows": [{"year": 1, "extra": 2}], "by_name": {"a": {"year": 1}, "b": {"year": 2, "note": ""}},
            "values": {"x": 1.0}, "maybe": {"year": 3, "more": 1}, "loose": True}
    found = undeclared(components, {"$ref": "#/components/schemas/Body"}, body, "Body")
    assert sorted(found) == ["Body.by_name[b].note", "Body.loose", "Body.maybe.more", "Body.rows[].extra"]


def followed(client: TestClient, response: Any, seen: list[tuple[str, Any]]) -> Any:
    """The finished result of ``response``; a 202's job document and the finished job's are added to ``seen``."""
    if response.status_code == 202:
        seen.append(("JobDocument", response.json()))
        key = response.headers["location"].rsplit("/", 1)[1]
        seen.append(("JobDocument", wait_for(client, key)))
    return computed(client, response).json()


def test_real_responses_carry_no_undeclared_field(forecast_client: TestClient) -> None:
    """Every key of a real response is declared by its schema component, recursively: a client generated from
    the document sees each one as a typed attribute, not as an untyped additional property. The targets differ
    in what they carry: Japan (share and TIV) a pipeline and world demand, other TIV targets world demand, the
    world total its members' TIV forecasts, a custom scenario stated elasticities and added deals."""
    client = forecast_client
    components = client.get("/openapi.json").json()["components"]
    seen: list[tuple[str, Any]] = []
    bodies = [
        {"target": {"country": "JPN"}, "scenario": JAPAN_CUSTOM, "horizon": 8},
        {"target": {"country": "KOR"}, "scenario": "baseline", "horizon": 4},
        {"target": {"country": "USA", "measure": "tiv"}, "scenario": "demand-surge", "horizon": 3},
        {"target": {"country": "WLD", "measure": "tiv"}, "scenario": "demand-surge", "horizon": 3},
        {"target": {"country": "JPN", "measure": "tiv"}, "scenario": "restriction", "horizon": 3},
    ]
    for body in bodies:
        seen.append(("ForecastResult", followed(client, client.post("/v1/forecasts", json=body), seen)))
    latest = client.get("/v1/forecasts/latest", params={"country": "JPN"})
    seen.append(("ForecastResult", followed(client, latest, seen)))
    params = {"country": "JPN", "scenarios": "baseline,restriction", "horizon": 3}
    seen.append(("ScenarioSetResult", followed(client, client.get("/v1/forecasts/compare", params=params), seen)))
    for params in ({"country": "JPN"}, {"country": "CHN"}, {"country": "WLD", "measure": "tiv"}):
        report = client.get("/v1/backtests", params=params)
        seen.append(("BacktestReport", followed(client, report, seen)))
    assert {c for c, _ in seen} == {"ForecastResult", "ScenarioSetResult", "BacktestReport", "JobDocument"}
    found = sorted({f for component, body in seen
                    for f in undeclared(components, {"$ref": f"#/components/schemas/{component}"}, body, component)})
    assert found == [], "undeclared in real responses:\n" + "\n".join(found)


def result(client: TestClient, response: Any) -> Any:
    return computed(client, response).json()


def test_real_responses_validate_against_the_pydantic_models(forecast_client: TestClient) -> None:
    client = forecast_client
    body = {"target": {"country": "JPN"}, "scenario": JAPAN_CUSTOM, "horizon": 8}
    japan = ForecastResult.model_validate(result(client, client.post("/v1/forecasts", json=body)), strict=True)
    assert japan.pipeline is not None and japan.scenario.pipeline is not None
    rules = japan.scenario.pipeline
    assert japan.scenario.settings.changepoint_prior_scale == 0.1 and rules.prospects == "liberalised"
    assert [d.deal_id for d in rules.added] == ["nz-frigates"] and rules.edits[0].tiv_per_unit == [1.2, 1.5, 1.8]
    deals = {d.deal_id: d for d in japan.pipeline.deals}
    assert {"phl-jfps3-radars", "usa-pac3-mse", "nz-frigates"} <= set(deals)
    assert deals["phl-jfps3-radars"].status == "delivering" and deals["nz-frigates"].status == "prospect"
    assert deals["nz-frigates"].tiv_per_unit.central == 300 and deals["usa-pac3-mse"].units_ordered == 12
    assert set(deals["nz-frigates"].expected_tiv) == {str(r.year) for r in japan.forecast}
    for row, year in zip(japan.pipeline.breakdown, japan.forecast, strict=True):
        assert row.year == year.year
        assert row.total == pytest.approx(year.difference_from_baseline["point"], rel=1e-4, abs=1e-9)
        assert row.model_extra and all(k.startswith("deal:") for k in row.model_extra)
    assumptions = {a.name: a for a in japan.pipeline.assumptions}
    stated = assumptions["world_demand_elasticity"]
    assert stated.value == 1.0 and stated.origin == "request" and stated.tivcast_own is False  # the analyst's own
    assert isinstance(stated.source, str) and stated.source.startswith("the analyst's value in this request")
    assert assumptions["nz-frigates.delivery_years"].value == [2031, 2032]
    assert isinstance(assumptions["statistical_base"].value, str)
    assert assumptions["statistical_base"].accuracy is not None and stated.standard_error is None
    assert assumptions["nz-frigates.tiv_per_unit"].range == [300, 300]
    probability = assumptions["nz-frigates.probability"]  # added by the request: the analyst's, not tivcast's
    assert probability.tivcast_own is False and probability.origin in ("request", "default")
    assert assumptions["phl-jfps3-radars.units_remaining"].range is None
    assert japan.pipeline.model.startswith("exports = ") and japan.pipeline.breakdown_rule and japan.pipeline.interval
    accuracy = japan.model.accuracy.this_supplier
    assert accuracy is not None and accuracy.best_simple_benchmark in ("naive", "mean5") and accuracy.n > 0
    assert japan.model.coherence.suppliers > 10 and "japan_defence_spending" in japan.model.drivers
    fitted = japan.model
    assert fitted.fit_years.first < fitted.fit_years.last and fitted.fit_years.count > 30 and fitted.seed == 0
    assert fitted.transform.kind == "logit" and fitted.settings.changepoint_prior_scale == 0.1
    assert fitted.settings.drivers and fitted.world_demand is not None and fitted.world_demand.n > 10
    assert all(m.share_forecast and m.tiv_forecast is None for m in fitted.members.values())
    resolved = japan.request.scenario
    assert resolved.pipeline is not None and resolved.pipeline.elasticity == 1.0
    assert resolved.years == [r.year for r in japan.forecast] and japan.request.target.country == "JPN"

    latest = client.get("/v1/forecasts/latest", params={"country": "JPN"})
    baseline = ForecastResult.model_validate(result(client, latest), strict=True).pipeline
    assert baseline is not None
    estimated = next(a for a in baseline.assumptions if a.name == "world_demand_elasticity")
    assert isinstance(estimated.source, ElasticityOut) and estimated.value == estimated.source.value
    assert estimated.standard_error == estimated.source.standard_error

    # a non-Japan country has no pipeline (the request of test_real_responses_conform: computed once)
    body = {"target": {"country": "KOR"}, "scenario": "baseline", "horizon": 4}
    korea = ForecastResult.model_validate(result(client, client.post("/v1/forecasts", json=body)), strict=True)
    assert korea.pipeline is None and korea.request.scenario.pipeline is None
    assert korea.scenario.pipeline is not None and korea.scenario.pipeline.prospects == "baseline"
    assert korea.model.accuracy.this_supplier is not None
    assert "served" in korea.model.accuracy.all_suppliers.mase_by_model
    assert korea.model.world_demand is None and korea.model.transform.kind == "logit"  # a share: no world demand
    body = {"target": {"country": "WLD", "measure": "tiv"}, "scenario": "demand-surge", "horizon": 3}
    world = ForecastResult.model_validate(result(client, client.post("/v1/forecasts", json=body)), strict=True)
    assert world.model.world_demand is not None and world.model.transform.kind == "log"
    assert all(m.tiv_forecast and m.share_forecast is None for m in world.model.members.values())

    params = {"country": "JPN", "scenarios": "baseline,restriction", "horizon": 3}
    compare = ScenarioSetResult.model_validate(
        result(client, client.get("/v1/forecasts/compare", params=params)), strict=True
    )
    assert [r.year for r in compare.comparison] == [r.year for r in compare.forecasts["baseline"].forecast]
    assert all(set(r.model_extra or {}) == {"baseline", "restriction"} for r in compare.comparison)

    for params in ({"country": "JPN"}, {"country": "CHN"}, {"country": "KOR", "measure": "tiv"}):
        response = client.get("/v1/backtests", params=params)
        report = BacktestReport.model_validate(result(client, response), strict=True)
        assert report.evaluated_on.is_the_data_served is not None and report.evaluated_on.horizon >= 5
        for table in (report.metrics_h1_5, report.all_suppliers_h1_5):
            served = table.models["served"]
            assert table.n > 0 and served.mase is not None and served.coverage_80 is not None
            assert table.models["naive"].coverage_80 is None  # coverage is given for the served forecast only
        share = "measure" not in params
        assert (report.all_suppliers_h1_5.intermittent is not None) == share  # always-zero: scored on shares
        assert report.evaluated_measure == ("share" if share else "tiv") and report.card_model_version
        by_horizon = report.all_suppliers_by_horizon
        assert sorted(map(int, by_horizon)) == list(range(1, report.evaluated_on.horizon + 1))
        assert by_horizon["1"].models["served"].mase is not None and by_horizon["1"].n >= by_horizon["5"].n


def test_job_documents_validate_against_the_pydantic_model(forecast_client: TestClient) -> None:
    body = {"target": {"country": "ITA"}, "scenario": "baseline", "horizon": 2, "interval_width": 0.9}
    first = forecast_client.post("/v1/forecasts", json=body)
    assert first.status_code == 202  # a request no other test makes: not computed yet
    queued = JobDocument.model_validate(first.json(), strict=True)
    assert queued.summary.kind == queued.kind == "forecast" and queued.summary.scenario == "baseline"
    assert queued.summary.target.country == "ITA" and queued.summary.interval_width == 0.9
    assert queued.summary.scenarios is None and queued.created_at.endswith("Z")
    if queued.state == "queued":
        assert queued.workers_online is not None and queued.note
    done = JobDocument.model_validate(wait_for(forecast_client, queued.key), strict=True)
    assert done.state == "succeeded" and done.finished_at is not None and done.started_at is not None
    assert done.workers_online is None and done.note is None
