"""A readiness check that outlives its deadline does not leak a database connection past the app's shutdown.

``/readyz`` runs its ``SELECT 1`` in a thread and stops waiting after ``TIVCAST_READY_TIMEOUT``; the thread
keeps its pooled connection until the query ends. The app waits for it before disposing of its engine: a
connection handed back after ``Engine.dispose()`` stays open (on the server too) until garbage collection
closes it with psycopg's "deleted while still open" ResourceWarning, which pyproject.toml used to filter.

To make the check outlive its deadline for sure, the test stops the PostgreSQL backend of the app's pooled
connection (SIGSTOP; we are root on this machine) and lets it go again a second later, while the app shuts
down. The backend belongs to this test's own database.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.settings import Settings
from tests.conftest import POSTGRES_ADMIN, Databases
from tests.services import wait_for
from workers.settings import WorkerSettings


def backends(database: str) -> list[int]:
    """Server process ids of the connections to ``database`` (this query's own excepted)."""
    engine = create_engine(POSTGRES_ADMIN)
    try:
        with engine.connect() as connection:
            query = text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()")
            return [int(pid) for pid in connection.execute(query, {"name": database}).scalars()]
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_a_timed_out_database_check_leaves_no_connection_after_shutdown(databases: Databases) -> None:
    url = databases.copy()
    name = url.rsplit("/", 1)[1]
    settings = Settings(database_url=url, warm_on_start=False, ready_timeout=0.5)
    stopped: list[int] = []
    resume = threading.Timer(1.0, lambda: [os.kill(pid, signal.SIGCONT) for pid in stopped])
    try:
        with TestClient(create_app(settings, WorkerSettings(redis_url=None))) as client:
            assert client.get("/readyz").json()["checks"]["database"]["status"] == "ok"  # one pooled connection
            stopped.extend(backends(name))
            assert len(stopped) == 1, stopped
            os.kill(stopped[0], signal.SIGSTOP)  # the database stalls mid-check
            check = client.get("/readyz").json()["checks"]["database"]
            assert (check["status"], check["error"]) == ("fail", "no answer within 0.5 s")
            resume.start()  # answers again a second later, while the app shuts down
        resume.join()
        wait_for(lambda: backends(name) == [], 5, "the app's connections to close")
        gc.collect()  # a connection left to the garbage collector would warn here (an error in this suite)
    finally:
        resume.cancel()
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):  # gone: the app closed its connection
                os.kill(pid, signal.SIGCONT)


@pytest.mark.postgres
@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_a_warm_up_check_running_at_shutdown_leaves_no_connection(databases: Databases) -> None:
    """The warm-set loop reads the database in a thread at start-up; stopping the app mid-read waits for it."""
    url = databases.copy()
    name = url.rsplit("/", 1)[1]
    stopped: list[int] = []
    resume = threading.Timer(1.0, lambda: [os.kill(pid, signal.SIGCONT) for pid in stopped])
    try:
        with TestClient(create_app(Settings(database_url=url), WorkerSettings(redis_url=None))):
            stopped.extend(backends(name))  # the warm-up has just begun reading: it stalls here
            for pid in stopped:
                os.kill(pid, signal.SIGSTOP)
            resume.start()
        resume.join()
        wait_for(lambda: backends(name) == [], 5, "the app's connections to close")
        gc.collect()
    finally:
        resume.cancel()
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
