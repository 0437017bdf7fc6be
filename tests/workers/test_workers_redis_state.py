"""The state Redis as compose runs it, on real processes: a restart keeps what was accepted and costs a running job
no delivery, and a Redis that refuses writes (past ``maxmemory``) is an outage the worker waits out, not an exit.

Each test runs its own ``redis-server`` (it restarts or fills it) and a real ``tivcast worker``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis

from forecasting import ForecastInputs
from tests.services import CeleryWorker, RedisServer, unique_prefix, wait_for
from tests.workers.conftest import japan_forecast, mis_keyed, settings_for, with_hook
from tests.workers.test_workers_failures import SHORT_LIMITS, job_in, job_now, submit
from workers.celery_app import RECONCILE_TASK, make_celery, queue_keys
from workers.jobs import JobStore


def test_a_restart_keeps_an_accepted_job_and_costs_a_running_one_no_delivery(
    tmp_path: Path, japan_inputs: ForecastInputs
) -> None:
    prefix = unique_prefix("aof")
    with RedisServer.like_compose("redis") as server:  # append-only, noeviction: as compose runs it
        settings = settings_for(prefix, server.url())
        accepted = japan_forecast(japan_inputs, horizon=3)
        assert submit(settings, accepted).state == "queued"  # 202: no worker is running yet
        server.restart()
        kept = job_now(settings, accepted.key)
        assert kept is not None and kept.state == "queued"
        assert server.client().llen(queue_keys(settings)[0]) == 1  # and its message
        with CeleryWorker(server.url(), prefix, env=SHORT_LIMITS, log_dir=tmp_path):
            done = job_in(settings, accepted.key, ("succeeded", "failed"), 30)
            assert (done.state, done.attempts) == ("succeeded", 1)
            # A restart while a job runs: the task carries on, and no delivery is counted (it used to be cancelled
            # and redelivered, so three blips failed a healthy job as "worker lost").
            slow = with_hook(japan_forecast(japan_inputs, horizon=4), sleep=2)
            submit(settings, slow)
            job_in(settings, slow.key, ("running",), 20)
            server.restart()
            finished = job_in(settings, slow.key, ("succeeded", "failed"), 40)
            assert (finished.state, finished.attempts, finished.crashes) == ("succeeded", 1, 0)


def test_a_redis_past_maxmemory_is_waited_out_by_the_worker(tmp_path: Path, japan_inputs: ForecastInputs) -> None:
    """kombu's ack (ZREM/HDEL in MULTI) and its unacked-restore lock are refused past maxmemory: the worker used to
    exit with "Unrecoverable error: OutOfMemoryError"; now its consumer pauses and restarts until Redis has room,
    and a job whose message was lost meanwhile is published again by the reconcile sweep."""
    prefix = unique_prefix("oom")
    with RedisServer("--maxmemory-policy", "noeviction") as server, RedisServer(
        "--maxmemory-policy", "allkeys-lru"
    ) as cache:
        env = {**SHORT_LIMITS, "TIVCAST_CACHE_REDIS_URL": cache.url()}
        with CeleryWorker(server.url(), prefix, env=env, log_dir=tmp_path) as worker:
            settings = settings_for(prefix, server.url(), cache_redis_url=cache.url())
            client = server.client()
            slow = with_hook(japan_forecast(japan_inputs, horizon=2), sleep=2)
            submit(settings, slow)
            job_in(settings, slow.key, ("running",), 20)
            used = int(client.info("memory")["used_memory"])
            client.config_set("maxmemory", used // 2)  # the ack of the running task will be refused
            with pytest.raises(redis.exceptions.OutOfMemoryError):
                client.set("probe", "x")
            assert job_in(settings, slow.key, ("succeeded", "failed"), 30).state == "succeeded"  # allow-oom
            def paused_or_exited() -> bool:
                return "refused a write" in worker.log.read_text(errors="replace") or worker.process.poll() is not None

            assert worker.process is not None
            wait_for(paused_or_exited, 15, "the consumer to pause")
            assert worker.process.poll() is None, worker.log_tail()  # it used to exit here
            time.sleep(1.5)  # it keeps being refused (the restore lock at each reconnect)
            assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
            client.config_set("maxmemory", 0)
            # A job accepted whose message was then lost (taken off the queue, its unacked record refused): beat's
            # reconcile publishes it again, and the worker consumes again.
            spec = mis_keyed(japan_forecast(japan_inputs, horizon=3))  # consumed and failed at once: no model fit
            jobs = JobStore(client, prefix, 3600, 3600, queues=queue_keys(settings))
            assert jobs.submit(spec.key, spec.kind, "{}", json.dumps(spec.payload), settings.stale) == "created"
            jobs.mark_enqueued(spec.key)  # "published", but no message exists
            client.hset(jobs.keys.job(spec.key), "queued", time.time() - 60)  # past the worker's stale bound (16 s)
            celery = make_celery(settings)
            celery.send_task(RECONCILE_TASK, queue=settings.queue)
            done = job_in(settings, spec.key, ("succeeded", "failed"), 30)
            assert (done.state, done.attempts) == ("failed", 1)
            celery.close()
            assert "Unrecoverable error" not in worker.log.read_text(errors="replace")
            client.close()
