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


def test_the_docs_point_at_the_served_openapi_document(client: TestClient) -> None:
    assert "'/openapi.json'" in client.get("/docs").text or '"/openapi.json"' in client.get("/docs").text
    assert client.get("/openapi.json").status_code == 200


def test_the_vendored_files_name_their_origin_and_licence() -> None:
    readme = VENDOR.joinpath("DOCS-README.txt").read_text()
    assert "swagger-ui-dist@" in readme and "redoc@" in readme and "integrity" in readme
    assert VENDOR.joinpath("swagger-ui.LICENSE.txt").read_text() and VENDOR.joinpath("redoc.LICENSE.txt").read_text()
