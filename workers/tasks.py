"""Celery tasks: thin, named, idempotent; a key in, one :mod:`forecasting` call, the result out.

``tivcast.forecast.run(key)`` runs every kind of job (forecast, scenario set,
backtest): the kind is in the payload, and one task keeps one set of
delivery rules. Idempotent under late acknowledgement: a delivery for a job
that already has its result only marks it succeeded. Input errors fail the
job once; only Redis connection errors are retried, a bounded number of
times with jittered exponential backoff.

``tivcast.jobs.reconcile()`` (beat) publishes again the jobs whose message
was lost (:meth:`workers.jobs.JobStore.lost_messages`).

``tivcast.cache.warm()`` (beat) queues every warm entry the API published
whose result is missing, through the same single-flight submit as the API.
"""

from __future__ import annotations

import json
import logging
import random

import redis
from celery import Task

from forecasting import ForecastingError
from workers import compute, logs
from workers.celery_app import FORECAST_TASK, RECONCILE_TASK, WARM_TASK, app
from workers.runtime import store
from workers.settings import WorkerSettings, get_worker_settings

__all__ = ["backoff", "reconcile", "run_job", "warm_cache"]

log = logging.getLogger(__name__)
TRANSIENT = (redis.ConnectionError, redis.TimeoutError)


def backoff(retries: int, settings: WorkerSettings) -> float:
    """Seconds before retry number ``retries + 1``: exponential, capped, jittered (no thundering herd)."""
    return min(settings.retry_backoff_max, 2.0**retries) * random.uniform(0.5, 1.0)


@app.task(bind=True, name=FORECAST_TASK)
def run_job(self: Task[[str], str], key: str) -> str:
    """Compute job ``key`` unless it is done; returns what happened (for the worker log)."""
    settings, jobs = get_worker_settings(), store()
    try:
        status, _ = jobs.claim(key, settings.max_deliveries, self.request.hostname or "")
        if status != "claimed":
            return status  # done, missing, or exhausted (recorded as failed by the claim)
        raw = jobs.payload(key)
        if raw is None:
            jobs.fail(key, "the job's payload expired or was lost; submit the request again")
            return "failed"
        try:
            body, fits = compute.run(json.loads(raw))
        except ForecastingError as exc:
            jobs.fail(key, str(exc))
            return "failed"
        return "succeeded" if jobs.succeed(key, body, fits) else "failed"
    except TRANSIENT as exc:
        try:
            jobs.release(key, f"retrying after a Redis error: {exc}")
        except redis.RedisError:
            pass  # Redis is still away; the next claim counts this delivery, within max_deliveries
        raise self.retry(
            exc=exc, countdown=backoff(self.request.retries, settings), max_retries=settings.max_retries
        ) from exc


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
    """Publish again the jobs whose message was lost (beat): published, never claimed, the queue empty.

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
