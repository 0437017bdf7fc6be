"""Fixtures for the worker tests: real Redis (the machine's, under a unique prefix), bundled data.

Tests that stop, pause or flush Redis start their own server (``tests.services.RedisServer``);
everything else shares the machine's Redis at ``127.0.0.1:6379`` under a key prefix and queue
of its own, removed afterwards (kombu's keys included: they live under the same prefix).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from forecasting import ForecastInputs
from tests.forecasting.conftest import build_inputs
from tests.services import SHARED_REDIS_URL, delete_prefix, redis_settings, unique_prefix
from workers.requests import JobSpec, forecast_job

T = TypeVar("T")

# Settings of one worker test: its own prefix and queue, deadlines for a busy machine unless told otherwise.
settings_for = redis_settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one async scenario on a fresh event loop (clients are created inside it)."""
    return asyncio.run(coro)


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
