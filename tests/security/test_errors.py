"""No response carries a traceback, an exception message or a path of the server, whatever fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy.exc import ProgrammingError

import api
from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from workers.settings import WorkerSettings

SECRET = f"{Path(api.__file__).parent}/secret_module.py line 42: password=hunter2"
LEAKS = ("Traceback", "secret_module", "hunter2", str(Path(api.__file__).parent), "site-packages", 'File "')


def explode() -> None:
    raise RuntimeError(SECRET)


def bad_sql() -> None:
    raise ProgrammingError("SELECT secret FROM users", {}, Exception(SECRET))


@pytest.fixture(scope="module")
def client(sqlite: Databases) -> TestClient:
    app = create_app(Settings(database_url=sqlite.copy(), warm_on_start=False), WorkerSettings(redis_url=None))
    # Test-only routes that fail the ways a bug would: in the endpoint, in a dependency, in the database layer.
    app.get("/test-only/endpoint")(explode)
    app.get("/test-only/dependency", dependencies=[Depends(explode)])(lambda: {"never": "reached"})
    app.get("/test-only/sql")(bad_sql)
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/test-only/endpoint", "/test-only/dependency", "/test-only/sql"])
def test_an_unexpected_error_is_a_generic_500_problem(
    client: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with client:
        response = client.get(path)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json() == {
        "type": "/problems/internal",
        "title": "Internal server error",
        "status": 500,
        "detail": "An unexpected error occurred; it has been logged.",
        "instance": path,
    }
    assert not [leak for leak in LEAKS if leak in response.text]
    assert "hunter2" in caplog.text  # the details go to the log, for the operator


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/nowhere/../../etc/passwd", None),
        ("DELETE", "/v1/countries", None),
        ("POST", "/v1/forecasts", b"\xff\xfe{not json"),
        ("POST", "/v1/forecasts", b'{"target": {"country": "JPN"}, "scenario": {"name": "' + b"[" * 500 + b'"}}'),
        ("GET", "/v1/datasets/arms-exports/observations?cursor=%00%ff", None),
    ],
    ids=["unknown path", "wrong method", "bytes", "odd json", "bad cursor"],
)
def test_client_errors_name_the_problem_without_internals(
    client: TestClient, method: str, path: str, body: bytes | None
) -> None:
    with client:
        response = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert not [leak for leak in LEAKS if leak in response.text]
