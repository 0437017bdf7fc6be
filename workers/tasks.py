"""Celery tasks: thin, named, idempotent; a key in, one :mod:`forecasting` call, the result out.

``tivcast.forecast.run(key)`` runs every kind of job (forecast, scenario set,
backtest): the kind is in the payload, and one task keeps one set of
delivery rules. Idempotent under late acknowledgement: a delivery for a job
that already has its result only marks it succeeded. Input errors fail the
job once. A Redis connection error is waited out within the delivery
(:class:`Patience`); a Redis away past its deadline gives the delivery up
without an outcome, for its message to be redelivered (:func:`give_up`).

``tivcast.jobs.reconcile()`` (beat) publishes again the jobs whose message
was lost (:meth:`workers.jobs.JobStore.lost_messages`).

``tivcast.cache.warm()`` (beat) queues every warm entry the API published
whose result is missing, through the same single-flight submit as the API.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import redis
from celery import Task
from celery.exceptions import Reject

from forecasting import ForecastingError
from workers import compute, logs, runtime
from workers.celery_app import FORECAST_TASK, RECONCILE_TASK, WARM_TASK, app
from workers.jobs import JobStore, cannot_persist
from workers.runtime import store
from workers.settings import WorkerSettings, get_worker_settings

T = TypeVar("T")
__all__ = ["Patience", "reconcile", "run_job", "warm_cache"]

log = logging.getLogger(__name__)
TRANSIENT = (redis.ConnectionError, redis.TimeoutError)  # BusyLoadingError (Redis reading its file) included
RETRY_EVERY = 0.25  # seconds between attempts while Redis is away (a refused connection fails at once)


class Patience:
    """Runs the task's Redis operations through a Redis outage, up to a deadline well below the soft limit.

    An operation that fails with a connection error is tried again every :data:`RETRY_EVERY` seconds, so a
    delivery outlives a Redis restart and finishes a moment after Redis is back. The deadline leaves one
    socket timeout and a second before ``soft_time_limit``, so the attempts never run into the time limits
    (a task killed there would be recorded as failed). Past it the delivery is given up (:func:`give_up`).
    """

    def __init__(self, settings: WorkerSettings) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + settings.soft_time_limit - settings.broker_socket_timeout - 1.0

    def __call__(self, operation: Callable[[], T], what: str) -> T:
        waiting_since: float | None = None
        while True:
            try:
                result = operation()
            except (*TRANSIENT, redis.ResponseError) as exc:
                if isinstance(exc, redis.ResponseError) and not cannot_persist(exc):
                    raise  # an error, not an outage; MISCONF (Redis refusing writes it cannot persist) is one
                now = time.monotonic()
                if waiting_since is None:
                    waiting_since = now
                    log.warning("Redis is unreachable (%s: %s); trying again every %.2f s", what, exc, RETRY_EVERY)
                if now + RETRY_EVERY >= self.deadline:
                    raise RedisAway(what, now - waiting_since, exc) from exc
                time.sleep(RETRY_EVERY)
                continue
            if waiting_since is not None:
                log.info("Redis is back after %.1f s (%s)", time.monotonic() - waiting_since, what)
            return result


class RedisAway(Exception):
    """Redis stayed unreachable past the delivery's deadline."""

    def __init__(self, what: str, waited: float, cause: BaseException) -> None:
        super().__init__(f"Redis unreachable for {waited:.1f} s ({what}: {cause})")


def give_up(jobs: JobStore, key: str, exc: RedisAway) -> Reject:
    """The delivery ends without an outcome: nothing is recorded as failed, the message is not acknowledged.

    ``Reject(requeue=True)``: Celery neither acks the message nor fires ``task_failure``; the worker's QoS
    (:mod:`workers.broker`) requeues it if Redis answers by then, else as soon as the worker's consumer has a
    connection again (kombu's visibility sweep restores it if the worker dies first). If Redis answers, the job
    is handed back first (RELEASE), so its next delivery is not counted as a crash; if not, that delivery finds it
    ``running`` and counts one, within ``max_deliveries``.
    """
    try:
        jobs.release(key, f"redelivered: {exc}")
    except redis.RedisError:
        pass
    log.warning("delivery given up, its message is left to be redelivered: %s", exc)
    return Reject(str(exc), requeue=True)


@app.task(bind=True, name=FORECAST_TASK)
def run_job(self: Task[[str], str], key: str) -> str:
    """Compute job ``key`` unless it is done; returns what happened (for the worker log).

    Never publishes (a Redis error is waited out, never retried through the broker: publishing to a broker
    that is away blocks, then fails, and Celery turns that into ``Reject(requeue=False)``, a lost message).
    """
    settings, jobs = get_worker_settings(), store()
    patiently = Patience(settings)
    worker, run = self.request.hostname or "", uuid.uuid4().hex  # run: this run's own token (claim, fail, succeed)
    runtime.current_run = (self.request.id or "", run)  # for the failure signal of this process (_record_failure)
    try:
        claim = patiently(lambda: jobs.claim(key, settings.max_deliveries, worker, run), "claim")
        if claim[0] != "claimed":
            return claim[0]  # done, missing, or exhausted (recorded as failed by the claim)
        raw = patiently(lambda: jobs.payload(key), "payload")
        if raw is None:
            patiently(lambda: jobs.fail(key, "the job's payload expired or was lost; submit the request again", run),
                      "fail")
            return "failed"
        try:
            body, fits = compute.run(json.loads(raw))
        except ForecastingError as exc:
            error = str(exc)
            patiently(lambda: jobs.fail(key, error, run), "fail")
            return "failed"
        # a retried succeed counts this run's fits once, every run counts its own
        return "succeeded" if patiently(lambda: jobs.succeed(key, body, fits, run), "succeed") else "failed"
    except RedisAway as exc:
        raise give_up(jobs, key, exc) from exc


@app.task(name=WARM_TASK)
def warm_cache() -> int:
    """Queue the published warm entries whose results are missing; returns how many were queued."""
    settings, jobs = get_worker_settings(), store()
    stale = settings.stale
    request_id = logs.bound("request_id")  # the request that published the warm set, if any: pass it on
    headers = {logs.REQUEST_ID_HEADER: request_id} if request_id else {}
    queued = 0
    for raw_key, raw in jobs.client.hgetall(jobs.keys.warm).items():
        key, entry = raw_key.decode() if isinstance(raw_key, bytes) else raw_key, json.loads(raw)
        status = jobs.submit(key, entry["kind"], json.dumps(entry["summary"]), json.dumps(entry["payload"]), stale)
        if status == "full":
            log.warning("warm cache: Redis is near its memory limit; %s not queued", key)
            break
        if status == "created":
            run_job.apply_async((key,), queue=settings.queue, headers=headers)
            jobs.mark_enqueued(key)
            queued += 1
    log.info("warm cache: %d job(s) queued", queued)
    return queued


@app.task(name=RECONCILE_TASK)
def reconcile() -> int:
    """Publish again the jobs that have no message (beat): queued, never claimed, the queue empty; published and
    lost, or never published (a publish whose reply or recording failed, :data:`workers.jobs.REQUEUE`).

    A consumer that took a message off the queue and could not record it (Redis past ``maxmemory``) loses it;
    its job stayed ``queued`` and its result URL answered 202 until an identical request came
    (:data:`workers.jobs.SUBMIT` has the same rule). Returns how many were published.
    """
    settings, jobs = get_worker_settings(), store()
    lost = jobs.lost_messages(settings.stale_queued_seconds)
    for key in lost:
        run_job.apply_async((key,), queue=settings.queue)
        jobs.mark_enqueued(key)
    if lost:
        log.warning("reconcile: %d job(s) had lost their message and were queued again", len(lost))
    return len(lost)
