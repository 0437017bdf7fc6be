"""Rollback: loading an older release's content again makes it the current release again, over HTTP and from the
CLI, and every data answer moves its Last-Modified forward (a client's If-Modified-Since from the release it
replaces gets the restored data, never a 304)."""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from api.app import create_app
from api.datasets.tables import Release
from api.db import make_engine
from api.errors import Conflict
from api.settings import Settings
from tests.helpers import checksum, ingest, run_cli

SHIPPED = Path(__file__).resolve().parents[2] / "api" / "data" / "arms-exports.csv"
SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
SHIPPED_ID = "sipri-at-2024_2025"
KEY = "k" * 32
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "text/csv"}
UPLOAD = "/v1/admin/datasets/arms-exports/releases"
JAPAN_2023 = "/v1/datasets/arms-exports/observations?country=JPN&start=2023&end=2023"
# The review's file: the shipped download with Japan's 2023 changed from 13 to 14 (a bad release).
BAD = SHIPPED.read_bytes().replace(b"\nJPN,2023,13,,", b"\nJPN,2023,14,,")


@pytest.fixture
def server(fresh_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=fresh_url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
    with TestClient(create_app(settings)) as client:
        yield client


def japan_2023(client: TestClient, **headers: str) -> tuple[int, float | None, dict[str, str]]:
    response = client.get(JAPAN_2023, headers=headers)
    value = response.json()["data"][0]["value"] if response.status_code == 200 else None
    return response.status_code, value, dict(response.headers)


def current(client: TestClient) -> str:
    releases = client.get("/v1/datasets/arms-exports/releases").json()["data"]
    assert [r["current"] for r in releases].count(True) == 1
    assert releases[0]["current"]
    return str(releases[0]["release_id"])


class TestRollbackOverHttp:
    def test_the_shipped_content_uploaded_again_is_current_again(self, server: TestClient) -> None:
        status, value, good = japan_2023(server)
        assert (status, value) == (200, 13)
        bad = server.post(UPLOAD, params={"release": "ae-mod"}, content=BAD, headers=AUTH)
        assert bad.status_code == 201, bad.text
        assert bad.json()["current"] and bad.json()["replaced"] == SHIPPED_ID
        status, value, bad_headers = japan_2023(server)
        assert (status, value) == (200, 14)
        assert current(server) == "ae-mod"

        back = server.post(UPLOAD, params={"release": "revert-to-shipped"}, content=SHIPPED.read_bytes(), headers=AUTH)
        assert back.status_code == 200, back.text
        body = back.json()
        assert (body["release_id"], body["created"], body["current"]) == (SHIPPED_ID, False, True)
        assert body["replaced"] == "ae-mod"
        assert japan_2023(server)[:2] == (200, 13)
        assert current(server) == SHIPPED_ID
        dataset = server.get("/v1/datasets/arms-exports").json()
        assert dataset["release"]["release_id"] == SHIPPED_ID and dataset["release"]["current"]
        # the release list says when each became the served one: the shipped release after the bad one now
        listed = {r["release_id"]: r for r in server.get("/v1/datasets/arms-exports/releases").json()["data"]}
        assert listed[SHIPPED_ID]["current_since"] > listed["ae-mod"]["current_since"] > listed[SHIPPED_ID][
            "loaded_at"]
        table = server.get("/v1/datasets/arms-exports/releases", params={"format": "csv"}).text.splitlines()
        assert table[0].split(",")[-2:] == ["current_since", "current"]
        # the bad release is kept and still addressable
        old = server.get(JAPAN_2023 + "&release=ae-mod").json()["data"][0]["value"]
        assert old == 14

    def test_last_modified_moves_forward_and_if_modified_since_from_the_bad_release_gets_the_data(
        self, server: TestClient
    ) -> None:
        _, _, shipped = japan_2023(server)  # also remembered by the URL cache under the shipped version
        server.post(UPLOAD, content=BAD, headers=AUTH)
        _, _, bad = japan_2023(server)
        server.post(UPLOAD, content=SHIPPED.read_bytes(), headers=AUTH)
        status, value, restored = japan_2023(server, **{"If-Modified-Since": bad["last-modified"]})
        assert (status, value) == (200, 13)  # never a 304 saying "the bad release's 14 is still good"
        moments = [parsedate_to_datetime(h["last-modified"]) for h in (shipped, bad, restored)]
        assert moments[0] < moments[1] < moments[2]
        # The same bytes as before the bad release: the ETag is the content's, so its holder may revalidate.
        assert restored["etag"] == shipped["etag"]
        assert server.get(JAPAN_2023, headers={"If-None-Match": shipped["etag"]}).status_code == 304
        again = server.get(JAPAN_2023, headers={"If-Modified-Since": restored["last-modified"]})
        assert again.status_code == 304
        for path in ("/v1/datasets/arms-exports", "/v1/datasets/arms-exports/releases", "/v1/arms-exports/shares"):
            answer = server.get(path, headers={"If-Modified-Since": bad["last-modified"]})
            assert answer.status_code == 200, path
            assert parsedate_to_datetime(answer.headers["last-modified"]) == moments[2], path

    def test_the_current_release_uploaded_again_changes_nothing(self, server: TestClient, fresh_url: str) -> None:
        before = checksum(fresh_url)
        same = server.post(UPLOAD, content=SHIPPED.read_bytes(), headers=AUTH)
        assert same.status_code == 200
        assert (same.json()["created"], same.json()["current"], same.json()["replaced"]) == (False, True, None)
        assert checksum(fresh_url) == before


class TestRollbackRules:
    def test_a_restart_does_not_undo_the_operators_release_nor_the_rollback(self, fresh_url: str) -> None:
        """Every start seeds the shipped data: the shipped release, already stored, must not become current again."""
        ingest(fresh_url, BAD, release_id="ae-mod")
        settings = Settings(database_url=fresh_url, warm_on_start=False)
        with TestClient(create_app(settings)) as client:
            assert current(client) == "ae-mod"
        assert ingest(fresh_url, SHIPPED.read_bytes()).replaced == "ae-mod"
        with TestClient(create_app(settings)) as client:
            assert current(client) == SHIPPED_ID
            assert japan_2023(client)[1] == 13

    def test_rolling_back_to_a_much_smaller_release_needs_replace(self, fresh_url: str) -> None:
        small = ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True)
        assert ingest(fresh_url, SHIPPED.read_bytes()).replaced == small.release_id
        before = checksum(fresh_url)
        with pytest.raises(Conflict, match="replace"):
            ingest(fresh_url, SIPRI_FILE.read_bytes())
        assert checksum(fresh_url) == before
        again = ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True)
        assert (again.created, again.current, again.replaced) == (False, True, SHIPPED_ID)

    def test_the_release_made_current_last_wins_however_often(self, fresh_url: str) -> None:
        ingest(fresh_url, BAD, release_id="ae-mod")
        ingest(fresh_url, SHIPPED.read_bytes())
        assert ingest(fresh_url, BAD).replaced == SHIPPED_ID
        engine = make_engine(fresh_url)
        try:
            with Session(engine) as session:
                releases = session.exec(select(Release).where(Release.dataset_id == "arms-exports")).all()
        finally:
            engine.dispose()
        assert len(releases) == 2  # nothing was stored twice
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            assert current(client) == "ae-mod"
            assert japan_2023(client)[1] == 14


class TestRollbackFromTheCli:
    def test_the_cli_says_which_release_is_current_again(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        bad = tmp_path / "ae_mod.csv"
        bad.write_bytes(BAD)
        loaded = run_cli(fresh_url, monkeypatch, "ingest", str(bad), "--dataset", "arms-exports")
        assert loaded.exit_code == 0, loaded.output
        assert loaded.output.startswith("loaded arms-exports release ingest-")
        args = (str(SHIPPED), "--dataset", "arms-exports", "--release", "revert")
        back = run_cli(fresh_url, monkeypatch, "ingest", *args)
        assert back.exit_code == 0, back.output
        output: str = back.output
        assert output.startswith(f"current again: arms-exports release {SHIPPED_ID}")
        assert "replaces ingest-" in output
        same = run_cli(fresh_url, monkeypatch, "ingest", str(SHIPPED), "--dataset", "arms-exports")
        assert same.output.startswith(f"unchanged: identical to arms-exports release {SHIPPED_ID}")
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            assert current(client) == SHIPPED_ID
