"""Two consistency rules of the forecast API, embedded mode only (no worker: every check but one is answered
before any fit).

* ``GET /v1/backtests`` labels the target with the measure it was evaluated in: the world total only in TIV
  (its share is 100 %, as ``POST /v1/forecasts`` says), so ``measure=share`` for WLD is a 422 naming
  ``measure`` and the default is ``tiv``; every other supplier keeps ``share`` as its default.
* A custom scenario's change that touches no forecast year would change nothing: a 422 naming
  ``scenario.changes[i].from_year`` (or ``.to_year``) and the forecast years, as known deliveries outside them
  are; a change partly inside them stays valid.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from workers.settings import WorkerSettings

TIV_UNIT = "TIV million"
SHARE_UNIT = "percent of world arms exports (TIV)"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    dbs = Databases("sqlite", tmp_path_factory.mktemp("late-changes"))
    settings = Settings(database_url=dbs.copy(), warm_on_start=False, rate_limit=None)
    with TestClient(create_app(settings, WorkerSettings(redis_url=None))) as client:
        yield client


def finished(client: TestClient, response: Any, timeout: float = 90) -> dict[str, Any]:
    """The result behind a 200, or behind a 202 once its job has finished."""
    if response.status_code == 202:
        key = response.headers["location"].rsplit("/", 1)[1]
        deadline = time.monotonic() + timeout
        while client.get(f"/v1/jobs/{key}").json()["state"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"job {key} did not finish"
            time.sleep(0.1)
        response = client.get(f"/v1/forecasts/{key}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def problem_field(response: Any) -> tuple[str, str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    [error] = response.json()["errors"]
    return error["field"], error["message"]


class TestBacktestLabels:
    def test_the_world_total_defaults_to_tiv_and_says_so(self, api: TestClient) -> None:
        body = finished(api, api.get("/v1/backtests", params={"country": "WLD"}))
        assert body["target"] == {"country": "WLD", "measure": "tiv", "unit": TIV_UNIT}
        assert body["evaluated_measure"] == "tiv"
        assert any("TIV million" in n for n in body["notes"])
        explicit = finished(api, api.get("/v1/backtests", params={"country": "WLD", "measure": "tiv"}))
        assert explicit["key"] == body["key"]  # the same evaluation under one key

    def test_the_world_total_in_share_is_a_422_naming_the_parameter(self, api: TestClient) -> None:
        field, message = problem_field(api.get("/v1/backtests", params={"country": "WLD", "measure": "share"}))
        assert field == "measure" and "100 %" in message and "'tiv'" in message
        # as POST /v1/forecasts refuses the world's share
        field, _ = problem_field(api.post("/v1/forecasts", json={"target": {"country": "WLD", "measure": "share"}}))
        assert field == "target.measure"

    @pytest.mark.parametrize(
        ("params", "measure"),
        [({"country": "KOR"}, "share"), ({"country": "KOR", "measure": "share"}, "share"),
         ({"country": "KOR", "measure": "tiv"}, "tiv"), ({"country": "JPN", "measure": "tiv"}, "tiv")],
    )
    def test_other_suppliers_are_labelled_as_evaluated(
        self, api: TestClient, params: dict[str, str], measure: str
    ) -> None:
        body = finished(api, api.get("/v1/backtests", params=params))
        unit = SHARE_UNIT if measure == "share" else TIV_UNIT
        assert body["target"] == {"country": params["country"], "measure": measure, "unit": unit}
        assert body["evaluated_measure"] == measure

    def test_the_country_is_still_required(self, api: TestClient) -> None:
        response = api.get("/v1/backtests")
        assert response.status_code == 422
        assert "country" in response.text


def korea(*changes: dict[str, Any], horizon: int = 10) -> dict[str, Any]:
    return {"target": {"country": "KOR", "measure": "share"}, "horizon": horizon,
            "scenario": {"name": "late", "changes": list(changes)}}


TRIPLE = {"driver": "own_military_expenditure", "op": "multiply", "value": 3}


class TestChangesOutsideTheForecastYears:
    def test_a_change_starting_after_the_last_forecast_year_is_a_422(self, api: TestClient) -> None:
        field, message = problem_field(api.post("/v1/forecasts", json=korea({**TRIPLE, "from_year": 2040})))
        assert field == "scenario.changes[0].from_year"
        assert "2040" in message and "forecast years 2025-2034" in message

    def test_the_field_names_the_change_that_is_out(self, api: TestClient) -> None:
        inside = {**TRIPLE, "from_year": 2027}
        field, message = problem_field(api.post("/v1/forecasts", json=korea(inside, {**TRIPLE, "from_year": 2031},
                                                                             horizon=5)))
        assert field == "scenario.changes[1].from_year" and "forecast years 2025-2029" in message

    def test_a_change_ending_before_the_first_forecast_year_is_a_422(self, api: TestClient) -> None:
        late = {**TRIPLE, "from_year": 2010, "to_year": 2020}
        field, message = problem_field(api.post("/v1/forecasts", json=korea(late)))
        assert field == "scenario.changes[0].to_year"
        assert "2020" in message and "forecast years 2025-2034" in message

    def test_a_scenario_set_member_is_refused_too(self, api: TestClient) -> None:
        body = {"target": {"country": "KOR"}, "horizon": 10,
                "scenarios": ["baseline", {"name": "late", "changes": [{**TRIPLE, "from_year": 2040}]}]}
        field, message = problem_field(api.post("/v1/forecasts", json=body))
        assert field.endswith(".changes[0].from_year") and "forecast years 2025-2034" in message

    def test_a_change_partly_inside_the_forecast_years_applies_there(self, api: TestClient) -> None:
        straddling = {**TRIPLE, "from_year": 2030, "to_year": 2050}
        body = finished(api, api.post("/v1/forecasts", json=korea(straddling)))
        by_year = {r["year"]: r["drivers"]["own_military_expenditure"] for r in body["forecast"]}
        baseline = finished(api, api.get("/v1/forecasts/latest", params={"country": "KOR"}))
        base = {r["year"]: r["drivers"]["own_military_expenditure"] for r in baseline["forecast"]}
        assert all(by_year[y] == pytest.approx(base[y], rel=1e-5) for y in range(2025, 2030))
        # served to 6 significant digits
        assert all(by_year[y] == pytest.approx(3 * base[y], rel=1e-4) for y in range(2030, 2035))
        assert any(v != 0 for v in body["forecast"][-1]["difference_from_baseline"].values())
