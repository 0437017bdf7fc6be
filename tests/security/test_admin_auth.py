"""The admin API key: 401 with a Bearer challenge, constant-time comparison, 404 when not configured."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.operations import security
from tests.conftest import Databases
from tests.security.conftest import AUTH, KEY, assert_problem, serve

ADMIN_ROUTES = ["/v1/admin/cache/purge", "/v1/admin/cache/warm", "/v1/admin/datasets/arms-exports/releases"]


class TestWithoutAConfiguredKey:
    def test_every_admin_route_is_a_404_and_absent_from_openapi(self, sqlite: Databases) -> None:
        with serve(sqlite.copy()) as client:
            for route in ADMIN_ROUTES:
                body = assert_problem(client.post(route, headers=AUTH), 404)
                assert "disabled" in body["detail"]
            paths = client.get("/openapi.json").json()["paths"]
            assert not [p for p in paths if p.startswith("/v1/admin")]


@pytest.fixture(scope="module")
def client(sqlite: Databases) -> Iterator[TestClient]:
    with serve(sqlite.copy(), admin_api_key=KEY, rate_limit=None) as client:
        yield client


class TestWithAKey:
    @pytest.mark.parametrize("route", ADMIN_ROUTES)
    def test_no_key_is_a_401_with_a_bearer_challenge(self, client: TestClient, route: str) -> None:
        response = client.post(route, content=b"country_code,year,value\nJPN,2030,1\n")
        assert_problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer ")

    @pytest.mark.parametrize(
        "headers",
        [
            {"Authorization": "Bearer not-the-key"},
            {"Authorization": f"Basic {KEY}"},
            {"X-API-Key": KEY[:-1]},
            {"X-API-Key": KEY + "x"},
            {"X-API-Key": "clé-non-ascii".encode("latin-1")},
        ],
        ids=["wrong bearer", "basic scheme", "prefix", "longer", "non-ascii"],
    )
    def test_a_wrong_key_is_a_401_never_a_500(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.post("/v1/admin/cache/purge", headers=headers)
        assert_problem(response, 401)
        assert "Bearer" in response.headers["www-authenticate"]

    @pytest.mark.parametrize("headers", [AUTH, {"X-API-Key": KEY}], ids=["bearer", "x-api-key"])
    def test_the_key_opens_the_route(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.post("/v1/admin/cache/purge", headers=headers)
        assert response.status_code == 200, response.text

    def test_the_key_is_compared_in_constant_time(self, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
        calls: list[tuple[object, object]] = []
        compare = hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return compare(a, b)

        monkeypatch.setattr(security.hmac, "compare_digest", spy)
        client.post("/v1/admin/cache/purge", headers={"X-API-Key": "guess-guess-guess"})
        assert calls == [(b"guess-guess-guess", KEY.encode())]

    def test_openapi_documents_the_schemes_and_the_errors(self, client: TestClient) -> None:
        spec = client.get("/openapi.json").json()
        assert {"AdminBearer", "AdminKey"} <= set(spec["components"]["securitySchemes"])
        for path in ("/v1/admin/cache/purge", "/v1/admin/cache/warm", "/v1/admin/datasets/{dataset_id}/releases"):
            operation = spec["paths"][path]["post"]
            assert {"AdminBearer", "AdminKey"} == {name for s in operation["security"] for name in s}
            assert {"401", "404", "429"} <= set(operation["responses"])
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
