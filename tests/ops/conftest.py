"""Fixtures of the operations tests: empty PostgreSQL databases, and JSON log capture."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN
from workers.logs import JsonFormatter


def _admin(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(statement))
    engine.dispose()


@pytest.fixture
def empty_postgres() -> Iterator[Callable[[], str]]:
    """Makes new, empty PostgreSQL databases (dropped afterwards); returns their URLs."""
    names: list[str] = []

    def make() -> str:
        name = f"tivcast_ops_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}"')
        names.append(name)
        return POSTGRES_ADMIN.rsplit("/", 1)[0] + "/" + name

    yield make
    for name in names:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def drop_database(url: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


class JsonLog:
    """The JSON lines a logger wrote while the fixture was active."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line.strip()]

    def text(self) -> str:
        return self.stream.getvalue()


@contextmanager
def capture_log(name: str = "tivcast.access") -> Iterator[JsonLog]:
    """Logger ``name`` at INFO, formatted as the service formats it (workers.logs.JsonFormatter)."""
    log = JsonLog()
    handler = logging.StreamHandler(log.stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield log
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def access_log() -> Iterator[JsonLog]:
    with capture_log() as log:
        yield log
