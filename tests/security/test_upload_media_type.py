"""An upload in a media type the route does not read is a 415 problem naming the types it does read (in the body and
in ``Accept-Post``), and stores nothing; each documented type is read."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from api.datasets.ingest import database_checksum
from api.db import make_engine
from tests.conftest import Databases
from tests.security.conftest import AUTH, KEY, assert_problem, serve

UPLOAD = "/v1/admin/datasets/arms-exports/releases?replace=true"
DATA = b"country_code,year,value\nJPN,2024,22\nKOR,2024,970\nWLD,2024,29300\n"
ACCEPTED = ["application/octet-stream", "text/csv", "text/plain", "multipart/form-data"]


def checksum(url: str) -> str:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return database_checksum(session)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "media_type",
    [
        "application/json",
        "application/x-www-form-urlencoded",  # what curl --data-binary sends unless told
        "text/html",
        "application/xml",
        "image/png",
        "application/zip",
        None,
    ],
)
def test_an_unsupported_media_type_is_a_415_naming_the_accepted_ones(sqlite: Databases, media_type: str | None) -> None:
    url = sqlite.copy()
    before = checksum(url)
    headers = {**AUTH, **({"Content-Type": media_type} if media_type else {})}
    with serve(url, admin_api_key=KEY) as client:
        response = client.post(UPLOAD, content=DATA, headers=headers)
        body = assert_problem(response, 415)
        assert body["type"] == "/problems/unsupported-media-type"
        assert all(accepted in body["detail"] for accepted in ACCEPTED), body["detail"]
        assert (media_type or "no Content-Type") in body["detail"]
        assert [e["field"] for e in body["errors"]] == ["Content-Type"]
        assert [t.strip() for t in response.headers["accept-post"].split(",")] == ACCEPTED
        releases = client.get("/v1/datasets/arms-exports/releases").json()["data"]
        assert len(releases) == 1
    assert checksum(url) == before


@pytest.mark.parametrize(
    "media_type", ["application/octet-stream", "text/csv", "text/plain", "text/csv; charset=utf-8"]
)
def test_every_documented_raw_type_is_read(sqlite: Databases, media_type: str) -> None:
    with serve(sqlite.copy(), admin_api_key=KEY) as client:
        response = client.post(UPLOAD, content=DATA, headers={**AUTH, "Content-Type": media_type})
        assert response.status_code == 201, response.text


def test_the_openapi_document_declares_the_415_and_its_accept_post(sqlite: Databases) -> None:
    with serve(sqlite.copy(), admin_api_key=KEY) as client:
        operation = client.get("/openapi.json").json()["paths"]["/v1/admin/datasets/{dataset_id}/releases"]["post"]
    assert "Accept-Post" in operation["responses"]["415"]["headers"]
