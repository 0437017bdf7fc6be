"""CSV on every data endpoint, chosen by Accept (q-values, any case) or format=; 406 otherwise (issue 11.5)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

CSV_ENDPOINTS = {
    "/v1/datasets": "id",
    "/v1/datasets/arms-exports": "id",
    "/v1/datasets/arms-exports/releases": "release_id",
    "/v1/datasets/arms-exports/observations?country=JPN": "value",
    "/v1/datasets/japan-export-deals/records": "deal_id",
    "/v1/countries": "code",
    "/v1/countries/JPN": "code",
    "/v1/arms-exports/shares?country=JPN,KOR": "share",
    "/v1/policy-events": "date",
}


def join(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}"


@pytest.mark.parametrize("path", list(CSV_ENDPOINTS))
class TestEveryDataEndpoint:
    def test_pandas_reads_the_same_rows_as_the_json(self, client: TestClient, path: str) -> None:
        response = client.get(path, headers={"Accept": "text/csv"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        table = pd.read_csv(io.StringIO(response.text))
        assert CSV_ENDPOINTS[path] in table.columns
        body = client.get(path).json()
        rows = body["data"] if "data" in body else [body]
        assert len(table) == len(rows)

    def test_format_overrides_accept(self, client: TestClient, path: str) -> None:
        as_csv = client.get(join(path, "format=csv"), headers={"Accept": "application/json"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        as_json = client.get(join(path, "format=json"), headers={"Accept": "text/csv"})
        assert as_json.headers["content-type"] == "application/json"

    def test_an_unsupported_accept_is_a_406_problem(self, client: TestClient, path: str) -> None:
        response = client.get(path, headers={"Accept": "application/xml"})
        assert response.status_code == 406
        assert response.headers["content-type"] == "application/problem+json"
        assert "text/csv" in response.json()["detail"]

    ANY_CASE = [("CSV", "text/csv"), ("Csv", "text/csv"), ("JSON", "application/json")]

    @pytest.mark.parametrize(("value", "media"), ANY_CASE)
    def test_format_in_any_case(self, client: TestClient, path: str, value: str, media: str) -> None:
        """As Accept is: format=CSV is format=csv, with the same body (and ETag)."""
        accept = "application/json" if media == "text/csv" else "text/csv"
        response = client.get(join(path, f"format={value}"), headers={"Accept": accept})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].split(";")[0] == media
        lower = client.get(join(path, f"format={value.lower()}"))
        assert response.content == lower.content and response.headers["etag"] == lower.headers["etag"]

    def test_json_and_csv_have_different_etags(self, client: TestClient, path: str) -> None:
        as_json, as_csv = client.get(path), client.get(path, headers={"Accept": "text/csv"})
        assert as_json.headers["etag"] != as_csv.headers["etag"]
        assert "Accept" in as_csv.headers["vary"]


URL = "/v1/countries/JPN"


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("TEXT/CSV", "text/csv"),
        ("text/csv;q=0.9, application/json;q=0.5", "text/csv"),
        ("application/json;q=0.5, text/csv;q=0.9", "text/csv"),
        ("application/json, text/csv", "application/json"),  # a tie: JSON
        ("text/*", "text/csv"),
        ("*/*", "application/json"),
        ("text/html, */*;q=0.1", "application/json"),
        ("application/json;q=0, text/csv;q=0.1", "text/csv"),
        ("text/csv;q=0, */*", "application/json"),
        ("", "application/json"),
    ],
)
def test_accept_with_q_values_and_any_case(client: TestClient, accept: str, media: str) -> None:
    response = client.get(URL, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media


@pytest.mark.parametrize("accept", ["application/xml", "text/html", "application/json;q=0, text/csv;q=0", "image/*"])
def test_nothing_acceptable_is_a_406(client: TestClient, accept: str) -> None:
    assert client.get(URL, headers={"Accept": accept}).status_code == 406


def test_a_406_is_not_replayed_as_a_success(client: TestClient) -> None:
    path = "/v1/countries/KOR"
    assert client.get(path, headers={"Accept": "text/csv"}).status_code == 200
    assert client.get(path, headers={"Accept": "application/xml"}).status_code == 406
    assert client.get(path, headers={"Accept": "text/csv"}).headers["content-type"].startswith("text/csv")


def test_an_unknown_format_is_a_422(client: TestClient) -> None:
    assert client.get(URL, params={"format": "xlsx"}).status_code == 422
    assert client.get(URL, params={"format": "XLSX"}).status_code == 422


def test_links_of_a_page_asked_with_format_in_capitals_ask_for_csv(client: TestClient) -> None:
    """The observation route (its fast path and FastAPI's route alike) reads format=CSV as csv."""
    for extra in ({}, {"limit": "010"}):  # the fast path reads the first; "010" is left to the route
        params = {"country": "JPN,KOR", "limit": "10", "format": "CSV", **extra}
        response = client.get("/v1/datasets/arms-exports/observations", params=params)
        assert response.headers["content-type"].startswith("text/csv")
        assert "format=csv" in response.links["next"]["url"] and "format=CSV" not in response.headers["link"]


def test_the_document_keeps_the_two_values_and_says_any_case(client: TestClient) -> None:
    """Generated clients keep their enum of two values; the description says the server also takes any case."""
    document = client.get("/openapi.json").json()
    for path in ("/v1/arms-exports/shares", "/v1/observations", "/v1/datasets/{dataset_id}/observations"):
        [param] = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "format"]
        assert param["schema"]["anyOf"][0]["enum"] == ["json", "csv"] and "any case" in param["description"]


def test_lists_are_pipe_joined_in_csv(client: TestClient) -> None:
    table = pd.read_csv(io.StringIO(client.get("/v1/policy-events?format=csv").text))
    json_rows = client.get("/v1/policy-events").json()["data"]
    assert table["sources"].fillna("").tolist() == ["|".join(e["sources"]) for e in json_rows]


JSON_ONLY = [
    "/v1/forecasts/latest?country=JPN",
    "/v1/forecasts/compare?country=JPN",
    "/v1/backtests?country=JPN",
    f"/v1/forecasts/{'0' * 64}",
    f"/v1/jobs/{'0' * 64}",
    "/v1/scenarios",
    "/v1/scenarios/baseline",
]


class TestJsonOnlyRoutes:
    """Forecast, job and scenario routes send JSON (or a problem): an Accept allowing neither is a 406."""

    @pytest.mark.parametrize("path", JSON_ONLY)
    @pytest.mark.parametrize("accept", ["image/png", "text/csv", "TEXT/CSV", "application/json;q=0, */*;q=0", "text/*"])
    def test_an_accept_without_json_is_a_406_problem(self, client: TestClient, path: str, accept: str) -> None:
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 406, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "application/json" in response.json()["detail"]

    def test_posting_a_forecast_with_an_accept_without_json_is_a_406(self, client: TestClient) -> None:
        request = {"target": {"country": "JPN", "measure": "share"}, "scenario": "baseline"}
        assert client.post("/v1/forecasts", json=request, headers={"Accept": "image/png"}).status_code == 406

    @pytest.mark.parametrize(
        "accept", ["", "*/*", "application/*", "APPLICATION/JSON", "application/problem+json", "image/png, */*;q=0.1"]
    )
    def test_an_accept_allowing_json_is_answered(self, client: TestClient, accept: str) -> None:
        assert client.get("/v1/scenarios", headers={"Accept": accept}).status_code == 200
        assert client.get(f"/v1/jobs/{'0' * 64}", headers={"Accept": accept}).status_code == 404


@pytest.mark.parametrize(
    ("path", "media"),
    [("/v1/datasets/arms-exports/download", "text/csv"), ("/v1/datasets/arms-exports/datapackage", "application/zip")],
)
class TestBulkMediaTypes:
    @pytest.mark.parametrize("accept", ["application/json", "image/png", "text/csv;q=0, application/zip;q=0"])
    def test_an_accept_without_the_file_type_is_a_406(
        self, client: TestClient, path: str, media: str, accept: str
    ) -> None:
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 406, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert media in response.json()["detail"]

    @pytest.mark.parametrize("accept", ["", "*/*", "TEXT/CSV, application/zip"])
    def test_an_accept_allowing_the_file_type_is_answered(
        self, client: TestClient, path: str, media: str, accept: str
    ) -> None:
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 200 and response.headers["content-type"].startswith(media)
