"""A stored value that breaks the forecasting invariants is never a 500 (issue 11.3).

The ingest refuses such files (tests/api/test_ingest.py); a database edited by hand, or loaded by an
older version, may still hold one. Here the value is written straight into the real database, then
every route that builds a forecast's inputs must answer a problem naming the dataset, country and year."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.db import make_engine
from api.settings import Settings
from workers.settings import WorkerSettings


@pytest.fixture
def corrupted(fresh_url: str) -> Iterator[TestClient]:
    engine = make_engine(fresh_url)
    with engine.begin() as conn:  # CHN 2001 = 517 million TIV; a x100 typo puts it above the world total
        changed = conn.execute(
            text(
                "UPDATE observation SET value = 51700 WHERE country_code = 'CHN' AND year = 2001 "
                "AND dataset_id = 'arms-exports'"
            )
        ).rowcount
    engine.dispose()
    assert changed == 1
    settings = Settings(database_url=fresh_url, warm_on_start=False)
    with TestClient(create_app(settings, WorkerSettings(redis_url=None))) as client:
        yield client


ROUTES = [
    ("GET", "/v1/forecasts/latest?country=CHN&scenario=baseline", None),
    ("POST", "/v1/forecasts", {"target": {"country": "CHN", "measure": "share"}, "scenario": "baseline"}),
    ("GET", "/v1/backtests?country=CHN", None),
    ("GET", "/v1/forecasts/compare?country=CHN&scenarios=baseline", None),
]


@pytest.mark.parametrize(("method", "url", "body"), ROUTES)
def test_a_forecast_of_corrupted_data_is_a_problem_naming_dataset_country_and_year(
    corrupted: TestClient, method: str, url: str, body: dict[str, object] | None
) -> None:
    response = corrupted.request(method, url, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-stored-data")
    assert "'arms-exports'" in problem["detail"] and "CHN" in problem["detail"] and "2001" in problem["detail"]
    error = problem["errors"][0]
    assert (error["dataset"], error["country"], error["year"]) == ("arms-exports", "CHN", 2001)


def test_other_countries_still_forecast(corrupted: TestClient) -> None:
    response = corrupted.get("/v1/backtests?country=JPN")
    assert response.status_code in (200, 202), response.text
