"""Bulk downloads (issue 11.6): a whole release as one streamed CSV, a release as a Frictionless data
package, and CSV pages that say they are partial."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from frictionless import validate

from api.app import create_app
from api.datasets.ingest import ingest_file
from api.datasets.parsers import parse_series
from api.datasets.routes.bulk import build_package
from api.db import make_engine, transaction
from api.settings import Settings

SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
DOWNLOAD = "/v1/datasets/arms-exports/download"


class TestDownload:
    def test_a_whole_release_in_one_csv_beyond_the_page_cap(self, client: TestClient) -> None:
        response = client.get(DOWNLOAD)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert "attachment" in response.headers["content-disposition"]
        table = pd.read_csv(io.StringIO(response.text), keep_default_na=False)
        release = client.get("/v1/datasets/arms-exports").json()["release"]
        assert len(table) == release["row_count"] == int(response.headers["x-total-count"]) > 1000
        assert list(table.columns) == ["country_code", "year", "value", "flag", "source_release"]

    def test_the_download_is_the_release_itself_same_content_hash(self, client: TestClient) -> None:
        release = client.get("/v1/datasets/arms-exports").json()["release"]
        codes = {c["code"]: c["code"] for c in client.get("/v1/countries").json()["data"]}
        parsed = parse_series(client.get(DOWNLOAD).content, codes)
        assert parsed.content_hash == release["content_hash"]

    @pytest.mark.parametrize("dataset", ["japan-export-deals", "policy-events", "policy-regimes", "milex-share-gdp"])
    def test_every_kind_of_dataset_downloads(self, client: TestClient, dataset: str) -> None:
        response = client.get(f"/v1/datasets/{dataset}/download")
        assert response.status_code == 200, response.text
        table = pd.read_csv(io.StringIO(response.text))
        assert len(table) == client.get(f"/v1/datasets/{dataset}").json()["release"]["row_count"]

    def test_an_older_release_and_revalidation(self, fresh_url: str) -> None:
        engine = make_engine(fresh_url)
        with transaction(engine) as session:
            ingest_file(session, "arms-exports", SIPRI_FILE.read_bytes(), origin="new.csv", replace=True)
        engine.dispose()
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            old, new = (r["release_id"] for r in client.get("/v1/datasets/arms-exports/releases").json()["data"][::-1])
            current = client.get(DOWNLOAD)
            older = client.get(DOWNLOAD, params={"release": old})
            assert current.headers["x-release"] == new and older.headers["x-release"] == old
            assert len(current.text.splitlines()) < len(older.text.splitlines())
            again = client.get(DOWNLOAD, headers={"If-None-Match": current.headers["etag"]})
            assert again.status_code == 304
            assert client.get(DOWNLOAD, params={"release": "nope"}).status_code == 404


class TestDataPackage:
    @pytest.mark.parametrize("dataset", ["arms-exports", "japan-export-deals", "policy-events"])
    def test_a_valid_frictionless_package(self, client: TestClient, dataset: str, tmp_path: Path) -> None:
        response = client.get(f"/v1/datasets/{dataset}/datapackage")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            archive.extractall(tmp_path)
        descriptor = json.loads((tmp_path / "datapackage.json").read_text())
        assert [r["name"] for r in descriptor["resources"]] == [dataset, "countries"]
        report = validate(str(tmp_path / "datapackage.json"))  # schema, types, keys, hashes and byte counts
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
        assert (
            descriptor["tivcast"]["release"]["release_id"]
            == client.get(f"/v1/datasets/{dataset}").json()["release"]["release_id"]
        )
        rows = pd.read_csv(tmp_path / f"{dataset}.csv")
        assert len(rows) == descriptor["tivcast"]["release"]["row_count"]

    def test_the_package_carries_provenance(self, client: TestClient, tmp_path: Path) -> None:
        response = client.get("/v1/datasets/arms-exports/datapackage")
        descriptor = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("datapackage.json"))
        meta = descriptor["tivcast"]
        assert "SIPRI" in meta["citation"] and meta["unit"] == "TIV_million" and meta["gaps"]
        assert descriptor["licenses"] and descriptor["sources"]

    @pytest.mark.parametrize(
        ("accept", "media"),
        [
            ("", "application/zip"),
            ("*/*", "application/zip"),
            ("application/*", "application/zip"),
            ("application/zip, application/octet-stream", "application/zip"),
            ("application/octet-stream", "application/octet-stream"),
            ("application/octet-stream, application/zip;q=0", "application/octet-stream"),
        ],
    )
    def test_a_zip_labelled_as_a_zip_unless_only_an_octet_stream_is_accepted(
        self, client: TestClient, accept: str, media: str
    ) -> None:
        """The document declares both (generated clients read application/octet-stream as a file); the server sends
        what it declares: application/zip, or the same bytes as application/octet-stream when only that is asked."""
        url = "/v1/datasets/arms-exports/datapackage"
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"] == media
        plain = client.get(url)
        assert response.content == plain.content
        assert (response.headers["etag"] == plain.headers["etag"]) == (media == "application/zip")
        again = client.get(url, headers={"Accept": accept, "If-None-Match": response.headers["etag"]})
        assert again.status_code == 304

    def test_a_pinned_release_s_package_is_the_same_after_another_release_and_a_rollback(self, fresh_url: str) -> None:
        url = "/v1/datasets/arms-exports/datapackage"
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            shipped = client.get("/v1/datasets/arms-exports").json()["release"]["release_id"]
            before = client.get(url, params={"release": shipped}).content
            engine = make_engine(fresh_url)
            with transaction(engine) as session:  # another release becomes current ...
                ingest_file(session, "arms-exports", SIPRI_FILE.read_bytes(), origin="new.csv", replace=True)
            with transaction(engine) as session:  # ... and the shipped content is loaded again: a rollback
                shipped_csv = client.get("/v1/datasets/arms-exports/download", params={"release": shipped}).content
                ingest_file(session, "arms-exports", shipped_csv, origin="back.csv", replace=True)
            engine.dispose()
            client.app.state.tivcast.catalog.invalidate()  # type: ignore[attr-defined]
            assert client.get("/v1/datasets/arms-exports").json()["release"]["release_id"] == shipped
            assert client.get(url, params={"release": shipped}).content == before
            release = json.loads(zipfile.ZipFile(io.BytesIO(before)).read("datapackage.json"))["tivcast"]["release"]
            assert "current" not in release and "current_since" not in release

    def test_a_release_builds_to_the_same_bytes_at_any_time(self, client: TestClient) -> None:
        """A zip entry is dated by the release's load, not the clock (zip times have a 2-second step)."""
        state = client.app.state.tivcast  # type: ignore[attr-defined]
        snapshot = state.catalog.get()
        release = snapshot.release("arms-exports")
        first = build_package(state, snapshot, "arms-exports", release)
        time.sleep(2.1)
        assert build_package(state, snapshot, "arms-exports", release) == first
        [stamp] = {info.date_time for info in zipfile.ZipFile(io.BytesIO(first)).infolist()}
        loaded = release.loaded_at.timetuple()
        assert stamp == (*loaded[:5], loaded[5] // 2 * 2)  # the load time, to the zip format's 2 seconds

    def test_an_accept_allowing_neither_is_a_406_naming_both(self, client: TestClient) -> None:
        response = client.get("/v1/datasets/arms-exports/datapackage", headers={"Accept": "application/json"})
        assert response.status_code == 406
        detail = response.json()["detail"]
        assert "application/zip" in detail and "application/octet-stream" in detail
        document = client.get("/openapi.json").json()
        content = document["paths"]["/v1/datasets/{dataset_id}/datapackage"]["get"]["responses"]["200"]["content"]
        assert list(content) == ["application/zip", "application/octet-stream"]


class TestPartialCsvPages:
    def test_a_partial_page_says_so_and_points_to_the_bulk_url(self, client: TestClient) -> None:
        table = pd.read_csv(io.StringIO(client.get("/v1/datasets/arms-exports/observations?format=csv&limit=10").text))
        assert len(table) == 10
        note = table["note"].iloc[0]
        assert note.startswith("partial") and "/v1/datasets/arms-exports/download?release=" in note
        assert "cursor=" in note  # the next page

    def test_the_note_says_which_rows_of_how_many_the_page_holds(self, client: TestClient) -> None:
        url = "/v1/datasets/arms-exports/observations?country=JPN,KOR&limit=10&format=csv"
        response = client.get(url)
        total = int(response.headers["x-total-count"])
        notes = []
        while True:
            table = pd.read_csv(io.StringIO(response.text))
            notes.append(table["note"].iloc[0].split(";")[0])
            if "next" not in response.links:
                break
            response = client.get(response.links["next"]["url"])
        pages = -(-total // 10)
        assert notes == [f"partial: rows {10 * i + 1}-{min(10 * i + 10, total)} of {total}" for i in range(pages)]
        assert notes[0] == "partial: rows 1-10 of 80"  # not "one page of 80 rows"
        last = client.get(client.get(url).links["last"]["url"])
        back = client.get(last.links["prev"]["url"])
        for page, (low, high) in ((last, (total - 9, total)), (back, (total - 19, total - 10))):
            assert pd.read_csv(io.StringIO(page.text))["note"].iloc[0].startswith(f"partial: rows {low}-{high} of")

    def test_a_complete_page_has_no_note(self, client: TestClient) -> None:
        table = pd.read_csv(
            io.StringIO(client.get("/v1/datasets/arms-exports/observations?format=csv&country=JPN").text)
        )
        assert "note" not in table.columns

    def test_the_dataset_links_to_its_bulk_forms(self, client: TestClient) -> None:
        links = client.get("/v1/datasets/arms-exports").json()["links"]
        assert client.get(links["download"]).status_code == 200
        assert client.get(links["datapackage"]).status_code == 200
