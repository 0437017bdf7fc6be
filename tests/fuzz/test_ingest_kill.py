"""``tivcast ingest`` killed mid-load leaves the old release set or the new complete one, never a mix.

The ingest runs as it does for an operator (``python -m api.cli ingest``) on a large valid file; the test
watches the database until the load's write transaction is open (SQLite: the write lock is taken;
PostgreSQL: the session has a transaction id), then sends SIGKILL: no handler, no rollback, no clean-up
runs in the loader. What is left must be exactly the old state, or the whole new release."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, text
from sqlmodel import Session, select

from api.datasets.ingest import database_checksum
from api.datasets.tables import Observation, Release
from api.db import make_engine
from tests.conftest import POSTGRES_ADMIN, Databases
from tests.services import ROOT, wait_for

RELEASE = "kill-test"
COUNTRIES = Path(__file__).resolve().parents[2] / "api" / "data" / "countries.csv"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Every known country for every year the parser accepts: the largest valid file there is (~57,000 rows)."""
    codes = [row["code"] for row in csv.DictReader(COUNTRIES.read_text().splitlines())]
    path = tmp_path_factory.mktemp("kill") / "big.csv"
    # valid throughout, the dataset's invariants too: the world total (WLD) is above the sum of the countries
    rows = [
        f"{c},{y},{1_000_000 if c == 'WLD' else (y * 7 + i) % 1000}.5"
        for i, c in enumerate(codes)
        for y in range(1900, 2101)
    ]
    path.write_text("country_code,year,value\n" + "\n".join(rows) + "\n")
    return path, len(rows)


def state(url: str) -> tuple[str, int | None, int]:
    """(checksum, row_count of the test release or None, observations stored under it)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            release = session.exec(select(Release).where(Release.release_id == RELEASE)).first()
            stored = 0
            if release is not None:
                count = select(func.count()).select_from(Observation).where(Observation.release_pk == release.id)
                stored = session.exec(count).one()
            return database_checksum(session), release.row_count if release else None, stored
    finally:
        engine.dispose()


def writing(url: str) -> bool:
    """Is a write transaction open on the database right now?"""
    if url.startswith("sqlite"):
        probe = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:  # "database is locked": the loader holds the write lock
            return True
        finally:
            probe.close()
    admin = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            query = "SELECT count(*) FROM pg_stat_activity WHERE datname = :db AND backend_xid IS NOT NULL"
            return bool(conn.execute(text(query), {"db": url.rsplit("/", 1)[1]}).scalar_one())
    finally:
        admin.dispose()


def start_ingest(url: str, path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TIVCAST_DATABASE_URL": url}
    args = [sys.executable, "-m", "api.cli", "ingest", str(path), "--dataset", "arms-exports", "--release", RELEASE]
    with (path.parent / "ingest.log").open("ab") as log:
        return subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_a_killed_ingest_leaves_the_old_or_the_new_release_never_a_mix(
    databases: Databases, big_file: tuple[Path, int]
) -> None:
    path, rows = big_file
    url = databases.copy()
    old, _, _ = state(url)
    killed_mid_load = 0
    for delay in (0.0, 0.1):  # into the write phase: at once, and a little later
        process = start_ingest(url, path)
        try:
            wait_for(lambda p=process: writing(url) or p.poll() is not None, 60, "the load to start writing", 0.005)
            time.sleep(delay)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait(30)
        wait_for(lambda: not writing(url), 30, "the killed load's transaction to end")
        checksum, row_count, stored = state(url)
        if row_count is None:
            assert checksum == old, "a partial load is visible"
            killed_mid_load += 1
        else:  # the commit won the race: then the whole release is there
            assert row_count == rows and stored == rows
            break
    assert killed_mid_load >= 1, "no kill landed inside the load's transaction"
    # The database is not damaged: the same load, left alone, completes.
    assert start_ingest(url, path).wait(120) == 0, (path.parent / "ingest.log").read_text()[-2000:]
    _, row_count, stored = state(url)
    assert row_count == rows and stored == rows
