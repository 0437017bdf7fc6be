"""Metrics of the forecast service: result-cache lookups (in process) and job outcomes (in Redis).

Why two places: cache lookups happen in the API process, so they are ordinary Prometheus counters
that the API's ``/metrics`` exports. Jobs run in Celery workers (prefork children of any number of
worker containers) that nobody scrapes; each finished task adds its outcome and duration to one
Redis hash, ``{prefix}:stats:jobs`` (:func:`record_job`), with histogram buckets already cumulative,
and the API turns that hash into series at scrape time (:meth:`JobStats.from_hash`). One scrape of
any API process then covers every worker, and the counters survive worker restarts (a Redis
restart resets them, which Prometheus reads as a counter reset). The embedded service keeps the
same :class:`JobStats` in memory.

Hash fields: ``count:{outcome}`` (every finished delivery), and for deliveries whose duration is
known ``sum:{outcome}`` and ``le:{outcome}:{bound}`` for each bucket bound including ``+Inf``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from prometheus_client import Counter

__all__ = ["BUCKETS", "CACHE_LOOKUPS", "JobStats", "record_job"]

# Seconds: a forecast fits Prophet in about a second; a scenario set or a backtest takes longer.
BUCKETS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
INF = "+Inf"

CACHE_LOOKUPS = Counter(
    "tivcast_result_cache_lookups",
    "Forecast result lookups by cache layer (memory: the in-process LRU; redis) and result (hit or miss).",
    ["layer", "result"],
)


def bucket_label(bound: float) -> str:
    return INF if bound == float("inf") else repr(bound)


def _buckets_for(seconds: float) -> list[str]:
    return [bucket_label(b) for b in BUCKETS if seconds <= b] + [INF]


def record_job(client: redis.Redis, key: str, outcome: str, seconds: float | None) -> None:
    """Add one finished delivery to the hash ``key`` (atomically: a scrape never sees half of it)."""
    pipe = client.pipeline(transaction=True)
    pipe.hincrby(key, f"count:{outcome}", 1)
    if seconds is not None:
        pipe.hincrbyfloat(key, f"sum:{outcome}", seconds)
        for bound in _buckets_for(seconds):
            pipe.hincrby(key, f"le:{outcome}:{bound}", 1)
    pipe.execute()


@dataclass
class JobStats:
    """Job outcomes and durations; ``buckets[outcome][bound]`` counts are cumulative."""

    counts: dict[str, int] = field(default_factory=dict)
    sums: dict[str, float] = field(default_factory=dict)
    buckets: dict[str, dict[str, int]] = field(default_factory=dict)

    def record(self, outcome: str, seconds: float | None) -> None:
        """In-memory twin of :func:`record_job` (embedded mode)."""
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if seconds is not None:
            self.sums[outcome] = self.sums.get(outcome, 0.0) + seconds
            counts = self.buckets.setdefault(outcome, {})
            for bound in _buckets_for(seconds):
                counts[bound] = counts.get(bound, 0) + 1

    def histogram(self, outcome: str) -> list[tuple[str, int]]:
        """``(bound, cumulative count)`` for every bound, ``+Inf`` last, as Prometheus wants them."""
        counts = self.buckets.get(outcome, {})
        return [(bound, counts.get(bound, 0)) for bound in [*map(bucket_label, BUCKETS), INF]]

    @classmethod
    def from_hash(cls, raw: Mapping[Any, Any]) -> JobStats:
        """Parse the Redis hash written by :func:`record_job` (bytes or str; unknown fields ignored)."""
        stats = cls()
        for raw_name, raw_value in raw.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            value = raw_value.decode() if isinstance(raw_value, bytes) else str(raw_value)
            kind, _, rest = name.partition(":")
            if kind == "count":
                stats.counts[rest] = int(value)
            elif kind == "sum":
                stats.sums[rest] = float(value)
            elif kind == "le":
                outcome, _, bound = rest.rpartition(":")
                stats.buckets.setdefault(outcome, {})[bound] = int(value)
        return stats
