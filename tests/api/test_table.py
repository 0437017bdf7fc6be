"""Several datasets in one call (issue 11.7): arms exports and military expenditure for the same countries
and years as one table, long or wide, each column with its unit and release."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

URL = "/v1/observations"
BOTH = {"dataset": "arms-exports,milex-constant-usd", "country": "JPN,KOR", "start": 2015, "end": 2023}


def single(client: TestClient, dataset: str) -> dict[tuple[str, int], float]:
    params = {"country": "JPN,KOR", "start": 2015, "end": 2023, "limit": 1000}
    rows = client.get(f"/v1/datasets/{dataset}/observations", params=params).json()["data"]
    return {(r["country"], r["year"]): r["value"] for r in rows}


class TestLong:
    def test_the_rows_of_each_dataset_with_their_units_and_releases(self, client: TestClient) -> None:
        body = client.get(URL, params=BOTH).json()
        assert body["shape"] == "long"
        assert [c["dataset"] for c in body["columns"]] == ["arms-exports", "milex-constant-usd"]
        for column in body["columns"]:
            described = client.get(f"/v1/datasets/{column['dataset']}").json()
            assert column["unit"] == described["unit"] and column["release"] == described["release"]["release_id"]
        for dataset in ("arms-exports", "milex-constant-usd"):
            got = {(r["country"], r["year"]): r["value"] for r in body["data"] if r["dataset"] == dataset}
            assert got == single(client, dataset) and got
        assert body["count"] == len(body["data"])

    def test_long_csv_carries_unit_and_release_per_row(self, client: TestClient) -> None:
        table = pd.read_csv(io.StringIO(client.get(URL, params={**BOTH, "format": "csv"}).text))
        assert set(table["unit"]) == {"TIV_million", "USD_million_constant_2023"}
        assert set(table["dataset"]) == {"arms-exports", "milex-constant-usd"}


class TestWide:
    def test_country_by_year_with_one_column_per_dataset(self, client: TestClient) -> None:
        body = client.get(URL, params={**BOTH, "shape": "wide"}).json()
        exports, milex = single(client, "arms-exports"), single(client, "milex-constant-usd")
        assert {(r["country"], r["year"]) for r in body["data"]} == set(exports) | set(milex)
        for row in body["data"]:
            key = (row["country"], row["year"])
            assert row["arms-exports"] == exports.get(key)  # None where there is no value: nothing filled in
            assert row["milex-constant-usd"] == milex.get(key)

    def test_wide_csv_reads_into_pandas(self, client: TestClient) -> None:
        text = client.get(URL, params={**BOTH, "shape": "wide"}, headers={"Accept": "text/csv"}).text
        table = pd.read_csv(io.StringIO(text))
        assert list(table.columns) == ["country_code", "country_name", "year", "arms-exports", "milex-constant-usd"]
        assert len(table) == len(client.get(URL, params={**BOTH, "shape": "wide"}).json()["data"])


class TestBadRequests:
    @pytest.mark.parametrize(
        ("params", "status", "field"),
        [
            ({"dataset": "arms-exports,japan-export-deals"}, 422, "dataset"),
            ({"dataset": ","}, 422, "dataset"),
            ({"dataset": "nope"}, 404, None),
            ({}, 422, "dataset"),
            ({"dataset": "arms-exports", "shape": "tall"}, 422, "shape"),
            ({"dataset": "arms-exports", "datasets": "x"}, 422, "datasets"),
        ],
    )
    def test_a_clear_problem(self, client: TestClient, params: dict[str, str], status: int, field: str | None) -> None:
        response = client.get(URL, params=params)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        if field:
            assert response.json()["errors"][0]["field"] == field

    def test_too_many_datasets_is_a_422_before_any_is_looked_up(self, client: TestClient) -> None:
        response = client.get(URL, params={"dataset": "a,b,c,d,e,f,g,h,i"})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "dataset"
        assert "at most 8 datasets" in response.json()["detail"]

    def test_a_repeated_dataset_counts_once(self, client: TestClient) -> None:
        response = client.get(URL, params={"dataset": ",".join(["arms-exports"] * 9), "country": "JPN"})
        assert response.status_code == 200 and [c["dataset"] for c in response.json()["columns"]] == ["arms-exports"]
