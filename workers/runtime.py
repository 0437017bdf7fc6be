"""Per-process resources of a worker and their signal wiring (imported by :mod:`workers.tasks` only).

* The Redis client and job store are created lazily in each process and
  dropped after the fork (``worker_process_init``): a child never reuses the
  parent's sockets.
* A heartbeat thread, started when the worker is ready, writes
  ``{prefix}:worker:{hostname}`` with a short TTL and adds the hostname to
  ``{prefix}:workers``, so the API can count workers online without Celery's
  remote control (which needs a broadcast round trip and a timeout).
* ``task_failure`` records what the task itself could not: an unexpected
  exception, or the hard time limit (that one is reported in the parent
  process, after the child was killed).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

import redis
from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_failure, worker_process_init, worker_ready, worker_shutdown

from workers.celery_app import FORECAST_TASK
from workers.jobs import JobStore, Keys
from workers.settings import WorkerSettings, get_worker_settings

__all__ = ["Heartbeat", "describe_failure", "redis_client", "store"]

log = logging.getLogger(__name__)
_store: JobStore | None = None
_heartbeat: Heartbeat | None = None


def redis_client(settings: WorkerSettings) -> redis.Redis:
    """A worker-side client: generous timeouts and redis-py's default retries absorb blips."""
    if not settings.redis_url:
        raise RuntimeError("TIVCAST_REDIS_URL is not set: Celery workers need Redis")
    timeout = settings.broker_socket_timeout
    return redis.Redis.from_url(
        settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=10
    )


def store() -> JobStore:
    """This process's job store (created on first use)."""
    global _store
    if _store is None:
        settings = get_worker_settings()
        _store = JobStore(redis_client(settings), settings.key_prefix, settings.job_ttl, settings.result_ttl)
    return _store


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    global _store
    _store = None


def describe_failure(exc: BaseException) -> str:
    """The error recorded on a job for an exception the task did not handle."""
    settings = get_worker_settings()
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"stopped at the soft time limit ({settings.soft_time_limit} s)"
    if isinstance(exc, TimeLimitExceeded):
        return f"killed at the hard time limit ({settings.time_limit} s)"
    return f"internal error ({type(exc).__name__}); see the worker log"  # details stay in the log


@task_failure.connect
def _record_failure(sender: Any = None, exception: BaseException | None = None, args: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) != FORECAST_TASK or not args or exception is None:
        return
    try:
        store().fail(str(args[0]), describe_failure(exception))
    except redis.RedisError:
        log.exception("could not record the failure of job %s", args[0])


class Heartbeat(threading.Thread):
    """Marks this worker online every ``heartbeat_seconds``; survives Redis outages."""

    def __init__(self, settings: WorkerSettings, hostname: str) -> None:
        super().__init__(name="tivcast-heartbeat", daemon=True)
        self.settings, self.hostname, self.keys = settings, hostname, Keys(settings.key_prefix)
        self.stopped = threading.Event()
        self.client = redis_client(settings)
        self.info = json.dumps({"hostname": hostname, "pid": os.getpid(), "queue": settings.queue})

    def beat(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.worker(self.hostname), self.info, ex=self.settings.heartbeat_ttl)
        pipe.sadd(self.keys.workers, self.hostname)
        pipe.execute()

    def run(self) -> None:
        while True:
            try:
                self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            if self.stopped.wait(self.settings.heartbeat_seconds):
                return

    def stop(self) -> None:
        """Stop beating and go offline at once (a clean shutdown need not wait for the TTL)."""
        self.stopped.set()
        try:
            self.client.delete(self.keys.worker(self.hostname))
        except redis.RedisError:
            pass


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    _heartbeat = Heartbeat(get_worker_settings(), str(getattr(sender, "hostname", "unknown")))
    _heartbeat.start()


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
