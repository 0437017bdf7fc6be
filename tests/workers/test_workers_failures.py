"""Failures on real processes: killed children, killed workers, Redis stopped or stalled.

Worker-killing tests use the machine's Redis under their own prefix and queue; tests that stop,
pause or empty Redis run their own ``redis-server`` (``RedisServer``). Slowness and crashes come
from the payload's test hook, honoured only because these workers run with ``TIVCAST_TEST_HOOKS=1``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from forecasting import ForecastInputs
from tests.services import PRODUCTION_DEADLINES, SHARED_REDIS_URL, CeleryWorker, RedisServer, wait_for
from tests.workers.conftest import japan_forecast, run, settings_for, wait_job, with_hook
from workers.client import RedisService, Unavailable
from workers.jobs import Job
from workers.requests import JobSpec
from workers.settings import WorkerSettings

# The whole-worker test shortens the chain of limits (still soft < hard < visibility) so that a
# killed worker's message is swept back after about 15 s instead of the production 45-50 s: short enough
# to keep the tests quick, long enough for a fresh worker's first forecast (imports plus the coherent
# statistical base of every supplier, about 3 s on a loaded 2-core machine) after a 2 s test hook.
SHORT_LIMITS = {"TIVCAST_SOFT_TIME_LIMIT": "10", "TIVCAST_TIME_LIMIT": "12", "TIVCAST_VISIBILITY_TIMEOUT": "14",
                "TIVCAST_UNACKED_RESTORE_INTERVAL": "1"}


def job_now(settings: WorkerSettings, key: str) -> Job | None:
    async def fetch() -> Job | None:
        service = RedisService(settings)
        try:
            return await service.get_job(key)
        finally:
            await service.aclose()

    return run(fetch())


def job_in(settings: WorkerSettings, key: str, states: tuple[str, ...], timeout: float) -> Job:
    def reached() -> Job | None:
        try:
            job = job_now(settings, key)
        except Unavailable:  # Redis out of reach for a moment (a test may have stopped it): poll again
            return None
        return job if job is not None and job.state in states else None

    found = wait_for(reached, timeout, f"job in {states}", interval=0.1)
    assert isinstance(found, Job)
    return found


def submit(settings: WorkerSettings, spec: JobSpec) -> Job:
    async def go() -> Job:
        service = RedisService(settings)
        try:
            return await service.submit(spec)
        finally:
            await service.aclose()

    return run(go())


@pytest.fixture
def worker(prefix: str, tmp_path: Path) -> Iterator[CeleryWorker]:
    with CeleryWorker(SHARED_REDIS_URL, prefix, log_dir=tmp_path) as started:
        yield started


class TestKilledChild:
    def test_a_job_whose_child_is_killed_mid_task_completes(self, prefix: str, worker: CeleryWorker,
                                                            japan_inputs: ForecastInputs) -> None:
        settings = settings_for(prefix)
        spec = with_hook(japan_forecast(japan_inputs), sleep=2)
        submit(settings, spec)
        job_in(settings, spec.key, ("running",), 20)
        assert worker.kill_child(), "no pool child to kill"
        done = job_in(settings, spec.key, ("succeeded", "failed"), 30)
        assert (done.state, done.attempts, done.error) == ("succeeded", 2, None)

    def test_a_job_that_kills_every_child_fails_after_three_deliveries(self, prefix: str, worker: CeleryWorker,
                                                                       japan_inputs: ForecastInputs) -> None:
        settings = settings_for(prefix)
        spec = with_hook(japan_forecast(japan_inputs), crash=True)
        submit(settings, spec)
        failed = job_in(settings, spec.key, ("succeeded", "failed"), 60)
        assert (failed.state, failed.attempts) == ("failed", 3)
        assert failed.error == "worker lost on every delivery (3 attempts); not run again for 3600 s"
        # Resubmitting (a client's retry, the dashboard's poll) does not bring it back during the cool-off.
        again = submit(settings, spec)
        assert (again.state, again.attempts, again.error) == ("failed", 3, failed.error)
        time.sleep(1)
        assert job_now(settings, spec.key) == again  # no further delivery ran


class TestTimeLimits:
    def test_a_job_past_the_soft_limit_fails_and_is_not_redelivered(self, prefix: str, tmp_path: Path,
                                                                    japan_inputs: ForecastInputs) -> None:
        limits = {**SHORT_LIMITS, "TIVCAST_SOFT_TIME_LIMIT": "1", "TIVCAST_TIME_LIMIT": "3"}
        settings = settings_for(prefix)
        spec = with_hook(japan_forecast(japan_inputs), sleep=10)
        with CeleryWorker(SHARED_REDIS_URL, prefix, env=limits, log_dir=tmp_path):
            submit(settings, spec)
            failed = job_in(settings, spec.key, ("succeeded", "failed"), 20)
            time.sleep(1.5)  # a requeued message would have been claimed again by now
            later = job_now(settings, spec.key)
        assert (failed.state, failed.error) == ("failed", "stopped at the soft time limit (1 s)")
        assert later is not None and (later.state, later.attempts) == ("failed", 1)


    def test_a_job_past_the_hard_limit_is_killed_and_failed(self, prefix: str, tmp_path: Path,
                                                             japan_inputs: ForecastInputs) -> None:
        limits = {**SHORT_LIMITS, "TIVCAST_SOFT_TIME_LIMIT": "1", "TIVCAST_TIME_LIMIT": "2"}
        settings = settings_for(prefix)
        spec = with_hook(japan_forecast(japan_inputs), sleep=10, ignore_soft_limit=True)
        with CeleryWorker(SHARED_REDIS_URL, prefix, env=limits, log_dir=tmp_path):
            submit(settings, spec)
            failed = job_in(settings, spec.key, ("succeeded", "failed"), 20)
            time.sleep(1.5)
            later = job_now(settings, spec.key)
        assert (failed.state, failed.error) == ("failed", "killed at the hard time limit (2 s)")
        assert later is not None and (later.state, later.attempts) == ("failed", 1)


class TestKilledWorker:
    def test_the_job_completes_on_another_worker(self, prefix: str, tmp_path: Path,
                                                 japan_inputs: ForecastInputs) -> None:
        settings = settings_for(prefix, soft_time_limit=10, time_limit=12, visibility_timeout=14,
                                unacked_restore_interval=1)
        spec = with_hook(japan_forecast(japan_inputs), sleep=2)
        with ExitStack() as stack:
            pair = [stack.enter_context(CeleryWorker(SHARED_REDIS_URL, prefix, name=n, env=SHORT_LIMITS,
                                                     log_dir=tmp_path)) for n in ("w1", "w2")]
            submit(settings, spec)
            running = job_in(settings, spec.key, ("running",), 20)
            victim = next(w for w in pair if w.hostname == running.worker)
            victim.kill()
            done = job_in(settings, spec.key, ("succeeded", "failed"), 60)
        survivor = next(w for w in pair if w is not victim)
        assert (done.state, done.attempts, done.worker) == ("succeeded", 2, survivor.hostname), done.error


async def failures(call: Callable[[], Awaitable[object]], n: int = 50) -> list[str]:
    """The details of ``n`` calls that must all fail with :class:`Unavailable` and a ``retry_after`` (anything
    else, a hang included, fails the test). Their latency is measured by ``bench/redis_outage.py``."""
    details = []
    for _ in range(n):
        with pytest.raises(Unavailable) as error:
            await call()
        assert error.value.retry_after >= 1
        details.append(error.value.detail)
    return details


async def recovered(call: Callable[[], Awaitable[object]], timeout: float) -> None:
    """Wait until ``call`` stops raising :class:`Unavailable` (fail after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await call()
            return
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


class TestRedisDown:
    def test_stopped_redis_fails_fast_then_recovers_empty(self, tmp_path: Path, japan_inputs: ForecastInputs) -> None:
        spec, later = japan_forecast(japan_inputs), japan_forecast(japan_inputs, "restriction")
        with RedisServer() as server:
            prefix = "tivcast-test-down"
            settings = settings_for(prefix, redis_url=server.url(), deadlines=PRODUCTION_DEADLINES,
                                    breaker_reset_seconds=1.0)
            with CeleryWorker(server.url(), prefix, log_dir=tmp_path):

                async def scenario() -> None:
                    service = RedisService(settings)
                    try:
                        await service.submit(spec)
                        await wait_job(service, spec.key)
                        body = await service.get_result(spec.key)  # now also in the in-process LRU
                        server.stop()
                        details = await failures(lambda: service.get_job(spec.key))
                        assert service.breaker.state == "open"
                        assert "circuit open" in details[-1]  # refused without trying: it cannot hang
                        for call in (service.submit(later), service.workers_online(), service.get_result(later.key)):
                            with pytest.raises(Unavailable):
                                await call
                        assert await service.get_result(spec.key) == body  # served from memory
                        server.start()  # empty: nothing was persisted
                        await recovered(lambda: service.get_job(spec.key), timeout=5)
                        assert await service.get_job(spec.key) is None
                        await service.submit(later)
                        done = await wait_job(service, later.key, timeout=60)
                        assert done.state == "succeeded"
                    finally:
                        await service.aclose()

                run(scenario())

    def test_stalled_redis_times_out_fast_then_recovers_with_its_data(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs)
        with RedisServer() as server:
            settings = settings_for("tivcast-test-stall", redis_url=server.url(), deadlines=PRODUCTION_DEADLINES,
                                    breaker_reset_seconds=1.0)

            async def scenario() -> None:
                service = RedisService(settings)
                try:
                    await service.submit(spec)  # no worker: it stays queued
                    server.client().client_pause(2000, all=True)
                    details = await failures(lambda: service.get_job(spec.key), n=20)
                    assert service.breaker.state in ("open", "half-open")
                    assert "circuit open" in details[-1]
                    await recovered(lambda: service.get_job(spec.key), timeout=6)
                    job = await service.get_job(spec.key)
                    assert job is not None and job.state == "queued"
                finally:
                    await service.aclose()

            run(scenario())

