"""Embedded mode: the same states and rules, with a spawned process pool inside the API process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict

import pytest

from forecasting import ForecastInputs
from tests.services import ROOT
from tests.workers.conftest import japan_forecast, mis_keyed, run, settings_for, with_hook
from workers import compute
from workers.embedded import EmbeddedService
from workers.jobs import Job
from workers.requests import JobSpec, backtest_job


async def settle(service: EmbeddedService, key: str, timeout: float = 60) -> list[str]:
    """Poll until the job is done; returns the distinct states seen, in order."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        job = await service.get_job(key)
        assert job is not None
        if not seen or seen[-1] != job.state:
            seen.append(job.state)
        if job.state in ("succeeded", "failed"):
            return seen
        assert time.monotonic() < deadline, f"job still {job.state}"
        await asyncio.sleep(0.02)


@pytest.fixture
def hooks_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's processes are spawned with this environment, so they honour test hooks."""
    monkeypatch.setenv(compute.TEST_HOOKS_ENV, "1")


PARENT = """
import asyncio, json, sys
from workers.client import make_service
from workers.requests import JobSpec
from workers.settings import WorkerSettings

async def main():
    service = make_service(WorkerSettings())
    spec = JobSpec(**json.load(sys.stdin))
    await service.submit(spec)
    while (await service.get_job(spec.key)).state not in ("succeeded", "failed"):
        await asyncio.sleep(0.05)
    body = await service.get_result(spec.key)
    await service.aclose()
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("prophet", "cmdstanpy")
                    or m in ("forecasting.model", "workers.compute"))
    print(type(service).__name__, len(body or b""), loaded)

asyncio.run(main())
"""


def test_a_forecast_runs_without_the_model_in_the_parent_process(japan_inputs: ForecastInputs) -> None:
    """The API process computes a forecast in embedded mode and has still not imported Prophet."""
    spec = japan_forecast(japan_inputs)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIVCAST_")}
    done = subprocess.run([sys.executable, "-c", PARENT], cwd=ROOT, env=env, capture_output=True, text=True,
                          input=json.dumps(asdict(spec)), timeout=120, check=True)
    kind, size, loaded = done.stdout.split(" ", 2)
    assert (kind, loaded.strip()) == ("EmbeddedService", "[]")
    assert int(size) > 1000


class TestEmbedded:
    def test_submit_goes_queued_running_succeeded(self, japan_inputs: ForecastInputs, hooks_on: None) -> None:
        spec = with_hook(japan_forecast(japan_inputs, "liberalisation"), sleep=0.5)

        async def scenario() -> tuple[Job, list[str], bytes | None, int, int]:
            service = EmbeddedService(settings_for("embedded", redis_url=None))
            try:
                queued = await service.submit(spec)
                seen = await settle(service, spec.key)
                return (queued, seen, await service.get_result(spec.key), await service.fits_counted(),
                        await service.workers_online())
            finally:
                await service.aclose()

        queued, seen, body, fits, online = run(scenario())
        assert queued.state == "queued"
        assert seen[-2:] == ["running", "succeeded"]
        assert body == compute.run(spec.payload)[0]
        assert (fits, online) == (1, 1)

    def test_identical_concurrent_submits_share_one_computation(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs)

        async def scenario() -> tuple[list[Job], int, Job]:
            service = EmbeddedService(settings_for("embedded", redis_url=None))
            try:
                jobs = await asyncio.gather(*(service.submit(spec) for _ in range(8)))
                await settle(service, spec.key)
                return list(jobs), await service.fits_counted(), await service.submit(spec)
            finally:
                await service.aclose()

        jobs, fits, again = run(scenario())
        assert {j.created for j in jobs} == {jobs[0].created}
        assert fits == 1
        assert again.state == "succeeded"

    def test_input_error_fails_once(self, japan_inputs: ForecastInputs) -> None:
        spec: JobSpec = mis_keyed(backtest_job({"country": "JPN", "measure": "share"}, japan_inputs))

        async def scenario() -> Job | None:
            service = EmbeddedService(settings_for("embedded", redis_url=None))
            try:
                await service.submit(spec)
                await settle(service, spec.key)
                return await service.get_job(spec.key)
            finally:
                await service.aclose()

        failed = run(scenario())
        assert failed is not None
        assert (failed.state, failed.attempts) == ("failed", 1)
        assert "payload is keyed" in (failed.error or "")  # forecasting's own message, as raised

    def test_a_job_that_kills_its_process_every_time_fails_after_three(self, japan_inputs: ForecastInputs,
                                                                        hooks_on: None) -> None:
        spec = with_hook(japan_forecast(japan_inputs), crash=True)

        async def scenario() -> Job | None:
            service = EmbeddedService(settings_for("embedded", redis_url=None))
            try:
                await service.submit(spec)
                await settle(service, spec.key)
                return await service.get_job(spec.key)
            finally:
                await service.aclose()

        failed = run(scenario())
        assert failed is not None
        assert (failed.state, failed.attempts) == ("failed", 3)
        assert failed.error == "worker lost on every delivery (3 attempts)"
