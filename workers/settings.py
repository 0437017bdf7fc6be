"""Settings of the forecast service (workers, and the API's client of them), from ``TIVCAST_*``.

The timing settings are one chain, checked at start-up because a wrong order
loses work silently: a task is warned at ``soft_time_limit``, killed at
``time_limit`` (then redelivered, because acknowledgement is late), and only a
message unacknowledged for longer than ``visibility_timeout`` is handed to
another worker. A visibility timeout at or below the hard limit would run a
slow task twice; one far above it makes a dead worker's job wait that long
(kombu's default is one hour). No task is retried with a countdown (a task
never publishes: :mod:`workers.tasks`), so nothing else holds a message
unacknowledged: a message taken off the queue is claimed, or it is restored
after the visibility timeout (:attr:`WorkerSettings.stale_queued_seconds`).
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DAY = 86_400


class WorkerSettings(BaseSettings):
    """Typed settings; an inconsistent chain of limits fails at start-up."""

    model_config = SettingsConfigDict(env_prefix="TIVCAST_", extra="ignore")

    redis_url: str | None = Field(default=None, description="Redis URL (broker, job state); unset: embedded.")
    cache_redis_url: str | None = Field(
        default=None, description="Redis URL of the result cache (an evicting instance); default: redis_url."
    )
    accept_max_memory: float = Field(
        default=0.8, gt=0, le=1, description="New jobs are refused (503) above this fraction of Redis's maxmemory."
    )
    result_max_memory: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="One Redis for both roles: a result is stored only while it leaves the instance below this "
        "fraction of maxmemory (the rest is the broker's and the accepted jobs'). Ignored with cache_redis_url.",
    )
    key_prefix: str = Field(default="tivcast", min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    queue: str = Field(default="tivcast", min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    soft_time_limit: int = Field(default=20, ge=1, description="Seconds before a task is told to stop.")
    time_limit: int = Field(default=30, ge=1, description="Seconds before a task's process is killed.")
    visibility_timeout: int = Field(default=45, ge=1, description="Seconds before an unacked message is redelivered.")
    unacked_restore_interval: int = Field(default=5, ge=1, description="Seconds between sweeps for such messages.")
    max_deliveries: int = Field(default=3, ge=1, description="Lost deliveries of a key before it is failed as lost.")
    crash_cooloff: int = Field(
        default=3600, ge=1, description="Seconds a job failed as lost stays failed: resubmissions answer its failure."
    )
    stale_queued_busy_seconds: int = Field(
        default=1800, ge=60, description="A published job unclaimed this long is requeued even behind a busy queue."
    )
    result_ttl: int = Field(default=7 * DAY, ge=60, description="Seconds a result is kept in Redis.")
    job_ttl: int = Field(default=7 * DAY, ge=60, description="Seconds a job's state and payload are kept.")
    idempotency_ttl: int = Field(default=3600, ge=60, description="Seconds an Idempotency-Key is remembered.")
    redis_socket_timeout: float = Field(default=0.2, gt=0, description="API side: seconds per socket read/write.")
    redis_connect_timeout: float = Field(default=0.2, gt=0, description="API side: seconds to connect.")
    redis_operation_timeout: float = Field(default=0.25, gt=0, description="API side: deadline of a whole call.")
    enqueue_timeout: float = Field(default=1.0, gt=0, description="API side: deadline of publishing a task.")
    broker_socket_timeout: float = Field(default=5.0, gt=0, description="Worker side: Redis socket timeouts.")
    broker_reconnect_interval: float = Field(
        default=1.0, gt=0, le=30, description="Worker side: seconds between attempts to reach a lost broker."
    )
    breaker_failures: int = Field(default=3, ge=1, description="Consecutive Redis failures that open the breaker.")
    breaker_reset_seconds: float = Field(default=5.0, gt=0, description="Seconds open before one trial call.")
    max_memory_per_child_kb: int = Field(default=512_000, ge=50_000, description="A child above it is replaced.")
    heartbeat_seconds: float = Field(default=5.0, gt=0, description="Seconds between worker heartbeats.")
    heartbeat_ttl: int = Field(default=15, ge=1, description="Seconds a heartbeat counts a worker as online.")
    consumer_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A worker whose consumer made no progress this long (its event loop stopped, and it is not "
        "reconnecting) exits, for its supervisor to restart it (workers.liveness).",
    )
    warm_interval_seconds: int = Field(default=600, ge=10, description="Seconds between warm-cache sweeps.")
    warm_countries: tuple[str, ...] = ("JPN", "KOR", "CHN")
    embedded_workers: int = Field(default=1, ge=1, description="Embedded mode: forecasting processes.")
    result_cache_entries: int = Field(default=512, ge=1, description="Results kept in the in-process LRU.")
    result_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="Bytes kept in that LRU.")

    @model_validator(mode="after")
    def _limits_in_order(self) -> WorkerSettings:
        if not self.soft_time_limit < self.time_limit < self.visibility_timeout:
            raise ValueError(
                "need soft_time_limit < time_limit < visibility_timeout, got "
                f"{self.soft_time_limit}, {self.time_limit}, {self.visibility_timeout}"
            )
        if self.unacked_restore_interval >= self.visibility_timeout:
            raise ValueError("unacked_restore_interval must be below visibility_timeout")
        if self.result_max_memory <= self.accept_max_memory:
            raise ValueError("result_max_memory must be above accept_max_memory (results finish accepted jobs)")
        if self.heartbeat_seconds >= self.heartbeat_ttl:
            raise ValueError("heartbeat_seconds must be below heartbeat_ttl")
        if self.consumer_stall_seconds <= self.consumer_fresh_seconds:
            raise ValueError(
                f"consumer_stall_seconds must be above {self.consumer_fresh_seconds:g} (twice broker_socket_timeout "
                "plus 2 s): a consumer blocked in one connection attempt is alive"
            )
        if self.redis_operation_timeout < max(self.redis_socket_timeout, self.redis_connect_timeout):
            raise ValueError("redis_operation_timeout must cover redis_socket_timeout and redis_connect_timeout")
        return self

    @property
    def results_url(self) -> str | None:
        """Where results live: the cache instance if one is set, else the state instance."""
        return self.cache_redis_url or self.redis_url

    @property
    def consumer_fresh_seconds(self) -> float:
        """The longest a live consumer goes without marking progress (:mod:`workers.liveness`): the heartbeat is
        written only while its last mark is more recent than this.

        The consumer marks every second (a timer of its event loop; each second of its wait between reconnect
        attempts), except while one call blocks: a connection attempt to the broker (the connect, then the
        first reply, each bounded by ``broker_socket_timeout``; kombu makes one attempt per call, redis-py's
        retries are off on its connections), or a Redis command of the event loop on a connection it opens
        anew (the same two bounds). Two seconds more: the last second of the wait before an attempt (or the
        event loop's tick before a command) and a second of margin. Equal to the socket timeout (5 s, as it
        was), a single attempt that took its full timeout stopped the heartbeat of a consumer that was alive.
        """
        return 2 * self.broker_socket_timeout + 2.0

    @property
    def stale_running_seconds(self) -> float:
        """A job still 'running' this long after its start has lost its message: resubmitting requeues it.

        By then the hard limit has killed the task and the visibility timeout
        plus two restore sweeps have passed, so any redelivery would have
        claimed the job again (and reset its start).
        """
        return float(self.time_limit + self.visibility_timeout + 2 * self.unacked_restore_interval)

    @property
    def stale_enqueue_seconds(self) -> float:
        """A job 'queued' but never confirmed enqueued this long ago lost its publish: resubmitting requeues it."""
        return self.enqueue_timeout + 5.0

    @property
    def stale_queued_seconds(self) -> float:
        """A job published (or handed back by a delivery given up, ``RELEASE``) this long ago and still unclaimed,
        with the queue empty, lost its message: resubmitting (or beat's reconcile) requeues it.

        Only kombu's unacked records hold a message off the queue while its job is unclaimed (no task is retried
        with a countdown or an ETA: a task never publishes): a message a consumer took and has not claimed yet,
        or one whose delivery was given up without a requeue (Redis away, :func:`workers.tasks.give_up`). kombu's
        sweep puts it back on the queue once it has been unacknowledged ``visibility_timeout`` seconds since its
        delivery; the sweep runs every ``unacked_restore_interval``, and a second interval is the margin for a
        sweep that runs late (a timer of a consumer's event loop, skipped while another worker holds its lock).
        A handed-back job's delivery came before its ``queued`` time, and a claim follows its delivery at once
        (one prefetched message per pool process), so such a message is back within the bound. One taken off the
        queue long after it was published and then held (its worker killed between taking and claiming it, or
        Redis lost while it claimed) may be taken for lost and published again: a second delivery, never a loss.
        """
        return float(self.visibility_timeout + 2 * self.unacked_restore_interval)

    @property
    def stale(self) -> tuple[float, float, float, float]:
        """The staleness bounds :data:`workers.jobs.SUBMIT` takes: running, enqueue, queued, queued behind a queue."""
        return (
            self.stale_running_seconds,
            self.stale_enqueue_seconds,
            self.stale_queued_seconds,
            float(max(self.stale_queued_busy_seconds, self.stale_queued_seconds)),
        )


@lru_cache
def get_worker_settings() -> WorkerSettings:
    """The process-wide settings (cached; tests build their own ``WorkerSettings``)."""
    return WorkerSettings()
