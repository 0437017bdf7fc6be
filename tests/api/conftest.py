from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases


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
