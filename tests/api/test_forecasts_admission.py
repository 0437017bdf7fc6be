"""A refused POST leaves nothing behind: an Idempotency-Key is stored only for a request answered 200/202.

Redis mode on a private ``redis-server`` (its memory is changed), without a worker: admission is decided by the
API's submit alone. Found by a flood of POSTs with fresh keys: each 503 used to leave a key for 24 h, and those
kept Redis past its admission mark (and so every later POST refused) long after the queue drained.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from tests.services import RedisServer, redis_settings, unique_prefix

JAPAN = {"target": {"country": "JPN", "measure": "share"}, "scenario": "baseline"}


def test_a_refused_post_stores_no_idempotency_key(tmp_path: Path) -> None:
    dbs = Databases("sqlite", tmp_path)
    prefix = unique_prefix("admit")
    with RedisServer("--maxmemory-policy", "noeviction") as server:
        settings = Settings(database_url=dbs.copy(), warm_on_start=False, rate_limit=None)
        with TestClient(create_app(settings, redis_settings(prefix, server.url()))) as client:
            redis = server.client()
            used = int(redis.info("memory")["used_memory"])
            redis.config_set("maxmemory", int(used / 0.8) - 1)  # at the admission mark
            refused = client.post("/v1/forecasts", json={**JAPAN, "horizon": 2}, headers={"Idempotency-Key": "a"})
            assert refused.status_code == 503 and refused.headers["Retry-After"]
            assert not list(redis.scan_iter(match=f"{prefix}:idem:*"))  # nothing kept for a refused request
            redis.config_set("maxmemory", 0)
            accepted = client.post("/v1/forecasts", json={**JAPAN, "horizon": 2}, headers={"Idempotency-Key": "a"})
            assert accepted.status_code == 202
            assert redis.hget(f"{prefix}:idem:a", "body_hash")
            assert 0 < int(redis.ttl(f"{prefix}:idem:a")) <= 3600
            reused = client.post("/v1/forecasts", json={**JAPAN, "horizon": 3}, headers={"Idempotency-Key": "a"})
            assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "Idempotency-Key"
            # A job that crashed its workers on every delivery (as CLAIM records it) is answered with its failure
            # during its cool-off: the POST (or the dashboard's poll) does not queue it again.
            key = accepted.json()["key"]
            error = "worker lost on every delivery (3 attempts); not run again for 3600 s"
            redis.hset(f"{prefix}:job:{key}", mapping={"state": "failed", "error": error, "crashes": 3,
                                                       "retry_at": time.time() + 3600})
            again = client.post("/v1/forecasts", json={**JAPAN, "horizon": 2})
            assert again.status_code == 422 and error in again.json()["detail"]
            assert redis.hget(f"{prefix}:job:{key}", "state") == b"failed"
            redis.close()
    dbs.close()
