"""Shared fixtures: real databases (a SQLite file and the machine's PostgreSQL), built through the shipped
migrations (as production builds them) and seeded once."""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from api.datasets.shipped import seed
from api.db import make_engine
from api.migrations import upgrade

POSTGRES_ADMIN = os.environ.get("TIVCAST_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove pytest's per-user temporary root once it is empty: ``tmp_path_retention_policy = "none"``
    deletes each run's folders but keeps ``pytest-of-<user>`` itself. The main process only (under xdist the
    workers finish first); a root another run is still using is not empty and stays."""
    if hasattr(config, "workerinput"):
        return
    made = getattr(getattr(config, "_tmp_path_factory", None), "_basetemp", None)  # pytest's own, if it made one
    if config.option.basetemp or not isinstance(made, Path):
        return  # an explicit --basetemp is the caller's to keep or remove; None: this run made no folder
    root = made.parent
    if root.name.startswith("pytest-of-"):
        with contextlib.suppress(OSError):  # not empty: another run's, or this run kept something
            for child in root.iterdir():
                if child.is_symlink() and not child.exists():  # pytest's dangling "pytest-current" link
                    child.unlink()
            root.rmdir()


class Databases:
    """Hands out databases that start as copies of one seeded template."""

    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.workdir = workdir
        self.created: list[str] = []
        self.template = self._new_name()
        if backend == "sqlite":
            self.template_path = workdir / "template.db"
            self._seed(f"sqlite:///{self.template_path}")
        else:
            self._admin(f'CREATE DATABASE "{self.template}"')
            self._seed(self._url(self.template))

    def _new_name(self) -> str:
        return f"tivcast_test_{uuid.uuid4().hex[:12]}"

    def _url(self, name: str) -> str:
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name

    def _admin(self, statement: str) -> None:
        # NullPool: the connection is closed when the block ends, even when the statement fails (a pooled one
        # would wait for dispose(), which an exception skips, and reach garbage collection still open).
        engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()

    def _seed(self, url: str) -> None:
        engine = make_engine(url)
        upgrade(engine)  # the migrations, never create_all: tests/ops checks they match the models
        seed(engine)
        engine.dispose()

    def copy(self) -> str:
        """A fresh, seeded database of this backend; its URL."""
        name = self._new_name()
        if self.backend == "sqlite":
            path = self.workdir / f"{name}.db"
            shutil.copyfile(self.template_path, path)
            return f"sqlite:///{path}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self._url(name)

    def empty(self) -> str:
        """A new database with nothing in it; its URL."""
        name = self._new_name()
        if self.backend == "sqlite":
            return f"sqlite:///{self.workdir / name}.db"
        self._admin(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self._url(name)

    def close(self) -> None:
        if self.backend == "postgres":
            for name in [*self.created, self.template]:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def databases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    dbs = Databases(request.param, tmp_path_factory.mktemp(request.param))
    yield dbs
    dbs.close()
