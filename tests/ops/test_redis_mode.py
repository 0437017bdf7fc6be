"""Probes, metrics and request ids with Redis and real Celery workers (``tivcast worker``): ready only
with a live worker, 503 per component while Redis is down, job metrics written by the worker and
exported by the API, and one request id from the API's access log to the worker's log of the job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.test_forecasts import JAPAN, wait_for
from tests.conftest import Databases
from tests.ops.conftest import JsonLog, capture_log
from tests.ops.test_embedded import delta, scrape, value
from tests.services import (
    PRODUCTION_DEADLINES,
    SHARED_REDIS_URL,
    CeleryWorker,
    RedisServer,
    delete_prefix,
    redis_settings,
    unique_prefix,
)
from workers.runtime import is_online
from workers.settings import WorkerSettings


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> Databases:
    return Databases("sqlite", tmp_path_factory.mktemp("ops-redis"))


def app_for(dbs: Databases, settings: WorkerSettings) -> TestClient:
    return TestClient(create_app(Settings(database_url=dbs.copy(), warm_on_start=False), settings))


@pytest.fixture(scope="module")
def idle(dbs: Databases) -> Iterator[TestClient]:
    """Redis up, no worker."""
    prefix = unique_prefix("ops-idle")
    try:
        with app_for(dbs, redis_settings(prefix)) as client:
            yield client
    finally:
        delete_prefix(SHARED_REDIS_URL, prefix)


@dataclass
class Served:
    client: TestClient
    worker: CeleryWorker
    settings: WorkerSettings
    key: str  # a job submitted by a request with request_id, and finished
    request_id: str
    access: JsonLog


@pytest.fixture(scope="module")
def served(dbs: Databases) -> Iterator[Served]:
    """Redis, one worker, and one finished job submitted with a known X-Request-ID."""
    prefix = unique_prefix("ops-served")
    settings = redis_settings(prefix)
    request_id = f"ops-{uuid.uuid4().hex[:12]}"
    try:
        with CeleryWorker(SHARED_REDIS_URL, prefix) as worker, app_for(dbs, settings) as client:
            with capture_log() as access:
                headers = {"X-Request-ID": request_id}
                posted = client.post("/v1/forecasts", json={**JAPAN, "horizon": 2}, headers=headers)
            assert posted.status_code == 202, posted.text
            key = posted.json()["key"]
            assert wait_for(client, key, timeout=60)["state"] == "succeeded"
            yield Served(client, worker, settings, key, request_id, access)
    finally:
        delete_prefix(SHARED_REDIS_URL, prefix)


def json_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


class TestReadyz:
    def test_without_a_live_worker_it_is_503_naming_the_workers(self, idle: TestClient) -> None:
        response = idle.get("/readyz")
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) > 0
        body = response.json()
        assert body["status"] == "not ready" and body["mode"] == "redis"
        assert body["checks"]["database"]["status"] == "ok"
        assert body["checks"]["redis"]["status"] == "ok"
        workers = body["checks"]["workers"]
        assert workers["status"] == "fail" and workers["online"] == 0 and "heartbeat" in workers["error"]

    def test_with_a_worker_it_is_ready(self, served: Served) -> None:
        response = served.client.get("/readyz")
        assert response.status_code == 200, response.text
        checks = response.json()["checks"]
        assert {name: check["status"] for name, check in checks.items()} == {
            "database": "ok", "redis": "ok", "workers": "ok"
        }
        assert checks["workers"]["online"] == 1

    def test_with_redis_down_each_component_says_what_failed(self, dbs: Databases) -> None:
        with RedisServer() as server:
            settings = redis_settings(unique_prefix("ops-down"), server.url(), deadlines=PRODUCTION_DEADLINES)
            with app_for(dbs, settings) as client:
                server.stop()
                for _ in range(2):  # the second goes through the open breaker (latency: bench/redis_outage.py)
                    response = client.get("/readyz")
                    assert response.status_code == 503, response.text
                    checks = response.json()["checks"]
                    assert checks["database"]["status"] == "ok"
                    assert checks["redis"]["status"] == "fail" and "Redis" in checks["redis"]["error"]
                    assert checks["workers"]["status"] == "fail"
                assert client.get("/healthz").status_code == 200
                samples = scrape(client)  # metrics still answer, and say the service is away
                assert value(samples, "tivcast_forecast_service_up", mode="redis") == 0
                assert not any(name == "tivcast_queue_depth" for name, _ in samples)


class TestMetrics:
    def test_queue_depth_counts_the_jobs_waiting_for_a_worker(self, idle: TestClient) -> None:
        before = scrape(idle)
        assert idle.post("/v1/forecasts", json={**JAPAN, "horizon": 3}).status_code == 202
        after = scrape(idle)
        queue = next(dict(labels)["queue"] for name, labels in after if name == "tivcast_queue_depth")
        assert delta(before, after, "tivcast_queue_depth", queue=queue) == 1
        assert value(after, "tivcast_workers_online") == 0
        assert value(after, "tivcast_forecast_service_up", mode="redis") == 1

    def test_job_outcomes_and_durations_come_from_the_worker(self, served: Served) -> None:
        samples = scrape(served.client)
        assert value(samples, "tivcast_jobs_total", outcome="succeeded") == 1
        assert value(samples, "tivcast_job_duration_seconds_count", outcome="succeeded") == 1
        assert value(samples, "tivcast_job_duration_seconds_bucket", le="+Inf", outcome="succeeded") == 1
        assert 0 < value(samples, "tivcast_job_duration_seconds_sum", outcome="succeeded") < 60
        assert value(samples, "tivcast_workers_online") == 1
        assert value(samples, "tivcast_queue_depth", queue=served.settings.queue) == 0

    def test_result_lookups_are_counted_per_layer(self, served: Served, dbs: Databases) -> None:
        with app_for(dbs, served.settings) as fresh:  # a process whose memory holds nothing yet
            before = scrape(fresh)
            for _ in range(2):
                assert fresh.get(f"/v1/forecasts/{served.key}").status_code == 200
            after = scrape(fresh)
        lookups = "tivcast_result_cache_lookups_total"
        assert delta(before, after, lookups, layer="memory", result="miss") == 1
        assert delta(before, after, lookups, layer="redis", result="hit") == 1
        assert delta(before, after, lookups, layer="memory", result="hit") == 1  # the second, on the fast path
        requests = "tivcast_http_requests_total"
        assert delta(before, after, requests, method="GET", route="/v1/forecasts/{key}", status="200") == 2


class TestRequestIds:
    def test_the_request_id_follows_the_job_into_the_worker(self, served: Served) -> None:
        [api_line] = [line for line in served.access.lines() if line.get("request_id") == served.request_id]
        assert api_line["route"] == "/v1/forecasts" and api_line["status"] == 202

        worker_lines = [line for line in json_lines(served.worker.log) if line.get("request_id") == served.request_id]
        assert worker_lines, f"no worker log line carries the request id; tail:\n{served.worker.log_tail()}"
        assert all(line["job"] == served.key and line["task_id"] for line in worker_lines)
        finished = [line for line in worker_lines if line["logger"] == "workers.runtime"]
        assert [line["outcome"] for line in finished] == ["succeeded"] and finished[0]["duration_s"] > 0
        assert {"timestamp", "level", "logger", "message"} <= set(finished[0])

    def test_the_worker_is_healthy_by_its_heartbeat(self, served: Served) -> None:
        assert is_online(served.worker.hostname, served.settings)
        assert not is_online("nobody@nowhere", served.settings)
