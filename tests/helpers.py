"""Helpers shared by the tests that load files into a test database and run the ``tivcast`` CLI.

:func:`ingest` loads a file the way the CLI and the admin upload do (``ingest_file`` in one transaction),
:func:`checksum` proves a refused file changed nothing, :func:`run_cli` runs a CLI command on a test database.
``ingest`` and ``checksum`` take a database URL (they open an engine and dispose of it, also on failure) or an
open :class:`~sqlalchemy.engine.Engine`, which stays the caller's (tests/fuzz keeps one for a module's examples).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner, Result

from api.cli import app as cli
from api.datasets.ingest import IngestResult, database_checksum, ingest_file
from api.db import make_engine, transaction
from api.settings import get_settings


@contextmanager
def _engine(database: str | Engine) -> Iterator[Engine]:
    """``database`` itself if it is an engine; else a new engine on that URL, disposed of afterwards."""
    if isinstance(database, Engine):
        yield database
        return
    engine = make_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()


def checksum(database: str | Engine) -> str:
    """:func:`~api.datasets.ingest.database_checksum` of ``database``: every release (dataset, release id, content
    hash) and the row count of each stored table. The same before and after means nothing was written."""
    with _engine(database) as engine, Session(engine) as session:
        return database_checksum(session)


def ingest(
    database: str | Engine,
    data: bytes,
    *,
    dataset: str = "arms-exports",
    origin: str = "test.csv",
    release_id: str | None = None,
    retrieved: date | None = None,
    note: str | None = None,
    replace: bool = False,
) -> IngestResult:
    """Load ``data`` into ``dataset`` with :func:`~api.datasets.ingest.ingest_file` in one transaction (committed,
    or rolled back if it raises), as ``tivcast ingest`` and the admin upload do. The keywords after ``dataset`` are
    ``ingest_file``'s, with its defaults; ``origin`` is the file name a loaded release records."""
    with _engine(database) as engine, transaction(engine) as session:
        return ingest_file(
            session,
            dataset,
            data,
            origin=origin,
            release_id=release_id,
            retrieved=retrieved,
            note=note,
            replace=replace,
        )


def run_cli(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """Run ``tivcast *args`` (e.g. ``"ingest", path, "--dataset", "arms-exports"``) in process on the database at
    ``url``: ``TIVCAST_DATABASE_URL`` is set for the rest of the test, and the cached settings are cleared before
    the command (so it reads that URL) and after it (so no later test sees them)."""
    monkeypatch.setenv("TIVCAST_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(cli, list(args))
    finally:
        get_settings.cache_clear()
