"""Per-process resources of a worker and their signal wiring (imported by :mod:`workers.tasks` only).

* The Redis client and job store are created lazily in each process and
  dropped after the fork (``worker_process_init``): a child never reuses the
  parent's sockets.
* A heartbeat thread, started when the worker is ready, writes
  ``{prefix}:worker:{hostname}`` with a short TTL and adds the hostname to
  ``{prefix}:workers``, so the API can count workers online without Celery's
  remote control (which needs a broadcast round trip and a timeout). It beats
  only while the worker's consumer proves it is alive (:mod:`workers.liveness`),
  so a worker that can no longer consume goes offline; and it is the watchdog:
  a consumer silent for ``consumer_stall_seconds`` (its event loop stopped,
  e.g. after an unrecoverable error, while the pool still holds tasks) makes
  the worker kill its pool and exit, for its supervisor to start a new one.
* ``task_failure`` records what the task itself could not: an unexpected
  exception, or the hard time limit (that one is reported in the parent
  process, after the child was killed).
* Around each task (``task_prerun``/``task_postrun``) the request id that
  came with the message, the task id and the job key are bound to the log
  context (:mod:`workers.logs`), and each finished delivery of a forecast
  job adds its outcome and duration to ``{prefix}:stats:jobs``
  (:mod:`workers.metrics`), which the API exports at ``/metrics``.
* Temporary files (:mod:`workers.scratch`): the worker's own root is emptied
  at ``worker_init`` (before the pool starts), each pool child gets a
  directory in it (``worker_process_init``), the heartbeat thread sweeps the
  directories of lost children, and ``worker_shutdown`` removes the root.
"""

from __future__ import annotations

import json
import logging
import multiprocessing.util
import os
import signal
import threading
import time
from typing import Any

import psutil
import redis
from celery.exceptions import Reject, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import (
    task_failure,
    task_postrun,
    task_prerun,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers import liveness, logs, time_limits
from workers.celery_app import FORECAST_TASK, queue_keys
from workers.jobs import JobStore, Keys
from workers.metrics import record_job
from workers.scratch import TempRoot
from workers.settings import WorkerSettings, get_worker_settings

__all__ = ["EXIT_STALLED", "Heartbeat", "describe_failure", "is_online", "redis_client", "store"]

log = logging.getLogger(__name__)
_store: JobStore | None = None
_heartbeat: Heartbeat | None = None
_temp: TempRoot | None = None  # made in the worker's main process; pool children inherit it
_started: dict[str, float] = {}  # task id -> monotonic start, in the process running the task
EXIT_STALLED = 70  # the exit status of a worker whose consumer stopped (EX_SOFTWARE)
TEST_HOOKS_ENV = "TIVCAST_TEST_HOOKS"  # workers.compute.TEST_HOOKS_ENV (not imported: it brings the model stack)


def redis_client(settings: WorkerSettings, url: str | None = None) -> redis.Redis:
    """A worker-side client (of the state instance unless ``url``): generous socket timeouts, one immediate
    reconnect after a dropped connection and no backoff (redis-py's default retries sleep up to seconds per call:
    the task waits out an outage itself, :class:`workers.tasks.Patience`, within its deadline)."""
    url = url or settings.redis_url
    if not url:
        raise RuntimeError("TIVCAST_REDIS_URL is not set: Celery workers need Redis")
    timeout = settings.broker_socket_timeout
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, health_check_interval=10,
                                # connection errors only, as the API's client: a timed-out call may have run, and
                                # CLAIM (it counts a crash when it finds its own job running) must not run twice
                                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)))


def store() -> JobStore:
    """This process's job store (created on first use)."""
    global _store
    if _store is None:
        settings = get_worker_settings()
        client = redis_client(settings)
        results = redis_client(settings, settings.cache_redis_url) if settings.cache_redis_url else client
        _store = JobStore(
            client,
            settings.key_prefix,
            settings.job_ttl,
            settings.result_ttl,
            results,
            settings.accept_max_memory,
            queues=queue_keys(settings),
            result_max_memory=settings.result_max_memory,
            max_deliveries=settings.max_deliveries,
            crash_cooloff=settings.crash_cooloff,
        )
    return _store


@worker_init.connect
def _prepare_temp_root(sender: Any = None, **_: Any) -> None:
    time_limits.install(get_worker_settings().soft_time_limit)  # before the pool forks (workers.time_limits)
    global _temp
    _temp = TempRoot.for_worker(str(getattr(sender, "hostname", None) or f"pid{os.getpid()}"))


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    global _store
    _store = None
    if _temp is not None:
        _temp.enter_child()


def describe_failure(exc: BaseException) -> str:
    """The error recorded on a job for an exception the task did not handle."""
    settings = get_worker_settings()
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"stopped at the soft time limit ({settings.soft_time_limit} s)"
    if isinstance(exc, TimeLimitExceeded):
        return f"killed at the hard time limit ({settings.time_limit} s)"
    if isinstance(exc, Reject):  # its message was dropped (run_job never does this: it requeues)
        return f"its delivery was rejected ({getattr(exc, 'reason', exc)}); submit the request again"
    return f"internal error ({type(exc).__name__}); see the worker log"  # details stay in the log


def _count(outcome: str, seconds: float | None) -> None:
    """Add a finished delivery to the job metrics, and log it; a Redis error costs only the sample."""
    log.info(
        "job %s (%s)",
        outcome,
        "duration unknown" if seconds is None else f"{seconds:.2f} s",
        extra={"outcome": outcome, "duration_s": None if seconds is None else round(seconds, 3)},
    )
    try:
        jobs = store()
        record_job(jobs.client, jobs.keys.job_stats, outcome, seconds)
    except redis.RedisError as exc:
        log.warning("could not record job metrics: %s", exc)


def _elapsed(task_id: str | None) -> float | None:
    started = _started.pop(task_id or "", None)
    return None if started is None else time.monotonic() - started


@task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, args: Any = None, **_: Any) -> None:
    limits = getattr(getattr(task, "request", None), "timelimit", None) or (None, None)  # (hard, soft)
    time_limits.started(limits[1] if len(limits) > 1 else None)
    fields = {"task_id": task_id or ""}
    request_id = task.request.get(logs.REQUEST_ID_HEADER) if task is not None else None
    if request_id:
        fields["request_id"] = str(request_id)[:128]
    if getattr(task, "name", None) == FORECAST_TASK and args:
        fields["job"] = str(args[0])
        _started[task_id or ""] = time.monotonic()
    logs.bind(**fields)  # this process runs one task at a time; postrun clears it


@task_postrun.connect
def _task_finished(
    task_id: str | None = None, task: Any = None, retval: Any = None, state: str | None = None, **_: Any
) -> None:
    try:
        if getattr(task, "name", None) == FORECAST_TASK and state in ("SUCCESS", "REJECTED"):
            # SUCCESS: what run_job returned (succeeded, failed, done, missing, exhausted); REJECTED: a delivery
            # given up while Redis was away (workers.tasks.give_up), to be redelivered.
            _count(str(retval) if state == "SUCCESS" else "redelivered", _elapsed(task_id))
        _started.pop(task_id or "", None)  # FAILURE was counted by task_failure
    finally:
        time_limits.finished()
        logs.clear()


# (task id, claim token) of the task this pool process runs (prefork: one at a time), set by tasks.run_job
current_run: tuple[str, str] = ("", "")


@task_failure.connect
def _record_failure(
    sender: Any = None, exception: BaseException | None = None, args: Any = None, task_id: str | None = None, **_: Any
) -> None:
    if getattr(sender, "name", None) != FORECAST_TASK or not args or exception is None:
        return
    limit = isinstance(exception, SoftTimeLimitExceeded | TimeLimitExceeded)
    # The hard limit is reported in the parent process, which never saw the start: duration unknown.
    _count("timeout" if limit else "error", _elapsed(task_id))
    # The run's claim token, where the failure is reported in the process that ran it (the hard limit is reported
    # in the parent, without it): a job another run claimed since is not this run's to fail (FAIL).
    run = current_run[1] if current_run[0] and current_run[0] == task_id else ""
    try:
        if not store().fail(str(args[0]), describe_failure(exception), run):
            log.warning("job %s: this delivery's failure (%s) is not recorded: the job succeeded, expired, or "
                        "another worker claimed it since", args[0], type(exception).__name__)
    except redis.RedisError:
        log.exception("could not record the failure of job %s", args[0])


class Heartbeat(threading.Thread):
    """Marks this worker online every ``heartbeat_seconds`` while its consumer is alive; survives Redis outages;
    makes the worker exit when its consumer stopped (the module docstring)."""

    def __init__(self, settings: WorkerSettings, hostname: str, temp: TempRoot | None = None) -> None:
        super().__init__(name="tivcast-heartbeat", daemon=True)
        self.settings, self.hostname, self.keys = settings, hostname, Keys(settings.key_prefix)
        self.temp = temp  # swept on every beat: a lost child's files go within heartbeat_seconds
        self.stopped = threading.Event()
        self.client = redis_client(settings)
        self.info = json.dumps({"hostname": hostname, "pid": os.getpid(), "queue": settings.queue})
        self.silent = False  # the consumer was silent at the last check (logged once per silence)
        self.checked: float | None = None  # when consumer_alive last ran (monotonic)

    def beat(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.set(self.keys.worker(self.hostname), self.info, ex=self.settings.heartbeat_ttl)
        pipe.sadd(self.keys.workers, self.hostname)
        pipe.execute()

    def consumer_alive(self) -> bool:
        """Whether the consumer made progress lately; exits the process if it has been silent too long.

        A check that comes much later than its interval means this thread was not running either: the whole
        process was frozen (SIGSTOP, ``docker pause``, a VM migrated or suspended). The consumer's silence then
        says nothing about it, so the decision waits one interval, for its event loop to take a turn."""
        now = time.monotonic()
        gap = now - self.checked if self.checked is not None else 0.0
        self.checked = now
        silent, fresh = liveness.silent_for(), self.settings.consumer_fresh_seconds
        if gap > self.settings.heartbeat_seconds + fresh and silent > fresh:
            log.warning("this process was frozen for about %.1f s: judging the consumer at the next check", gap)
            return False
        if silent > liveness.stall_allowance(self.settings.consumer_stall_seconds, self.settings.time_limit):
            self.exit_stalled(silent)
        if silent > fresh:
            if not self.silent:
                log.warning("the consumer made no progress for %.1f s: not beating", silent)
            self.silent = True
            return False
        if self.silent:
            log.info("the consumer makes progress again: beating")
        self.silent = False
        return True

    def exit_stalled(self, silent: float) -> None:
        """Kill the pool and exit. Nothing here takes a lock the stalled consumer may hold (a logging handler's,
        if it stalled inside a log write): the last line is written straight to stderr, and the exit comes
        whatever the steps before it do."""
        self.stopped.set()
        try:
            os.write(2, (f"CRITICAL the consumer made no progress for {silent:.1f} s (its event loop stopped): "
                         f"killing the pool and exiting ({EXIT_STALLED}), for the supervisor to start a new worker; "
                         "running tasks are redelivered after the visibility timeout\n").encode())
            for pid in _children():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.client.delete(self.keys.worker(self.hostname))
            except redis.RedisError:
                pass
        finally:
            os._exit(EXIT_STALLED)

    def run(self) -> None:
        while True:
            try:
                if self.consumer_alive():
                    self.beat()
            except redis.RedisError as exc:
                log.warning("heartbeat failed: %s", exc)
            if self.temp is not None:
                try:
                    self.temp.sweep()
                except OSError as exc:  # never let a sweep stop the heartbeat
                    log.warning("temporary files sweep failed: %s", exc)
            if self.stopped.wait(self.settings.heartbeat_seconds):
                return

    def stop(self) -> None:
        """Stop beating and go offline at once (a clean shutdown need not wait for the TTL)."""
        self.stopped.set()
        try:
            self.client.delete(self.keys.worker(self.hostname))
        except redis.RedisError:
            pass


def _children() -> list[int]:
    """PIDs of this process's descendants: the pool and what its processes started (cmdstan), from psutil, which
    scans every process's parent (``/proc/<pid>/task/*/children``, read before, exists only in kernels built with
    ``CONFIG_PROC_CHILDREN`` and misses grandchildren). On Linux Celery's prefork pool processes die with the
    worker anyway (``PR_SET_PDEATHSIG``, SIGKILL); their own children, a running cmdstan, do not."""
    try:
        return [child.pid for child in psutil.Process().children(recursive=True)]
    except psutil.Error:
        return []


def is_online(hostname: str, settings: WorkerSettings | None = None) -> bool:
    """Whether worker ``hostname`` has a live heartbeat (the worker container's healthcheck)."""
    settings = settings or get_worker_settings()
    client = redis_client(settings)
    try:
        return bool(client.exists(Keys(settings.key_prefix).worker(hostname)))
    except redis.RedisError:
        return False
    finally:
        client.close()


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    global _heartbeat
    liveness.reset()
    _heartbeat = Heartbeat(get_worker_settings(), str(getattr(sender, "hostname", "unknown")), _temp)
    _heartbeat.start()
    if os.environ.get(TEST_HOOKS_ENV) == "1":
        signal.signal(signal.SIGUSR2, _test_break_consumer)


def _test_break_consumer(signum: int, frame: Any) -> None:
    """Test hook (``TIVCAST_TEST_HOOKS=1`` only): SIGUSR2 raises in the consumer's event loop (the main thread),
    the way kombu's ack on a closed channel did: Celery logs an unrecoverable error and stops its consumer."""
    raise AttributeError("test hook: the consumer's event loop failed")


@worker_shutting_down.connect
def _shutting_down(**_: Any) -> None:
    liveness.shutting_down()  # a warm shutdown may wait for its tasks up to the hard limit (workers.liveness)


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    if _heartbeat is not None:
        _heartbeat.stop()
    if _temp is not None and _temp.owner == os.getpid():
        # At exit, after multiprocessing removed its own directory in main/ (its finalizer, priority -100).
        multiprocessing.util.Finalize(None, _temp.remove, exitpriority=-101)
