"""Degraded, not broken: Redis stopped mid-test gives 503 + Retry-After (never 500), data endpoints keep
working, and the service recovers by itself when Redis returns, even empty. Uses a private redis-server."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.conftest import CliWorker
from tests.api.test_forecasts import JAPAN, computed, wait_for
from tests.conftest import Databases
from tests.services import PRODUCTION_DEADLINES, RedisServer, redis_settings, unique_prefix
from workers.jobs import Keys

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
    document = client.get("/openapi.json").json()
    templates = ["/v1/forecasts/latest", "/v1/backtests", "/v1/forecasts/compare", "/v1/jobs/{key}"]
    for path, template in zip([*FORECAST_READS, f"/v1/jobs/{key}"], templates, strict=True):
        response = client.get(path)
        assert response.status_code == 503, (path, response.status_code, response.text)
        assert int(response.headers["retry-after"]) >= 1
        assert response.headers["content-type"] == "application/problem+json"
        declared = document["paths"][template]["get"]["responses"]["503"]["headers"]  # what the document promises
        assert {"Retry-After", "X-Request-ID"} <= {h for h, spec in declared.items() if spec["required"]}
        assert all(h in response.headers for h, spec in declared.items() if spec["required"]), template
    posted = client.post("/v1/forecasts", json={**JAPAN, "horizon": 3})
    assert posted.status_code == 503 and int(posted.headers["retry-after"]) >= 1
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


def test_a_redis_that_cannot_save_is_a_503_not_a_500(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A state Redis whose snapshot failed (a full or unwritable disk) refuses writes with MISCONF: the API says it
    is unavailable (503 + Retry-After), as for a Redis that is down, and accepts work again once it can save."""
    dbs = Databases("sqlite", tmp_path_factory.mktemp("misconf"))
    prefix = unique_prefix("misconf")
    with RedisServer("--save", "3600 1") as server:
        settings = redis_settings(prefix, server.url(), breaker_reset_seconds=1)
        app = create_app(Settings(database_url=dbs.copy(), warm_on_start=False), settings)
        admin = server.client()
        with TestClient(app) as client:
            shutil.rmtree(server.dir)  # where it saves: gone, so the next snapshot fails
            admin.bgsave()
            wait_until(lambda: admin.info("persistence")["rdb_last_bgsave_status"] == "err")
            posted = client.post("/v1/forecasts", json={**JAPAN, "horizon": 2})
            assert posted.status_code == 503, posted.text
            assert int(posted.headers["retry-after"]) >= 1
            assert posted.headers["content-type"] == "application/problem+json"
            server.dir.mkdir()  # for close(); the server's working directory stays the deleted one, so an operator
            admin.config_set("stop-writes-on-bgsave-error", "no")  # lets it take writes again without saving
            time.sleep(1.1)  # the breaker's reset time
            assert client.post("/v1/forecasts", json={**JAPAN, "horizon": 2}).status_code == 202
        admin.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_an_evicted_result_is_a_404_that_says_to_post_again(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The result cache may evict a result (allkeys-lru) while its job hash says succeeded: the result URL says it
    is gone and how to get it back (it answered 202 "succeeded" forever), and the same POST computes it again."""
    dbs = Databases("sqlite", tmp_path_factory.mktemp("evicted"))
    prefix = unique_prefix("evicted")
    with RedisServer() as server, CliWorker(server.url(), prefix):
        settings = redis_settings(prefix, server.url())
        request = {**JAPAN, "horizon": 2}
        with TestClient(create_app(Settings(database_url=dbs.copy(), warm_on_start=False), settings)) as first:
            posted = first.post("/v1/forecasts", json=request)
            key = posted.json()["key"]
            assert wait_for(first, key)["state"] == "succeeded"
        admin = server.client()
        assert admin.delete(Keys(prefix).result(key)) == 1  # evicted
        admin.close()
        with TestClient(create_app(Settings(database_url=dbs.copy(), warm_on_start=False), settings)) as other:
            gone = other.get(f"/v1/forecasts/{key}")
            assert gone.status_code == 404, gone.text
            assert gone.headers["content-type"] == "application/problem+json"
            assert "no longer stored" in gone.json()["detail"] and "POST /v1/forecasts" in gone.json()["detail"]
            assert computed(other, other.post("/v1/forecasts", json=request)).json()["key"] == key
