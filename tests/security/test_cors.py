"""CORS: no headers by default; with configured origins, those origins only."""

from __future__ import annotations

import pytest

from api.settings import Settings
from tests.conftest import Databases
from tests.security.conftest import serve

ORIGIN = "https://dashboard.example.org"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


def test_no_cors_headers_by_default(sqlite: Databases) -> None:
    with serve(sqlite.copy()) as client:
        response = client.get("/v1/countries", headers={"Origin": ORIGIN})
        assert response.status_code == 200
        assert not [h for h in response.headers if h.startswith("access-control-")]
        assert "access-control-allow-origin" not in client.options("/v1/forecasts", headers=PREFLIGHT).headers


def test_configured_origins_only(sqlite: Databases) -> None:
    with serve(sqlite.copy(), cors_origins=f"{ORIGIN}, https://other.example.org") as client:
        allowed = client.get("/v1/countries", headers={"Origin": ORIGIN})
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert "etag" in allowed.headers["access-control-expose-headers"].lower()
        replayed = client.get("/v1/countries", headers={"Origin": ORIGIN})  # answered by the URL cache
        assert replayed.headers["access-control-allow-origin"] == ORIGIN
        other = client.get("/v1/countries", headers={"Origin": "https://evil.example.com"})
        assert "access-control-allow-origin" not in other.headers
        preflight = client.options("/v1/forecasts", headers=PREFLIGHT)
        assert preflight.status_code == 200
        assert "POST" in preflight.headers["access-control-allow-methods"]


@pytest.mark.parametrize("value", ['["https://a.example"]', "https://a.example"], ids=["json", "comma-separated"])
def test_origins_read_from_the_environment(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIVCAST_CORS_ORIGINS", value)
    assert Settings().cors_origins == ["https://a.example"]
