"""Fixtures for the worker tests: real Redis (the machine's, under a unique prefix), bundled data.

Tests that stop, pause or flush Redis start their own server (``tests.services.RedisServer``);
everything else shares the machine's Redis at ``127.0.0.1:6379`` under a key prefix and queue
of its own, removed afterwards (kombu's keys included: they live under the same prefix).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from forecasting import ForecastInputs
from tests.forecasting.conftest import build_inputs
from tests.services import SHARED_REDIS_URL, delete_prefix, redis_settings, unique_prefix
from workers.client import RedisService, Unavailable
from workers.jobs import Job
from workers.requests import JobSpec, forecast_job

T = TypeVar("T")
SETTLED = ("succeeded", "failed")

# Settings of one worker test: its own prefix and queue, deadlines for a busy machine unless told otherwise.
settings_for = redis_settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async scenario on a fresh event loop (clients are created inside it)."""
    return asyncio.run(coro)


async def wait_job(service: RedisService, key: str, states: tuple[str, ...] = SETTLED, timeout: float = 30) -> Job:
    """Poll job ``key`` as a client would until it is in one of ``states`` (settled by default); fail after
    ``timeout`` seconds with the last state seen. Redis out of reach for a moment (a test may have stopped it,
    the API's breaker may be open) is polled again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            job = await service.get_job(key)
        except Unavailable:
            job = None
        if job is not None and job.state in states:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {key} not in {states} after {timeout} s (last seen: {job})")
        await asyncio.sleep(0.05)


def japan_forecast(inputs: ForecastInputs, scenario: Any = "baseline", horizon: int = 5, **extra: Any) -> JobSpec:
    body = {"target": {"country": "JPN", "measure": "share"}, "scenario": scenario, "horizon": horizon, **extra}
    return forecast_job(body, inputs)


def with_hook(spec: JobSpec, **hook: Any) -> JobSpec:
    """The same job with a test hook in its payload (honoured only by processes with TIVCAST_TEST_HOOKS=1)."""
    return JobSpec(spec.key, spec.kind, {**spec.payload, "test_hook": hook}, spec.summary)


def mis_keyed(spec: JobSpec) -> JobSpec:
    """A job whose payload does not describe its key (as an API on another model version would queue):
    the worker fails it with forecasting's input error, and retrying would not help."""
    return JobSpec(spec.key, spec.kind, {**spec.payload, "key": "0" * 64}, spec.summary)


@pytest.fixture(scope="session")
def japan_inputs() -> ForecastInputs:
    return build_inputs("JPN")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A unique key prefix and queue on the shared Redis, removed after the test."""
    value = unique_prefix()
    yield value
    delete_prefix(SHARED_REDIS_URL, value)
