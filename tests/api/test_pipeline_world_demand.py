"""World demand over the API as an analyst meets it: the demand-surge scenario says it keeps its level gap and
why Japan's share falls; a stated elasticity is accepted for the world total and refused, with the right reason,
for another country's share (both modes: embedded and Redis with a real worker)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.test_forecasts import computed


def test_the_demand_surge_scenario_explains_itself(forecast_client: TestClient) -> None:
    body = forecast_client.get("/v1/scenarios/demand-surge").json()
    assert "then at the baseline's trend rate" in body["description"]
    assert "fixed quantities" in body["description"]
    assert body["drivers"]["world_military_expenditure"]["trend_from"] == 2031


def test_a_stated_elasticity_for_the_world_total_is_accepted_and_said_to_be_asserted(
        forecast_client: TestClient) -> None:
    def post(elasticity: float) -> dict[str, object]:
        response = forecast_client.post("/v1/forecasts", json={
            "target": {"country": "WLD", "measure": "tiv"}, "horizon": 5,
            "scenario": {"name": "k", "base": "demand-surge", "pipeline": {"elasticity": elasticity}}})
        body = computed(forecast_client, response).json()
        assert isinstance(body, dict)
        return body

    one, other = post(1.0), post(0.5)
    assert one["key"] != other["key"]
    assert any("1, asserted by the request" in n for n in one["notes"])  # type: ignore[attr-defined]
    demand = one["model"]["world_demand"]  # type: ignore[index]
    assert demand["used_in_this_forecast"]["value"] == 1.0 != demand["value"]  # the estimate is shown beside it
    assert demand["used_in_this_forecast"]["estimated_or_asserted"].startswith("asserted")


def test_a_stated_elasticity_for_another_country_s_share_is_a_422(forecast_client: TestClient) -> None:
    response = forecast_client.post("/v1/forecasts", json={
        "target": {"country": "KOR", "measure": "share"},
        "scenario": {"name": "k", "base": "demand-surge", "pipeline": {"elasticity": 1.0}}})
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["scenario.pipeline.elasticity"]
    assert "moves no other country's share" in response.json()["detail"]
