"""Engine and session factory; built by the app factory or the CLI, never at import time."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from api.datasets import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from api.migrations import upgrade


def make_engine(url: str) -> Engine:
    """An engine for SQLite (file, WAL) or PostgreSQL (pooled, pre-pinged)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_pre_ping: a pooled connection that died with a PostgreSQL restart is replaced, not served.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args={"connect_timeout": 3})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if "memory" not in str(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Build or update the schema through the shipped migrations (``api/migrations``), on every backend."""
    upgrade(engine)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
