"""Job metrics: what a worker writes into Redis reads back as what the embedded service keeps in memory."""

from __future__ import annotations

import redis

from tests.services import SHARED_REDIS_URL, delete_prefix, unique_prefix
from workers.metrics import BUCKETS, JobStats, record_job


def test_the_redis_hash_and_the_memory_twin_agree() -> None:
    samples = [("succeeded", 0.3), ("succeeded", 3.0), ("failed", 0.1), ("timeout", None), ("succeeded", 999.0)]
    prefix = unique_prefix("ops-stats")
    client = redis.Redis.from_url(SHARED_REDIS_URL)
    memory = JobStats()
    try:
        for outcome, seconds in samples:
            record_job(client, f"{prefix}:stats:jobs", outcome, seconds)
            memory.record(outcome, seconds)
        stored = JobStats.from_hash(client.hgetall(f"{prefix}:stats:jobs"))
    finally:
        client.close()
        delete_prefix(SHARED_REDIS_URL, prefix)
    assert stored == memory
    assert stored.counts == {"succeeded": 3, "failed": 1, "timeout": 1}
    assert "timeout" not in stored.sums  # a delivery without a known duration is counted, not timed
    buckets = dict(stored.histogram("succeeded"))
    assert list(buckets)[-1] == "+Inf" and len(buckets) == len(BUCKETS) + 1
    assert buckets["0.25"] == 0 and buckets["0.5"] == 1 and buckets["5.0"] == 2 and buckets["+Inf"] == 3
    assert list(buckets.values()) == sorted(buckets.values())  # cumulative
    assert abs(stored.sums["succeeded"] - 1002.3) < 1e-6
