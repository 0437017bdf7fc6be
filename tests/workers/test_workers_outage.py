"""A Redis restart while jobs run costs no accepted job: every one ends ``succeeded``, and the workers consume again.

The production layout on real processes: the state Redis with the compose options (append-only, ``noeviction``),
a separate result cache, two ``tivcast worker --concurrency 2`` (as compose runs them). Six distinct forecasts are
submitted, the state Redis is shut down while four of them run, and started again from its data after the outage:

* ~4 s, shorter than every limit: the running tasks wait for Redis and finish their delivery once it is back;
* 60 s, longer than the soft time limit (20 s) and the visibility timeout (45 s): the running tasks give their
  delivery up without recording anything, their messages stay unacknowledged and are requeued by their worker
  once it is connected again (or by the visibility sweep) (this is the only test with so long an outage, and it
  also checks the consumer's fixed reconnect schedule, which only an outage longer than Celery's growing waits (up
  to 30 s) tells apart; ``test_workers_given_up.py`` checks that the requeue does not wait for the sweep).

In both, a job submitted after Redis returned is consumed within a bounded time (printed; the figure itself is
measured by ``bench/redis_outage_jobs.py``), no worker logs an unrecoverable error and both stay up.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from forecasting import ForecastInputs
from tests.services import CeleryWorker, RedisServer, unique_prefix, wait_for
from tests.workers.conftest import japan_forecast, run, settings_for, wait_job, with_hook
from tests.workers.test_workers_failures import job_in, submit
from workers.client import RedisService, Unavailable
from workers.jobs import Job
from workers.requests import JobSpec
from workers.runtime import EXIT_STALLED, is_online
from workers.settings import WorkerSettings

RETRY = re.compile(r"Trying again in ([\d.]+) seconds?")
SCENARIOS = ("baseline", "liberalisation", "restriction")
CONSUME_BOUND = 15.0  # seconds: a generous behavioural bound (the target, 2 s, is the benchmark's)


def announced_retries(log: Path) -> list[float]:
    """The waits the worker's consumer announced before each reconnect attempt, in seconds."""
    waits = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and "Cannot connect" in line:
            match = RETRY.search(json.loads(line)["message"])
            if match:
                waits.append(float(match.group(1)))
    return waits


async def submit_when_back(service: RedisService, spec: JobSpec, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await service.submit(spec)
            return
        except Unavailable:  # the API's breaker lets a trial through after a second
            assert time.monotonic() < deadline, "the API never reached Redis again"
            await asyncio.sleep(0.1)


@dataclass
class Outcome:
    jobs: list[Job]
    late: Job
    submitted_after: float  # seconds from Redis back to the late job's acceptance (the API's breaker)
    consumed_after: float  # seconds from its acceptance to its claim


def outage_while_running(outage: float, japan_inputs: ForecastInputs, tmp_path: Path,
                         settle: float) -> tuple[Outcome, list[CeleryWorker], list[str]]:
    specs = [with_hook(japan_forecast(japan_inputs, scenario, horizon=h), sleep=1.5)
             for scenario in SCENARIOS for h in (2, 3)]
    late = japan_forecast(japan_inputs, "baseline", horizon=4)
    prefix = unique_prefix("outage")
    with ExitStack() as stack:
        state = stack.enter_context(RedisServer.like_compose("redis"))
        cache = stack.enter_context(RedisServer.like_compose("redis-cache"))
        env = {"TIVCAST_CACHE_REDIS_URL": cache.url()}
        workers = [stack.enter_context(CeleryWorker(state.url(), prefix, name=name, env=env, log_dir=tmp_path,
                                                    concurrency=2)) for name in ("w1", "w2")]
        settings: WorkerSettings = settings_for(prefix, redis_url=state.url(), cache_redis_url=cache.url(),
                                                breaker_reset_seconds=1.0)

        async def scenario() -> Outcome:
            service = RedisService(settings)
            try:
                for spec in specs:
                    await service.submit(spec)
                for spec in specs[:4]:  # two workers, two processes each: four run at once
                    await wait_job(service, spec.key, ("running",), 60)
                state.shutdown()
                await asyncio.sleep(outage)
                state.start()
                back = time.monotonic()
                await submit_when_back(service, late)
                submitted = time.monotonic()
                await wait_job(service, late.key, ("running", "succeeded", "failed"), settle)
                consumed = time.monotonic()
                done = [await wait_job(service, spec.key, ("succeeded", "failed"), settle) for spec in specs]
                finished = await wait_job(service, late.key, ("succeeded", "failed"), settle)
                return Outcome(done, finished, submitted - back, consumed - submitted)
            finally:
                await service.aclose()

        outcome = run(scenario())
        alive = [w for w in workers if w.process is not None and w.process.poll() is None]
        assert len(alive) == 2, [w.log_tail() for w in workers]
        logs = [w.log.read_text(errors="replace") for w in workers]
    return outcome, workers, logs


def summary(outcome: Outcome) -> str:
    return (f"Redis back, a new job accepted {outcome.submitted_after:.2f} s later and claimed "
            f"{outcome.consumed_after:.2f} s after that; deliveries {[j.attempts for j in outcome.jobs]}, "
            f"crashes {[j.crashes for j in outcome.jobs]}, states {sorted({j.state for j in outcome.jobs})}")


def check(outcome: Outcome, logs: list[str], label: str) -> None:
    print(f"\n{label}: {summary(outcome)}")  # noqa: T201
    assert [(j.state, j.error) for j in outcome.jobs] == [("succeeded", None)] * len(outcome.jobs)
    assert (outcome.late.state, outcome.late.error) == ("succeeded", None)
    assert outcome.consumed_after < CONSUME_BOUND
    for text in logs:
        assert "Unrecoverable error" not in text
        assert "internal error" not in text


def test_a_4_s_restart_while_jobs_run_costs_no_job(tmp_path: Path, japan_inputs: ForecastInputs) -> None:
    outcome, _, logs = outage_while_running(4, japan_inputs, tmp_path, settle=60)
    check(outcome, logs, "4 s outage")
    # Shorter than every limit: the running deliveries waited for Redis and finished; none was redelivered.
    assert [(j.attempts, j.crashes) for j in outcome.jobs] == [(1, 0)] * len(outcome.jobs)


def test_a_60_s_restart_while_jobs_run_costs_no_job(tmp_path: Path, japan_inputs: ForecastInputs) -> None:
    outcome, workers, logs = outage_while_running(60, japan_inputs, tmp_path, settle=90)
    check(outcome, logs, "60 s outage")
    # The deliveries running when Redis went away gave up before the soft limit, unacknowledged, and were requeued
    # once Redis was back: their redelivery found the result (stored on the cache, which stayed up) and marked them
    # done, or ran them again, counting one crash of max_deliveries (3).
    assert all(j.attempts <= 2 and j.crashes <= 1 for j in outcome.jobs), outcome.jobs
    for worker in workers:
        waits = announced_retries(worker.log)
        assert len(waits) >= 20, waits  # attempts all through the outage, at the fixed interval
        assert set(waits) == {1.0}, waits


def test_a_worker_whose_consumer_stopped_goes_offline_and_exits(tmp_path: Path, japan_inputs: ForecastInputs) -> None:
    """The review's frozen worker: an unrecoverable error stopped the consumer while the pool held a task, and the
    heartbeat thread kept the worker 'online'. The test hook (SIGUSR2) raises in the consumer's event loop, as
    kombu's ack on a closed channel did; the heartbeat stops at once (the consumer no longer proves it is alive),
    and the worker exits after ``consumer_stall_seconds`` (shortened here), for its supervisor to restart it."""
    prefix = unique_prefix("stalled")
    # A 2 s broker socket timeout makes the liveness window 6 s (consumer_fresh_seconds), the stall exit 14 s after.
    env = {"TIVCAST_HEARTBEAT_SECONDS": "0.5", "TIVCAST_HEARTBEAT_TTL": "2", "TIVCAST_CONSUMER_STALL_SECONDS": "14",
           "TIVCAST_BROKER_SOCKET_TIMEOUT": "2"}
    spec = with_hook(japan_forecast(japan_inputs), sleep=20)  # holds the pool, as in the run that hung
    with RedisServer() as server, CeleryWorker(server.url(), prefix, env=env, log_dir=tmp_path) as worker:
        settings = settings_for(prefix, redis_url=server.url())
        submit(settings, spec)
        job_in(settings, spec.key, ("running",), 30)
        assert worker.process is not None
        os.kill(worker.pid, signal.SIGUSR2)
        broken = time.monotonic()
        wait_for(lambda: not is_online(worker.hostname, settings), 15, "the worker to go offline", interval=0.1)
        offline = time.monotonic() - broken
        code = worker.process.wait(30)
        exited = time.monotonic() - broken
        log = worker.log.read_text(errors="replace")
    print(f"\nconsumer stopped: offline after {offline:.1f} s, exited ({code}) after {exited:.1f} s")  # noqa: T201
    assert "Unrecoverable error" in log  # the hook did break the consumer
    assert code == EXIT_STALLED  # Celery's own stop waited for the pool's task: the watchdog ended it
    # Offline well before the exit (a silence of consumer_fresh_seconds, then the heartbeat's TTL): the heartbeat
    # follows the consumer, not the thread that writes it.
    assert offline < exited - 2, (offline, exited)
