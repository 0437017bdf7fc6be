"""Problem ``type`` URIs resolve to a page (issue 11.11): every type an error body names has one."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

import api.forecasts.jobs  # noqa: F401  (registers its error classes)
from api.errors import TivcastError
from api.operations.routes.problems import TYPES

ERRORS = [
    ("GET", "/v1/datasets/nope", 404),
    ("GET", "/v1/datasets/arms-exports/observations?start=1800", 422),
    ("GET", "/v1/datasets/arms-exports/observations?countries=JPN", 422),
    ("GET", "/v1/countries?format=xml", 422),
    ("GET", "/v1/countries", 406),
    ("DELETE", "/v1/countries", 405),
    ("GET", "/no/such/path", 404),
    ("POST", "/v1/forecasts", 422),
]


def _subclasses(cls: type) -> list[type]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _subclasses(sub))]


@pytest.mark.parametrize(("method", "path", "status"), ERRORS)
def test_the_type_of_an_error_resolves_to_a_page(client: TestClient, method: str, path: str, status: int) -> None:
    headers = {"Accept": "application/xml"} if status == 406 else {}
    response = client.request(method, path, headers=headers, content=b"{}" if method == "POST" else None)
    assert response.status_code == status, response.text
    problem = response.json()
    page = client.get(problem["type"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert problem["title"] in page.text or TYPES[problem["type"].rsplit("/", 1)[1]].title in page.text
    described = client.get(problem["type"], headers={"Accept": "application/json"}).json()
    assert described["status"] == status


def test_every_error_class_has_a_page(client: TestClient) -> None:
    slugs = {c.slug for c in _subclasses(TivcastError)}  # type: ignore[attr-defined]
    assert slugs <= set(TYPES), slugs - set(TYPES)
    for slug in slugs:
        assert client.get(f"/problems/{slug}").status_code == 200


def test_an_unknown_type_is_a_404(client: TestClient) -> None:
    assert client.get("/problems/no-such-thing").status_code == 404


class TestBodyThatIsNotJson:
    """A body that does not parse as JSON is the field ``body``; where it broke (the parser's character offset,
    FastAPI's location for it) is in the message, not in ``field``."""

    @pytest.mark.parametrize(
        ("body", "where"),
        [
            (b"{bad", "at offset 1 (line 1, column 2)"),
            (b'{"target": {"country": "JPN"},\n }', "at offset 32 (line 2, column 2)"),
            (b"[1,", "at offset 3 (line 1, column 4)"),
        ],
    )
    def test_the_field_is_body_and_the_message_says_where(self, client: TestClient, body: bytes, where: str) -> None:
        response = client.post("/v1/forecasts", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        [error] = problem["errors"]
        assert error["field"] == "body"
        assert error["message"].startswith("not valid JSON: ") and where in error["message"]
        assert problem["detail"] == f"body: {error['message']}" and problem["type"] == "/problems/invalid-parameter"

    def test_a_well_formed_body_with_a_wrong_field_still_names_that_field(self, client: TestClient) -> None:
        body = {"target": {"country": "JPN", "measure": "share"}, "horizon": "10"}
        response = client.post("/v1/forecasts", json=body)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["horizon"]
