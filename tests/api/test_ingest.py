"""Ingest: atomic loads of both layouts, idempotence, and every kind of bad file refused unchanged."""

from __future__ import annotations

import io
import json
import time
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import InvalidFile
from api.settings import Settings
from tests import helpers
from tests.helpers import checksum, run_cli

SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
SHIPPED = Path(__file__).resolve().parents[2] / "api" / "data" / "arms-exports.csv"
HEADER = "country_code,year,value,flag,source_release\n"


# The shared loader (arms-exports, origin "test.csv") with ``replace`` on unless told: these files are smaller than
# the shipped one.
ingest = partial(helpers.ingest, replace=True)


BAD_FILES = {
    "wrong header": (b"country,yr,value\nJPN,2024,21\n", 1, "country"),
    "non-numeric value": (f"{HEADER}JPN,2023,13,,\nJPN,2024,twenty,,\n".encode(), 3, "value"),
    "duplicate country-year": (f"{HEADER}JPN,2024,21,,\nKOR,2024,964,,\nJPN,2024,22,,\n".encode(), 4, None),
    "unknown country": (f"{HEADER}JPN,2024,21,,\nQQQ,2024,5,,\n".encode(), 3, "country_code"),
    "negative TIV": (f"{HEADER}JPN,2024,-21,,\n".encode(), 2, "value"),
    "empty file": (b"", None, None),
    "header only": (HEADER.encode(), None, None),
    "truncated file": (f"{HEADER}JPN,2023,13,,\nJPN,2024,2".encode(), 3, None),
    "wrong encoding": (f"{HEADER}JPN,2023,13,,\n".encode() + "TUR,2024,3,,Türkiye\n".encode("cp1252"), 3, None),
    "year out of range": (f"{HEADER}JPN,1066,1,,\n".encode(), 2, "year"),
    "a supplier above the world total": (f"{HEADER}WLD,2001,18742,,\nCHN,2001,51700,,\n".encode(), 3, "value"),
    "the shipped data with a x100 typo": (
        SHIPPED.read_bytes().replace(b"\nCHN,2001,517,,", b"\nCHN,2001,51700,,"),
        SHIPPED.read_bytes().split(b"\nCHN,2001,")[0].count(b"\n") + 2,
        "value",
    ),
    "a world total below its countries": (
        f"{HEADER}USA,2001,600,,\nWLD,2001,1000,,\nRUS,2001,500,,\n".encode(),
        3,
        "value",
    ),
    "sipri layout, a supplier above the world total": (
        SIPRI_FILE.read_bytes().replace(b"South Korea,204,621,510,204,964,", b"South Korea,204,621,510,204,96400,"),
        12,  # the supplier's line, naming the year's column
        "2024",
    ),
    "sipri layout, unknown country": (SIPRI_FILE.read_bytes().replace(b"South Korea,", b"Atlantis,"), 12, "Exports by"),
    "sipri layout, non-numeric": (SIPRI_FILE.read_bytes().replace(b",964,", b",n/a,"), 12, "2024"),
    "sipri layout, truncated": (SIPRI_FILE.read_bytes()[: SIPRI_FILE.read_bytes().index(b"Total") + 30], 14, None),
}


class TestBadFiles:
    @pytest.mark.parametrize("case", list(BAD_FILES))
    def test_refused_with_line_and_column_and_database_unchanged(self, fresh_url: str, case: str) -> None:
        data, line, column = BAD_FILES[case]
        before = checksum(fresh_url)
        with pytest.raises(InvalidFile) as caught:
            ingest(fresh_url, data)
        assert caught.value.line == line, caught.value.detail
        assert caught.value.column == column, caught.value.detail
        assert caught.value.message
        assert checksum(fresh_url) == before


class TestGoodFiles:
    def test_sipri_layout_becomes_the_current_release_and_the_old_one_stays(self, fresh_url: str) -> None:
        result = ingest(fresh_url, SIPRI_FILE.read_bytes())
        assert result.created
        assert result.release_id == "sipri-2025-03-10"
        with TestClient(create_app(Settings(database_url=fresh_url))) as client:
            url = "/v1/datasets/arms-exports/observations"
            rows = client.get(url, params={"country": "TUR,WLD"}).json()["data"]
            assert {(r["country"], r["year"]): r["value"] for r in rows}[("WLD", 2024)] == 29300
            zero = next(r for r in rows if r["country"] == "TUR" and r["year"] == 2023)
            assert zero["value"] == 0
            assert zero["flag"] == "lt_0.5m"
            releases = client.get("/v1/datasets/arms-exports/releases").json()["data"]
            assert releases[0]["release_id"] == "sipri-2025-03-10"
            assert releases[0]["current"]
            old = client.get(url, params={"country": "JPN", "release": releases[1]["release_id"]}).json()
            assert min(r["year"] for r in old["data"]) < 2020
            share = client.get("/v1/arms-exports/shares", params={"country": "KOR", "start": 2024}).json()["data"]
            assert share[0]["world_basis"] == "sipri_world_total"
            assert share[0]["world_tiv"] == 29300

    def test_a_running_server_serves_the_new_release_once_its_version_check_expires(self, fresh_url: str) -> None:
        url = "/v1/datasets/arms-exports/observations?country=WLD&start=2024"
        with TestClient(create_app(Settings(database_url=fresh_url, version_ttl=0.2))) as client:
            before = client.get(url)
            assert client.get(url).content == before.content  # replayed from the URL cache
            assert before.json()["data"][0]["value"] == 28671
            ingest(fresh_url, SIPRI_FILE.read_bytes())
            time.sleep(0.3)
            after = client.get(url)
            assert after.json()["data"][0]["value"] == 29300
            assert after.headers["etag"] != before.headers["etag"]
            stale = client.get(url, headers={"If-None-Match": before.headers["etag"]})
            assert stale.status_code == 200

    def test_same_content_again_is_the_same_version_and_writes_nothing(self, fresh_url: str) -> None:
        first = ingest(fresh_url, SIPRI_FILE.read_bytes())
        before = checksum(fresh_url)
        again = ingest(fresh_url, SIPRI_FILE.read_bytes())
        assert not again.created
        assert again.content_hash == first.content_hash
        assert checksum(fresh_url) == before

    def test_long_csv_with_the_same_rows_has_the_same_version(self, fresh_url: str) -> None:
        long = HEADER + "JPN,2024,21,,test-2024\nKOR,2024,964,,test-2024\nWLD,2024,29300,,test-2024\n"
        a = ingest(fresh_url, long.encode(), release_id="r1")
        b = ingest(
            fresh_url,
            b"country_code,value,year,source_release\nWLD,29300,2024,test-2024\nKOR,964,2024,test-2024\n"
            b"JPN,21,2024,test-2024\n",
        )
        assert a.content_hash == b.content_hash
        assert not b.created

    def test_a_release_id_reused_for_other_content_is_a_conflict(self, fresh_url: str) -> None:
        ingest(fresh_url, (HEADER + "WLD,2024,29300,,\nJPN,2024,21,,\n").encode(), release_id="mine")
        before = checksum(fresh_url)
        with pytest.raises(Exception, match="already exists"):
            ingest(fresh_url, (HEADER + "WLD,2024,29300,,\nJPN,2024,22,,\n").encode(), release_id="mine")
        assert checksum(fresh_url) == before


class TestCli:
    def test_loads_a_file(self, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        result = run_cli(fresh_url, monkeypatch, "ingest", str(SIPRI_FILE), "--dataset", "arms-exports", "--replace")
        assert result.exit_code == 0, result.output
        assert "loaded arms-exports release sipri-2025-03-10" in result.output

    def test_a_bad_file_is_one_clear_line_and_exit_code_2(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        bad = tmp_path / "bad.csv"
        bad.write_bytes(BAD_FILES["negative TIV"][0])
        before = checksum(fresh_url)
        result = run_cli(fresh_url, monkeypatch, "ingest", str(bad), "--dataset", "arms-exports")
        assert result.exit_code == 2
        assert "bad.csv: line 2, column 'value'" in result.output
        assert checksum(fresh_url) == before

    def test_unknown_dataset(self, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        result = run_cli(fresh_url, monkeypatch, "ingest", str(SIPRI_FILE), "--dataset", "nope")
        assert result.exit_code == 2
        assert "'nope' does not exist" in result.output


class TestProvenanceFollowsTheRelease:
    """Issue 11.4: what /v1/datasets says comes from the release it serves."""

    def test_after_an_ingest_the_dataset_no_longer_carries_the_shipped_citation_and_gaps(self, fresh_url: str) -> None:
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            shipped = client.get("/v1/datasets/arms-exports").json()
        ingest(fresh_url, SIPRI_FILE.read_bytes(), note="fresh SIPRI export")
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            loaded = client.get("/v1/datasets/arms-exports").json()
        assert "28,671" in " ".join(shipped["gaps"])  # the shipped release's own gap note
        assert loaded["release"]["release_id"] == "sipri-2025-03-10"
        assert loaded["citation"] != shipped["citation"]
        assert "sipri-2025-03-10" in loaded["citation"] and "test.csv" in loaded["citation"]
        assert "Stockholm International Peace Research Institute" in loaded["citation"]
        # SIPRI's terms require the credit "Information from the SIPRI Arms Transfers Database": it opens the citation
        assert loaded["citation"].startswith("Information from the SIPRI Arms Transfers Database. ")
        assert not any("28,671" in gap for gap in loaded["gaps"])
        assert "do not apply" in loaded["gaps"][0]
        assert loaded["caveats"] == ["fresh SIPRI export"]
        assert [s["version"] for s in loaded["sources"]] == ["sipri-2025-03-10"]
        assert loaded["coverage"]["start"] == 2020  # coverage is the loaded release's
        assert loaded["terms"] == shipped["terms"]  # the source's terms of use still hold

    def test_after_an_ingest_the_description_is_the_loaded_release_s(self, fresh_url: str) -> None:
        """The description was the shipped release's ("1950-2023 come from SIPRI's March 2024 release ... WLD 2024
        (28,671) is tivcast's sum ...") after its gaps and citation were replaced; the data package's too."""

        def package(client: TestClient, release: str | None = None) -> dict[str, Any]:
            params = {"release": release} if release else {}
            zipped = client.get("/v1/datasets/arms-exports/datapackage", params=params).content
            descriptor: dict[str, Any] = json.loads(zipfile.ZipFile(io.BytesIO(zipped)).read("datapackage.json"))
            assert descriptor["description"] == descriptor["resources"][0]["description"]
            return descriptor

        def described(client: TestClient) -> tuple[str, dict[str, Any]]:
            dataset = client.get("/v1/datasets/arms-exports").json()
            listed = next(d for d in client.get("/v1/datasets").json()["data"] if d["id"] == "arms-exports")
            current = package(client)
            assert listed["description"] == dataset["description"] == current["description"]
            return dataset["description"], current

        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            shipped, _ = described(client)
            shipped_id = client.get("/v1/datasets/arms-exports").json()["release"]["release_id"]
        assert "March 2024 release" in shipped and "28,671" in shipped
        ingest(fresh_url, SIPRI_FILE.read_bytes())
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            loaded, current = described(client)
            assert package(client, shipped_id)["description"] == shipped  # the shipped release is still described
        for shipped_fact in ("March 2024", "28,671", "1950-2023", "44 suppliers", "25 largest", "Japan"):
            assert shipped_fact not in loaded, shipped_fact
        assert "'sipri-2025-03-10'" in loaded and "data generated 2025-03-10" in loaded and "test.csv" in loaded
        assert "2020-2024" in loaded and "22 values" in loaded
        assert f"shipped release ({shipped_id!r}) does not apply" in loaded
        assert current["tivcast"]["release"]["release_id"] == "sipri-2025-03-10"

    def test_sipris_data_generated_date_is_the_published_date_not_the_retrieval_date(self, fresh_url: str) -> None:
        ingest(fresh_url, SIPRI_FILE.read_bytes())
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            release = client.get("/v1/datasets/arms-exports/releases").json()["data"][0]
        assert release["published"] == "2025-03-10"
        assert release["retrieved"] is None  # not known unless the operator says (--retrieved)

    def test_the_retrieval_date_is_the_one_given(self, fresh_url: str) -> None:
        from datetime import date

        ingest(fresh_url, SIPRI_FILE.read_bytes(), retrieved=date(2025, 4, 1))
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            release = client.get("/v1/datasets/arms-exports/releases").json()["data"][0]
        assert (release["retrieved"], release["published"]) == ("2025-04-01", "2025-03-10")

    def test_the_same_content_under_another_release_id_is_the_same_version(self, fresh_url: str) -> None:
        first = ingest(fresh_url, SIPRI_FILE.read_bytes(), release_id="first-name")
        before = checksum(fresh_url)
        second = ingest(fresh_url, SIPRI_FILE.read_bytes(), release_id="second-name")
        third = ingest(fresh_url, SIPRI_FILE.read_bytes())
        assert first.created and not second.created and not third.created
        assert first.content_hash == second.content_hash == third.content_hash
        assert second.release_id == "first-name"
        assert checksum(fresh_url) == before


class TestSharpShrink:
    """A release replaces the whole dataset: a much smaller file needs an explicit confirmation."""

    def test_a_small_file_replacing_the_shipped_release_is_refused_without_replace(self, fresh_url: str) -> None:
        from api.errors import Conflict

        before = checksum(fresh_url)
        with pytest.raises(Conflict) as refused:
            ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=False)
        assert "1,570 rows" in refused.value.detail and "replace" in refused.value.detail
        assert checksum(fresh_url) == before
        assert ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True).created

    def test_a_revision_of_the_whole_dataset_needs_no_confirmation(self, fresh_url: str) -> None:
        revised = SHIPPED.read_bytes().replace(b"\nJPN,2024,21,,", b"\nJPN,2024,22,,")
        assert ingest(fresh_url, revised, replace=False).created

    def test_the_cli_asks_for_replace(self, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        before = checksum(fresh_url)
        refused = run_cli(fresh_url, monkeypatch, "ingest", str(SIPRI_FILE), "--dataset", "arms-exports")
        assert refused.exit_code == 2
        assert "--replace" in refused.output
        assert checksum(fresh_url) == before
        args = (str(SIPRI_FILE), "--dataset", "arms-exports", "--replace")
        assert run_cli(fresh_url, monkeypatch, "ingest", *args).exit_code == 0

    def test_the_http_upload_asks_for_replace(self, fresh_url: str) -> None:
        key = "k" * 32
        settings = Settings(database_url=fresh_url, admin_api_key=key, warm_on_start=False, rate_limit=None)
        url = "/v1/admin/datasets/arms-exports/releases"
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
        with TestClient(create_app(settings)) as client:
            refused = client.post(url, content=SIPRI_FILE.read_bytes(), headers=headers)
            assert refused.status_code == 409, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert "replace=true" in refused.json()["detail"]
            assert client.get("/v1/datasets/arms-exports").json()["release"]["origin"] == "shipped"
            accepted = client.post(url, params={"replace": "true"}, content=SIPRI_FILE.read_bytes(), headers=headers)
            assert accepted.status_code == 201, accepted.text
