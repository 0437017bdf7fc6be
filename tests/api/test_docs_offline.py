"""/docs and /redoc work offline (issue 11.11): every asset they load is served by tivcast from the package."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient

REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')
VENDOR = resources.files("api").joinpath("dashboard", "vendor")


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
        ("/redoc", {"redoc.standalone.js"}),
    ],
)
def test_the_page_loads_only_assets_shipped_in_the_package(client: TestClient, page: str, assets: set[str]) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", response.text), "the page must not name another origin"
    references = [r for r in REFERENCE.findall(response.text) if r != "data:,"]
    assert {r.split("?")[0].rsplit("/", 1)[1] for r in references} == assets
    for reference in references:
        assert reference.startswith("/dashboard/vendor/")
        asset = client.get(reference)
        assert asset.status_code == 200
        name = reference.split("?")[0].rsplit("/", 1)[1]
        assert asset.content == VENDOR.joinpath(name).read_bytes()
        assert asset.headers["content-type"].startswith(("text/javascript", "text/css"))
        assert "immutable" in asset.headers["cache-control"]  # asked for by its content hash


# What makes a browser fetch a URL from a script or a style sheet: an element's src (React's createElement
# props, or markup), a CSS url(), an @import, or fetch()/XMLHttpRequest.open() on a literal address. Other
# http(s) strings in a bundle (JSON Schema ids, namespaces, links a reader may click) are never requested.
LOADS = re.compile(
    r"""(?:\bsrc\s*[:=]\s*|url\(\s*|@import\s+|\bfetch\(\s*|\.open\(\s*["']GET["']\s*,\s*)["'`]?(https?://[^"'`)\s]+)"""
)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_neither_the_page_nor_its_assets_load_anything_from_another_origin(client: TestClient, page: str) -> None:
    html = client.get(page).text
    assert not re.search(r"https?://", html)
    for reference in (r for r in REFERENCE.findall(html) if r != "data:,"):
        asset = client.get(reference).text
        assert LOADS.findall(asset) == [], reference
        assert "cdn.redoc.ly" not in asset


def test_the_docs_point_at_the_served_openapi_document(client: TestClient) -> None:
    assert "'/openapi.json'" in client.get("/docs").text or '"/openapi.json"' in client.get("/docs").text
    assert client.get("/openapi.json").status_code == 200


def test_the_vendored_files_name_their_origin_and_licence() -> None:
    readme = VENDOR.joinpath("DOCS-README.txt").read_text()
    assert "swagger-ui-dist@" in readme and "redoc@" in readme and "integrity" in readme
    assert VENDOR.joinpath("swagger-ui.LICENSE.txt").read_text() and VENDOR.joinpath("redoc.LICENSE.txt").read_text()


def test_the_api_description_says_forecasts_are_served(client: TestClient) -> None:
    description = client.get("/openapi.json").json()["info"]["description"]
    assert "(soon)" not in description and "scenario forecasts" in description
    assert client.get("/v1/scenarios").status_code == 200
