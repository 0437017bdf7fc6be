"""GET /v1/datasets/{id}/observations: filters, mrv, pagination, CSV, caching, errors."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

URL = "/v1/datasets/arms-exports/observations"


def all_pages(client: TestClient, url: str) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        rows.extend(response.json()["data"])
        url = response.json()["links"].get("next", "")
    return rows


class TestFilters:
    def test_japan_all_years_with_the_2024_value_from_the_2025_release(self, client: TestClient) -> None:
        body = client.get(URL, params={"country": "JPN", "limit": 1000}).json()
        assert {r["country"] for r in body["data"]} == {"JPN"}
        by_year = {r["year"]: r for r in body["data"]}
        assert by_year[2024]["value"] == 21
        assert by_year[2024]["source_release"] != by_year[2023]["source_release"]
        assert body["count"] == len(body["data"])

    def test_several_countries_and_a_year_range(self, client: TestClient) -> None:
        body = client.get(URL, params={"country": "JPN,KOR", "start": 1990, "end": 2024, "limit": 1000}).json()
        assert {r["country"] for r in body["data"]} == {"JPN", "KOR"}
        assert all(1990 <= r["year"] <= 2024 for r in body["data"])
        kor = {r["year"]: r["value"] for r in body["data"] if r["country"] == "KOR"}
        assert kor[2024] == 964

    def test_sipri_zero_keeps_its_under_half_a_million_flag(self, client: TestClient) -> None:
        rows = client.get(URL, params={"limit": 1000, "country": "TUR,POL"}).json()["data"]
        zeros = [r for r in rows if r["value"] == 0]
        assert zeros
        assert all(r["flag"] and "lt_0.5m" in r["flag"] for r in zeros)

    def test_mrv_gives_the_most_recent_values_per_country(self, client: TestClient) -> None:
        rows = client.get(URL, params={"country": "JPN,CHN", "mrv": 3}).json()["data"]
        assert [(r["country"], r["year"]) for r in rows if r["country"] == "CHN"] == [
            ("CHN", 2022),
            ("CHN", 2023),
            ("CHN", 2024),
        ]
        assert len([r for r in rows if r["country"] == "JPN"]) == 3

    def test_a_gap_stays_a_gap(self, client: TestClient) -> None:
        years = {r["year"] for r in client.get(URL, params={"country": "JPN", "limit": 1000}).json()["data"]}
        assert 1950 not in years
        assert 2019 not in years


class TestPagination:
    def test_following_next_links_returns_every_row_once(self, client: TestClient) -> None:
        total = client.get(URL, params={"country": "JPN,KOR,CHN", "limit": 1}).json()["count"]
        rows = all_pages(client, f"{URL}?country=JPN,KOR,CHN&limit=17")
        keys = [(r["country"], r["year"]) for r in rows]
        assert len(keys) == total == len(set(keys))
        assert keys == sorted(keys)

    def test_link_header_and_total_count(self, client: TestClient) -> None:
        response = client.get(URL, params={"country": "CHN", "limit": 5})
        assert 'rel="next"' in response.headers["link"]
        assert "cursor=" in response.headers["link"]
        assert int(response.headers["x-total-count"]) == response.json()["count"] > 5

    def test_a_forged_cursor_is_a_422_naming_it(self, client: TestClient) -> None:
        response = client.get(URL, params={"cursor": "not-a-cursor"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "cursor"


class TestCsv:
    def test_accept_text_csv(self, client: TestClient) -> None:
        response = client.get(URL, params={"country": "JPN"}, headers={"Accept": "text/csv"})
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows[0]["country_code"] == "JPN"
        assert {"year", "value", "unit", "flag", "release"} <= set(rows[0])

    def test_format_parameter_matches_json(self, client: TestClient) -> None:
        params = {"country": "KOR", "start": 2015}
        as_csv = list(csv.DictReader(io.StringIO(client.get(URL, params={**params, "format": "csv"}).text)))
        as_json = client.get(URL, params=params).json()["data"]
        assert [(int(r["year"]), float(r["value"])) for r in as_csv] == [(r["year"], r["value"]) for r in as_json]


class TestCaching:
    def test_etag_and_cache_control_then_304(self, client: TestClient) -> None:
        first = client.get(URL, params={"country": "JPN"})
        assert first.headers["etag"]
        assert "max-age" in first.headers["cache-control"]
        again = client.get(URL, params={"country": "JPN"}, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        assert again.content == b""

    def test_a_repeated_request_gets_the_same_bytes_and_headers(self, client: TestClient) -> None:
        first = client.get(URL, params={"country": "CHN", "mrv": 2}, headers={"Accept": "text/csv"})
        second = client.get(URL, params={"country": "CHN", "mrv": 2}, headers={"Accept": "text/csv"})
        assert second.content == first.content
        per_request = {"date", "x-request-id"}
        assert {k: v for k, v in second.headers.items() if k not in per_request} == {
            k: v for k, v in first.headers.items() if k not in per_request
        }
        etag = first.headers["etag"]
        again = client.get(
            URL, params={"country": "CHN", "mrv": 2}, headers={"Accept": "text/csv", "If-None-Match": etag}
        )
        assert again.status_code == 304
        as_json = client.get(URL, params={"country": "CHN", "mrv": 2}, headers={"If-None-Match": etag})
        assert as_json.status_code == 200  # the JSON representation has its own ETag

    def test_links_name_the_host_the_client_used_even_when_cached(self, client: TestClient) -> None:
        """The same URL asked through two host names: each answer's links (Link, next) name its own host,
        and a repeated request (a cache hit) still does."""
        params = {"country": "JPN,KOR", "limit": 3}
        answers = {host: client.get(URL, params=params, headers={"Host": host}) for host in ("a.example", "b.example")}
        again = client.get(URL, params=params, headers={"Host": "a.example"})
        cases = [("a.example", "b.example", answers["a.example"]), ("b.example", "a.example", answers["b.example"]),
                 ("a.example", "b.example", again)]
        for host, other, response in cases:
            assert f"http://{host}/" in response.headers["link"] and other not in response.headers["link"]
            assert f"http://{host}/" in response.text and other not in response.text
        assert answers["a.example"].headers["etag"] != answers["b.example"].headers["etag"]
        assert again.headers["etag"] == answers["a.example"].headers["etag"]

    def test_a_different_query_has_a_different_etag(self, client: TestClient) -> None:
        one = client.get(URL, params={"country": "JPN"}).headers["etag"]
        two = client.get(URL, params={"country": "KOR"}).headers["etag"]
        three = client.get(URL, params={"country": "JPN", "format": "csv"}).headers["etag"]
        assert len({one, two, three}) == 3


class TestErrors:
    def test_unknown_country_is_a_404_naming_it(self, client: TestClient) -> None:
        response = client.get(URL, params={"country": "JPN,XYZ"})
        assert response.status_code == 404
        assert "XYZ" in response.json()["detail"]
        assert response.headers["content-type"] == "application/problem+json"

    def test_start_after_end_is_a_422_naming_start(self, client: TestClient) -> None:
        response = client.get(URL, params={"start": 2020, "end": 1990})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "start"

    def test_a_year_that_is_not_a_number_is_a_422_naming_it(self, client: TestClient) -> None:
        response = client.get(URL, params={"end": "soon"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "end"

    def test_unknown_release_is_a_404_naming_it(self, client: TestClient) -> None:
        response = client.get(URL, params={"release": "sipri-1999"})
        assert response.status_code == 404
        assert "sipri-1999" in response.json()["detail"]

    def test_unknown_route_is_a_problem_too(self, client: TestClient) -> None:
        response = client.get("/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
