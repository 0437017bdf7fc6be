"""A real ``celery worker`` on the real Redis: submit, poll, results; single-flight; failures; warm cache.

These tests share one worker (module scope, its own prefix and queue on the machine's Redis);
tests that kill workers or stop Redis are in ``test_workers_failures.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from forecasting import ForecastInputs
from tests.services import SHARED_REDIS_URL, CeleryWorker, delete_prefix, unique_prefix
from tests.workers.conftest import japan_forecast, mis_keyed, run, settings_for, wait_job
from workers import compute
from workers.client import RedisService
from workers.jobs import Job
from workers.requests import JobSpec, backtest_job, forecast_job
from workers.settings import WorkerSettings

JAPAN = {"country": "JPN", "measure": "share"}


@dataclass(frozen=True)
class Live:
    settings: WorkerSettings
    worker: CeleryWorker


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    prefix = unique_prefix("live")
    worker = CeleryWorker(SHARED_REDIS_URL, prefix, log_dir=Path(tmp_path_factory.mktemp("worker")))
    try:
        with worker:
            yield Live(settings_for(prefix), worker)
    finally:
        delete_prefix(SHARED_REDIS_URL, prefix)


class TestSubmitPollResult:
    def test_the_result_is_what_compute_returns(self, live: Live, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs, "restriction")

        async def scenario() -> tuple[Job, Job, bytes | None]:
            service = RedisService(live.settings)
            try:
                queued = await service.submit(spec)
                return queued, await wait_job(service, spec.key), await service.get_result(spec.key)
            finally:
                await service.aclose()

        queued, done, body = run(scenario())
        assert queued.state in ("queued", "running")
        assert (done.state, done.attempts, done.error) == ("succeeded", 1, None)
        assert done.started is not None and done.finished is not None and done.finished >= done.started
        assert body == compute.run(spec.payload)[0]

    def test_identical_concurrent_submits_fit_once(self, live: Live, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs, "demand-surge", horizon=8)

        async def scenario() -> tuple[list[Job], Job, int, int]:
            service = RedisService(live.settings)
            try:
                before = await service.fits_counted()
                jobs = await asyncio.gather(*(service.submit(spec) for _ in range(8)))
                done = await wait_job(service, spec.key)
                again = await service.submit(spec)  # a succeeded job is returned as it is
                assert again.state == "succeeded"
                return list(jobs), done, before, await service.fits_counted()
            finally:
                await service.aclose()

        jobs, done, before, after = run(scenario())
        assert {j.key for j in jobs} == {spec.key}
        assert {j.created for j in jobs} == {jobs[0].created}  # one job, not eight
        assert done.state == "succeeded"
        assert after - before == 1

    def test_an_input_error_fails_once_and_is_never_retried(self, live: Live, japan_inputs: ForecastInputs) -> None:
        spec = mis_keyed(backtest_job(JAPAN, japan_inputs))

        async def scenario() -> tuple[Job, Job | None]:
            service = RedisService(live.settings)
            try:
                await service.submit(spec)
                failed = await wait_job(service, spec.key)
                await asyncio.sleep(1.0)  # a retry would show up as a second attempt by now
                return failed, await service.get_job(spec.key)
            finally:
                await service.aclose()

        failed, later = run(scenario())
        assert failed.state == "failed"
        assert "payload is keyed" in (failed.error or "")  # forecasting's own message, as raised
        assert later is not None and (later.state, later.attempts) == ("failed", 1)

    def test_published_warm_entries_are_computed(self, live: Live, japan_inputs: ForecastInputs) -> None:
        specs = [forecast_job({"target": JAPAN, "scenario": name, "horizon": 3}, japan_inputs)
                 for name in ("baseline", "liberalisation")]

        async def scenario() -> list[bytes | None]:
            service = RedisService(live.settings)
            try:
                await service.publish_warm(specs)
                bodies = []
                for spec in specs:
                    await wait_job(service, spec.key, timeout=60)
                    bodies.append(await service.get_result(spec.key))
                return bodies
            finally:
                await service.aclose()

        bodies = run(scenario())
        assert [json.loads(b or b"{}").get("key") for b in bodies] == [s.key for s in specs]


class TestNoWorker:
    def test_jobs_stay_queued_and_age(self, prefix: str, japan_inputs: ForecastInputs) -> None:
        spec: JobSpec = japan_forecast(japan_inputs)

        async def scenario() -> tuple[int, dict[str, Any], dict[str, Any]]:
            service = RedisService(settings_for(prefix))
            try:
                await service.submit(spec)
                first = await service.get_job(spec.key)
                assert first is not None
                first_view = first.to_dict()
                await asyncio.sleep(0.5)
                second = await service.get_job(spec.key)
                assert second is not None
                return await service.workers_online(), first_view, second.to_dict()
            finally:
                await service.aclose()

        online, first, second = run(scenario())
        assert online == 0
        assert (first["state"], second["state"], second["attempts"]) == ("queued", "queued", 0)
        assert second["started_at"] is None
        assert second["age_seconds"] >= first["age_seconds"] + 0.45
