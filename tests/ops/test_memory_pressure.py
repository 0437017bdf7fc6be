"""A 202 is a promise: under Redis memory pressure no accepted job is lost.

The stack as docker-compose.yml runs it: job state and the broker on a ``noeviction`` Redis, results on an
``allkeys-lru`` Redis (the policies are read from the compose file), both with a small ``maxmemory``. The API
(with no rate limit) is flooded with distinct forecast requests, far faster than its one real worker computes,
so accepted jobs pile up in Redis: it answers 202 until the state instance reaches its admission mark
(``accept_max_memory`` of ``maxmemory``), then 503 + ``Retry-After``. Every accepted job then ends succeeded
or failed with a reason (none unknown), the state instance evicted nothing, the result cache evicted old
results to make room for new ones, and once the queue drained the API accepts work again.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from tests.services import CeleryWorker, RedisServer, redis_settings, unique_prefix
from tests.test_compose import redis_option

ROOM_JOBS = 40  # the state instance's admission mark leaves room for about this many more waiting jobs
JOB_BYTES = 9_000  # what one waiting job holds in Redis: its payload (the inputs), hash and broker message
ROOM_RESULTS = 8  # the cache instance holds about this many results (about 20 KB each)
SCENARIOS = ("baseline", "liberalisation", "restriction", "demand-surge")


def distinct_requests() -> Any:
    """Forecast requests that all have different content keys."""
    for horizon, scenario in itertools.product(range(1, 31), SCENARIOS):
        yield {"target": {"country": "JPN", "measure": "share"}, "scenario": scenario, "horizon": horizon}


def used_memory(server: RedisServer) -> int:
    client = server.client()
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def stats(server: RedisServer) -> dict[str, Any]:
    client = server.client()
    try:
        return dict(client.info("stats"))
    finally:
        client.close()


def set_maxmemory(server: RedisServer, limit: int) -> None:
    client = server.client()
    try:
        client.config_set("maxmemory", limit)
    finally:
        client.close()


def settle(client: TestClient, keys: list[str], timeout: float = 120) -> dict[str, dict[str, Any]]:
    """Poll every job until it is succeeded or failed; a job that is unknown (404) fails at once."""
    deadline, done = time.monotonic() + timeout, {}
    while len(done) < len(keys):
        for key in keys:
            if key in done:
                continue
            response = client.get(f"/v1/jobs/{key}")
            assert response.status_code == 200, f"accepted job {key} is unknown: {response.text}"
            if response.json()["state"] in ("succeeded", "failed"):
                done[key] = response.json()
        assert time.monotonic() < deadline, f"{len(keys) - len(done)} accepted jobs never finished"
        time.sleep(0.2)
    return done


def test_every_accepted_job_finishes_under_memory_pressure(tmp_path: Path) -> None:
    dbs = Databases("sqlite", tmp_path)
    state_policy = redis_option("redis", "maxmemory-policy")  # noeviction
    cache_policy = redis_option("redis-cache", "maxmemory-policy")  # allkeys-lru
    with (
        RedisServer("--maxmemory", "64mb", "--maxmemory-policy", state_policy) as state,
        RedisServer("--maxmemory", "64mb", "--maxmemory-policy", cache_policy) as cache,
    ):
        prefix = unique_prefix("oom")
        settings = redis_settings(prefix, state.url(), cache_redis_url=cache.url())
        app = create_app(Settings(database_url=dbs.copy(), warm_on_start=False, rate_limit=""), settings)
        env = {"TIVCAST_CACHE_REDIS_URL": cache.url()}
        with TestClient(app) as client, CeleryWorker(state.url(), prefix, env=env, log_dir=tmp_path):
            requests = distinct_requests()
            first = client.post("/v1/forecasts", json=next(requests))  # loads the scripts, opens the broker
            assert first.status_code == 202, first.text
            accepted: list[str] = [first.json()["key"]]
            settle(client, accepted)
            # Small limits, measured from what the running stack holds now: the state instance admits about
            # ROOM_JOBS more waiting jobs, the cache keeps about ROOM_RESULTS results.
            set_maxmemory(state, int((used_memory(state) + ROOM_JOBS * JOB_BYTES) / settings.accept_max_memory))
            set_maxmemory(cache, used_memory(cache) + ROOM_RESULTS * 20_000)

            refused = []
            for body in requests:  # far faster than one worker computes: the queue fills up
                response = client.post("/v1/forecasts", json=body)
                assert response.status_code in (202, 503), response.text
                if response.status_code == 202:
                    accepted.append(response.json()["key"])
                else:
                    refused.append(response)
                    if len(refused) == 20:
                        break
            assert len(refused) == 20, f"the mark was never reached ({len(accepted)} accepted)"
            assert len(accepted) > 5, f"only {len(accepted)} accepted before the mark"  # other memory varies
            for response in refused:
                assert response.headers["content-type"].startswith("application/problem+json")
                assert int(response.headers["retry-after"]) >= 1
                assert "memory" in response.json()["detail"]

            finished = settle(client, accepted)
            assert all(job["state"] == "succeeded" or job["error"] for job in finished.values())
            assert {job["state"] for job in finished.values()} == {"succeeded"}

            # The finished jobs dropped their payloads: the API accepts work again.
            again = client.post("/v1/forecasts", json=next(requests))
            assert again.status_code == 202, again.text
            settle(client, [again.json()["key"]])

        assert stats(state)["evicted_keys"] == 0  # nothing accepted was ever evicted
        assert stats(cache)["evicted_keys"] > 0  # results made room for newer ones
