"""Degraded, not broken: Redis stopped mid-test gives 503 + Retry-After (never 500), data endpoints keep
working, and the service recovers by itself when Redis returns, even empty. Uses a private redis-server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import CliWorker
from tests.api.test_forecasts import JAPAN, computed, wait_for
from tests.conftest import Databases
from tests.services import PRODUCTION_DEADLINES, RedisServer, redis_settings, unique_prefix

FORECAST_READS = ["/v1/forecasts/latest?country=JPN&scenario=baseline", "/v1/backtests?country=JPN",
                  "/v1/forecasts/compare?country=JPN"]


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, RedisServer, str]]:
    dbs = Databases("sqlite", tmp_path_factory.mktemp("outage"))
    prefix = unique_prefix("outage")
    with RedisServer() as server:
        settings = redis_settings(prefix, server.url(), deadlines=PRODUCTION_DEADLINES, breaker_reset_seconds=1)
        app = create_app(Settings(database_url=dbs.copy(), warm_on_start=False), settings)
        with TestClient(app) as client:
            yield client, server, prefix


def test_outage_then_recovery(outage: tuple[TestClient, RedisServer, str]) -> None:
    client, server, prefix = outage
    with CliWorker(server.url(), prefix):
        done = computed(client, client.post("/v1/forecasts", json={**JAPAN, "horizon": 2}))
        key = done.json()["key"]

    server.stop()
    for path in [*FORECAST_READS, f"/v1/jobs/{key}"]:
        response = client.get(path)
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["content-type"] == "application/problem+json"
    posted = client.post("/v1/forecasts", json={**JAPAN, "horizon": 3})
    assert posted.status_code == 503
    # A result this process has already served is immutable and still answers from memory.
    assert client.get(f"/v1/forecasts/{key}").status_code == 200
    # Data endpoints do not depend on Redis.
    assert client.get("/v1/datasets/arms-exports/observations", params={"country": "JPN"}).status_code == 200

    server.start()  # back, and empty: nothing was persisted
    deadline = time.monotonic() + 10
    response = client.post("/v1/forecasts", json={**JAPAN, "horizon": 3})
    while response.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.3)
        response = client.post("/v1/forecasts", json={**JAPAN, "horizon": 3})
    assert response.status_code == 202, response.text
    job = wait_for_queued(client, response.headers["location"].rsplit("/", 1)[1])
    assert job["workers_online"] == 0 and "no worker" in job["note"]
    with CliWorker(server.url(), prefix):
        assert wait_for(client, job["key"])["state"] == "succeeded"


def wait_for_queued(client: TestClient, key: str) -> dict[str, object]:
    response = client.get(f"/v1/jobs/{key}")
    assert response.status_code == 200
    job: dict[str, object] = response.json()
    assert job["state"] == "queued"
    return job
