"""Admin routes: upload a release (the same ingest as the CLI, one transaction), warm and purge the caches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.operations.routes import admin
from tests.conftest import Databases
from tests.helpers import checksum
from tests.security.conftest import AUTH, KEY, assert_problem, serve
from tests.services import wait_for
from workers.settings import WorkerSettings

SIPRI_FILE = Path(__file__).parent.parent / "api" / "data" / "sipri_exports_2025.csv"
UPLOAD = "/v1/admin/datasets/arms-exports/releases?replace=true"  # the test files are small
CSV = {**AUTH, "Content-Type": "text/csv"}


class TestUpload:
    def test_a_file_becomes_the_served_release_at_once_and_again_is_a_200(self, databases: Databases) -> None:
        # version_ttl is long: only the upload's own invalidation can make the new release visible.
        with serve(databases.copy(), admin_api_key=KEY, version_ttl=3600) as client:
            url = "/v1/datasets/arms-exports/observations?country=WLD&start=2024"
            assert client.get(url).json()["data"][0]["value"] == 28671
            created = client.post(UPLOAD, content=SIPRI_FILE.read_bytes(), headers=CSV)
            assert created.status_code == 201, created.text
            body = created.json()
            assert body["created"] and body["release_id"] == "sipri-2025-03-10" and body["row_count"] > 0
            assert client.get(url).json()["data"][0]["value"] == 29300
            releases = client.get("/v1/datasets/arms-exports/releases").json()["data"]
            assert releases[0]["release_id"] == "sipri-2025-03-10" and releases[0]["current"]
            again = client.post(UPLOAD, files={"file": ("again.csv", SIPRI_FILE.read_bytes())}, headers=AUTH)
            assert again.status_code == 200, again.text
            assert again.json()["content_hash"] == body["content_hash"] and not again.json()["created"]

    def test_multipart_upload_with_provenance_and_a_hostile_file_name(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), admin_api_key=KEY) as client:
            data = b"country_code,year,value\nJPN,2024,22\nKOR,2024,970\nWLD,2024,29300\n"
            response = client.post(
                UPLOAD,
                params={"release": "mine-1", "retrieved": "2025-04-01", "note": "checked by hand", "replace": "true"},
                files={"file": ("../../etc/pass wd.csv", data, "text/csv")},
                headers=AUTH,
            )
            assert response.status_code == 201, response.text
            release = client.get("/v1/datasets/arms-exports/releases").json()["data"][0]
            assert release["release_id"] == "mine-1"
            assert release["retrieved"] == "2025-04-01"
            assert release["origin"] == "pass_wd.csv"

    @pytest.mark.parametrize(
        ("data", "line", "column"),
        [
            (b"country_code,year,value\nJPN,2024,-1\n", 2, "value"),
            (b"country_code,year,value\nJPN,2024,1\nQQQ,2024,2\n", 3, "country_code"),
            (b"country_code,year,value\nJPN,2024,1\nJPN,20", 3, None),
            (b"", None, None),
            (b"country_code,year,value\nTUR,2024,\xff\n", 2, None),
        ],
        ids=["negative", "unknown country", "truncated", "empty", "not utf-8"],
    )
    def test_a_bad_file_is_a_422_naming_line_and_column_and_nothing_changes(
        self, databases: Databases, data: bytes, line: int | None, column: str | None
    ) -> None:
        url = databases.copy()
        before = checksum(url)
        with serve(url, admin_api_key=KEY) as client:
            body = assert_problem(client.post(UPLOAD, content=data, headers=CSV), 422)
        assert body["errors"][0]["line"] == line and body["errors"][0]["column"] == column
        assert checksum(url) == before

    @pytest.mark.parametrize(
        ("path", "headers", "status"),
        [
            ("/v1/admin/datasets/nope/releases", CSV, 404),
            ("/v1/admin/datasets/japan-export-deals/releases", CSV, 422),
            (UPLOAD, {**AUTH, "Content-Type": "application/json"}, 415),
            (UPLOAD, {**AUTH, "Content-Type": "multipart/form-data; boundary=x"}, 422),
        ],
        ids=["unknown dataset", "table dataset", "json body", "broken multipart"],
    )
    def test_requests_that_cannot_be_a_release(self, sqlite: Databases, path: str, headers: Any, status: int) -> None:
        url = sqlite.copy()
        before = checksum(url)
        with serve(url, admin_api_key=KEY) as client:
            assert_problem(client.post(path, content=b"country_code,year,value\nJPN,2024,1\n", headers=headers), status)
        assert checksum(url) == before

    def test_a_release_id_taken_by_other_content_is_a_409(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), admin_api_key=KEY) as client:
            one = b"country_code,year,value\nJPN,2024,1\nWLD,2024,29300\n"
            other = b"country_code,year,value\nJPN,2024,2\nWLD,2024,29300\n"
            params = {"release": "r1", "replace": "true"}
            assert client.post(UPLOAD, params=params, content=one, headers=CSV).status_code == 201
            assert_problem(client.post(UPLOAD, params=params, content=other, headers=CSV), 409)

    @pytest.mark.parametrize(
        ("query", "field"),
        [("bogus=1", "bogus"), ("releases=x", "releases"), ("replace=true&replace=false", "replace")],
        ids=["unknown", "typo", "repeated"],
    )
    def test_unknown_or_repeated_query_parameters_are_a_422_naming_them(
        self, sqlite: Databases, query: str, field: str
    ) -> None:
        url = sqlite.copy()
        before = checksum(url)
        path = f"/v1/admin/datasets/arms-exports/releases?{query}"
        with serve(url, admin_api_key=KEY) as client:
            assert (
                client.post(path, content=SIPRI_FILE.read_bytes(), headers={"Content-Type": "text/csv"}).status_code
                == 401
            )
            body = assert_problem(client.post(path, content=SIPRI_FILE.read_bytes(), headers=CSV), 422)
            assert [e["field"] for e in body["errors"]] == [field]
            purge = assert_problem(client.post("/v1/admin/cache/purge?bogus=1", headers=AUTH), 422)
            assert purge["errors"][0]["field"] == "bogus"
        assert checksum(url) == before

    @pytest.mark.parametrize("value", ["notadate", "2026-13-45", "20260101", "1699920000"])
    def test_retrieved_must_be_a_date(self, sqlite: Databases, value: str) -> None:
        url = sqlite.copy()
        before = checksum(url)
        with serve(url, admin_api_key=KEY) as client:
            response = client.post(UPLOAD + f"&retrieved={value}", content=SIPRI_FILE.read_bytes(), headers=CSV)
        body = assert_problem(response, 422)
        assert body["errors"] == [{"field": "retrieved", "message": f"must be YYYY-MM-DD (a real date), not {value!r}"}]
        assert checksum(url) == before

    def test_a_new_release_publishes_the_warm_set_for_its_version(
        self, sqlite: Databases, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        versions: list[str] = []

        def spy(engine: object, snapshot: Any, inputs: object, countries: object) -> list[Any]:
            versions.append(snapshot.version)
            return []  # nothing to compute in this test

        monkeypatch.setattr(admin, "warm_specs", spy)
        monkeypatch.setattr("api.app.warm_specs", spy)  # the start-up warm-up
        with serve(sqlite.copy(), admin_api_key=KEY, warm_on_start=True, warm_check_seconds=3600) as client:
            client.get("/v1/countries")
            wait_for(lambda: versions, 30, "the start-up warm-up")  # it runs beside the first requests
            starting = list(versions)
            response = client.post(UPLOAD, content=SIPRI_FILE.read_bytes(), headers=CSV)
            assert response.status_code == 201
        assert len(versions) == len(starting) + 1
        assert versions[-1] not in starting  # published for the new data version, at once


class TestCaches:
    def test_warm_publishes_the_built_in_scenarios_of_the_watched_countries(
        self, sqlite: Databases, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[list[str]] = []

        async def spy(service: object, specs: list[Any]) -> int:
            seen.append(sorted({f"{s.summary['target']['country']}/{s.summary['scenario']}" for s in specs}))
            return len(specs)

        monkeypatch.setattr(admin, "publish_warm_set", spy)
        worker = WorkerSettings(redis_url=None, warm_countries=("JPN", "KOR"))
        with serve(sqlite.copy(), worker, admin_api_key=KEY) as client:
            response = client.post("/v1/admin/cache/warm", headers=AUTH)
        assert response.status_code == 202, response.text
        assert response.json() == {"published": len(seen[0]), "countries": ["JPN", "KOR"]}
        assert "JPN/liberalisation" in seen[0] and "KOR/baseline" in seen[0]

    def test_warm_is_a_503_while_the_forecast_service_is_away(self, sqlite: Databases) -> None:
        from tests.services import free_port

        worker = WorkerSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0", warm_countries=("KOR",))
        with serve(sqlite.copy(), worker, admin_api_key=KEY) as client:
            response = client.post("/v1/admin/cache/warm", headers=AUTH)
        body = assert_problem(response, 503)
        assert "forecast service" in body["detail"] and int(response.headers["retry-after"]) >= 1

    def test_purge_empties_this_process_memory(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), admin_api_key=KEY) as client:
            key = "ab" * 32
            client.app.state.tivcast.service._results.lru.put(key, b'{"key": "cached"}')  # as if computed
            assert client.get(f"/v1/forecasts/{key}").status_code == 200
            countries = client.get("/v1/countries")
            response = client.post("/v1/admin/cache/purge", headers=AUTH)
            assert response.status_code == 200, response.text
            assert response.json()["results_dropped"] == 1
            assert set(response.json()["purged"]) >= {"bodies", "urls", "results"}
            assert client.get(f"/v1/forecasts/{key}").status_code == 404
            assert client.get("/v1/countries").content == countries.content  # rebuilt, same bytes
