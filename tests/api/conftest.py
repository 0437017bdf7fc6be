from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from tests.services import SHARED_REDIS_URL, CeleryWorker, delete_prefix, redis_settings, unique_prefix, wait_for
from workers.settings import WorkerSettings


@pytest.fixture(scope="session")
def client(databases: Databases) -> Iterator[TestClient]:
    """A client on a seeded database that tests only read."""
    settings = Settings(database_url=databases.copy())
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def fresh_url(databases: Databases) -> str:
    """A seeded database of its own, for tests that write."""
    return databases.copy()


@pytest.fixture(scope="module", params=["embedded", "redis"])
def forecast_client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The same API contract in both modes: embedded (process pool, in-memory cache) and Redis with a real
    Celery worker started through the ``tivcast worker`` CLI."""
    dbs = Databases("sqlite", tmp_path_factory.mktemp("forecasts"))
    # No rate limit: a module posts more than 30 forecasts a minute; tests/security/test_rate_limit.py tests it.
    settings = Settings(database_url=dbs.copy(), warm_on_start=False, rate_limit=None)
    if request.param == "embedded":
        with TestClient(create_app(settings, WorkerSettings(redis_url=None))) as client:
            yield client
        return
    prefix = unique_prefix("api")
    worker_settings = redis_settings(prefix)
    worker = CliWorker(SHARED_REDIS_URL, prefix)
    try:
        with worker, TestClient(create_app(settings, worker_settings)) as client:
            yield client
    finally:
        delete_prefix(SHARED_REDIS_URL, prefix)


class CliWorker(CeleryWorker):
    """A worker started exactly as docker-compose starts one: ``tivcast worker``."""

    def start(self, timeout: float = 60) -> CliWorker:
        args = [sys.executable, "-m", "api.cli", "worker", "--concurrency", "1", "--hostname", self.hostname]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._online, timeout, f"worker {self.hostname} to send its heartbeat", interval=0.1)
        return self
