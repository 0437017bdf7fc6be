"""Apps with the security settings under test: each test builds the one it needs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from workers.settings import WorkerSettings

KEY = "test-admin-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory: pytest.TempPathFactory) -> Databases:
    """SQLite copies of the seeded template (the security rules do not depend on the backend)."""
    return Databases("sqlite", tmp_path_factory.mktemp("security"))


@contextmanager
def serve(
    url: str, worker: WorkerSettings | None = None, *, client: tuple[str, int] | None = None, **options: Any
) -> Iterator[TestClient]:
    """A running app on database ``url`` with ``options`` as settings (no warm-up unless asked for)."""
    options.setdefault("warm_on_start", False)
    app = create_app(Settings(database_url=url, **options), worker or WorkerSettings(redis_url=None))
    extra = {"client": client} if client else {}
    with TestClient(app, **extra) as test_client:
        yield test_client


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body
