"""Keyset pages that cannot mix releases (issue 11.9): first/prev/next/last links pinned to the release
the first page came from, and cursors bound to their query."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from httpx import Response

from api.app import create_app
from api.datasets.ingest import ingest_file
from api.db import make_engine, transaction
from api.settings import Settings

OBS = "/v1/datasets/arms-exports/observations"
SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
QUERY = {"country": "JPN,KOR,CHN", "start": 2000}


def keys(body: dict[str, object]) -> list[tuple[str, int]]:
    return [(r["country"], r["year"]) for r in body["data"]]  # type: ignore[attr-defined, index]


def walk(client: TestClient, url: str, rel: str) -> list[dict[str, object]]:
    pages = []
    while url:
        body = client.get(url).json()
        pages.append(body)
        url = body["links"].get(rel)
    return pages


class TestLinks:
    def test_next_links_give_every_row_once_in_order(self, client: TestClient) -> None:
        whole = client.get(OBS, params={**QUERY, "limit": 1000}).json()
        pages = walk(client, client.get(OBS, params={**QUERY, "limit": 7}).url.__str__(), "next")
        assert len(pages) == -(-whole["count"] // 7) > 2
        assert [k for p in pages for k in keys(p)] == keys(whole)
        assert all(p["count"] == whole["count"] for p in pages)

    def test_prev_links_walk_back_to_the_first_page(self, client: TestClient) -> None:
        whole = keys(client.get(OBS, params={**QUERY, "limit": 1000}).json())
        first = client.get(OBS, params={**QUERY, "limit": 7}).json()
        assert "prev" not in first["links"]
        last = client.get(first["links"]["last"]).json()
        assert keys(last) == whole[-7:] and "next" not in last["links"]
        back = walk(client, last["links"]["prev"], "prev")
        assert [k for p in reversed(back) for k in keys(p)] + keys(last) == whole
        assert keys(back[-1]) == whole[: len(keys(back[-1]))]

    def test_prev_of_a_next_page_is_the_page_before(self, client: TestClient) -> None:
        first = client.get(OBS, params={**QUERY, "limit": 5}).json()
        second = client.get(first["links"]["next"]).json()
        assert keys(client.get(second["links"]["prev"]).json()) == keys(first)

    def test_one_page_has_no_prev_next_or_last(self, client: TestClient) -> None:
        body = client.get(OBS, params={"country": "JPN", "limit": 1000}).json()
        assert set(body["links"]) == {"first"}

    def test_the_link_header_carries_the_same_links(self, client: TestClient) -> None:
        response = client.get(OBS, params={**QUERY, "limit": 5})
        header = response.headers["link"]
        for rel, url in response.json()["links"].items():
            assert f'<{url}>; rel="{rel}"' in header


def link_header(response: Response) -> dict[str, str]:
    return {rel: url for url, rel in re.findall(r'<([^>]+)>; rel="([a-z]+)"', response.headers["link"])}


class TestCsvLinks:
    """A CSV page's links ask for CSV whether the page was asked for by Accept or by format=, and whichever
    of the two was asked first (they name the same rows, not the same links)."""

    CSV_URL = f"{OBS}?country=ESP&limit={{limit}}"

    @pytest.mark.parametrize("order", [("accept", "format"), ("format", "accept")])
    def test_both_ways_of_asking_for_csv_give_links_that_ask_for_csv(
        self, client: TestClient, order: tuple[str, str]
    ) -> None:
        url = self.CSV_URL.format(limit=2 if order[0] == "accept" else 3)
        for how in order:
            response = (
                client.get(url, headers={"Accept": "text/csv"}) if how == "accept" else client.get(f"{url}&format=csv")
            )
            assert response.headers["content-type"].startswith("text/csv")
            links = link_header(response)
            assert set(links) >= {"first", "next", "last"}
            assert all("format=csv" in link for link in links.values()), (how, links)
            note = pd.read_csv(io.StringIO(response.text))["note"][0]
            assert f"next page: {links['next']};" in note

    def test_pandas_reads_the_next_link_of_a_csv_page_as_rows(self, client: TestClient) -> None:
        first = client.get(self.CSV_URL.format(limit=2), headers={"Accept": "text/csv"})
        following = link_header(first)["next"]
        page = pd.read_csv(io.StringIO(client.get(following).text))  # no Accept, as pandas.read_csv(url) sends
        assert list(page.columns[:3]) == ["country_code", "country_name", "year"]
        assert len(page) == 2 and set(page["country_code"]) == {"ESP"}

    def test_json_links_keep_the_format_the_request_named(self, client: TestClient) -> None:
        plain = client.get(OBS, params={"country": "ESP", "limit": 2}).json()["links"]
        named = client.get(OBS, params={"country": "ESP", "limit": 2, "format": "json"}).json()["links"]
        assert not any("format=" in link for link in plain.values())
        assert all("format=json" in link for link in named.values())


class TestPinnedRelease:
    def test_next_links_keep_the_release_after_a_new_one_is_loaded(self, fresh_url: str) -> None:
        settings = Settings(database_url=fresh_url, warm_on_start=False, version_ttl=0)
        with TestClient(create_app(settings)) as client:
            first = client.get(OBS, params={"country": "KOR", "limit": 10}).json()
            old = first["release"]
            engine = make_engine(fresh_url)
            with transaction(engine) as session:
                ingest_file(session, "arms-exports", SIPRI_FILE.read_bytes(), origin="new.csv", replace=True)
            engine.dispose()
            assert client.get(OBS, params={"country": "KOR"}).json()["release"] != old  # the new one is current
            rest = walk(client, first["links"]["next"], "next")
            assert {p["release"] for p in rest} == {old}
            assert len(first["data"]) + sum(len(p["data"]) for p in rest) == first["count"]
            assert f"release={old}" in first["links"]["first"]

    def test_a_cursor_with_another_release_is_a_422(self, client: TestClient) -> None:
        first = client.get(OBS, params={**QUERY, "limit": 5}).json()
        cursor = first["links"]["next"].split("cursor=")[1]
        response = client.get(OBS, params={**QUERY, "limit": 5, "cursor": cursor, "release": "other"})
        assert response.status_code == 422 and response.json()["errors"][0]["field"] == "cursor"


class TestBoundCursor:
    def test_a_cursor_from_another_query_is_a_422(self, client: TestClient) -> None:
        first = client.get(OBS, params={**QUERY, "limit": 5}).json()
        cursor = first["links"]["next"].split("cursor=")[1]
        response = client.get(OBS, params={"country": "USA", "limit": 5, "cursor": cursor})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "cursor"
        assert "another query" in response.json()["detail"]

    @pytest.mark.parametrize(
        ("source", "target"),
        [
            ("milex-constant-usd", "milex-current-usd"),  # one SIPRI release id: the cursor was taken, rows skipped
            ("milex-current-usd", "milex-constant-usd"),
            ("milex-constant-usd", "arms-exports"),  # another release id: was a 404 for a release never asked for
            ("arms-exports", "milex-share-gdp"),
        ],
    )
    def test_a_cursor_from_another_dataset_is_a_422(self, client: TestClient, source: str, target: str) -> None:
        query = {"country": "JPN,KOR", "limit": 7}
        first = client.get(f"/v1/datasets/{source}/observations", params=query).json()
        cursor = first["next_cursor"]
        assert cursor is not None and first["links"]["next"].endswith(f"cursor={cursor}")
        same = client.get(f"/v1/datasets/{source}/observations", params={**query, "limit": 3, "cursor": cursor})
        assert same.status_code == 200, same.text  # the same query, another page size: continues
        for params in ({**query, "limit": 3, "cursor": cursor}, {**query, "cursor": cursor, "format": "csv"}):
            response = client.get(f"/v1/datasets/{target}/observations", params=params)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert [e["field"] for e in response.json()["errors"]] == ["cursor"]
            assert "another dataset" in response.json()["detail"]

    def test_the_milex_series_share_a_release_id(self, client: TestClient) -> None:
        """Why the dataset must be in the cursor: the release alone does not tell these two apart."""
        releases = {d: client.get(f"/v1/datasets/{d}/observations", params={"limit": 1}).json()["release"]
                    for d in ("milex-constant-usd", "milex-current-usd")}
        assert len(set(releases.values())) == 1, releases

    def test_another_page_size_may_continue_the_same_query(self, client: TestClient) -> None:
        first = client.get(OBS, params={**QUERY, "limit": 5}).json()
        cursor = first["links"]["next"].split("cursor=")[1]
        more = client.get(OBS, params={**QUERY, "limit": 3, "cursor": cursor})
        assert more.status_code == 200

    @pytest.mark.parametrize("cursor", ["nonsense", "WyJhIl0", "", "eyJ4IjogMX0"])
    def test_a_cursor_not_made_by_the_api_is_a_422(self, client: TestClient, cursor: str) -> None:
        assert client.get(OBS, params={"cursor": cursor}).status_code == 422
