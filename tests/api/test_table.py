"""Several datasets in one call (issue 11.7): arms exports and military expenditure for the same countries
and years as one table, long or wide, each column with its unit and release."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.datasets.ingest import ingest_file
from api.db import make_engine, transaction
from api.settings import Settings

URL = "/v1/observations"
SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
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
        assert list(table.columns) == [
            "country_code", "country_name", "year", "arms-exports", "milex-constant-usd",  # the values, as before
            "arms-exports__flag", "milex-constant-usd__flag", "arms-exports__unit", "milex-constant-usd__unit",
            "arms-exports__release", "milex-constant-usd__release",
        ]  # fmt: skip
        assert len(table) == len(client.get(URL, params={**BOTH, "shape": "wide"}).json()["data"])


class TestWideKeepsFlagsUnitsAndReleases:
    """A wide table loses nothing the long one says: each value's flag (JSON and CSV), and in CSV, which has no
    ``columns``, each dataset's unit and release."""

    WORLD = {"dataset": "arms-exports,milex-constant-usd", "country": "WLD,BEL", "start": 1961, "shape": "wide"}

    def test_each_value_keeps_its_flag_in_json(self, client: TestClient) -> None:
        rows = {(r["country"], r["year"]): r for r in client.get(URL, params=self.WORLD).json()["data"]}
        assert rows[("WLD", 2024)]["arms-exports__flag"] == "sum_of_listed_suppliers"  # a lower bound
        assert rows[("WLD", 2023)]["arms-exports__flag"] is None
        assert (rows[("BEL", 1961)]["arms-exports"], rows[("BEL", 1961)]["arms-exports__flag"]) == (0, "lt_0.5m")
        assert all(r["milex-constant-usd__flag"] is None for r in rows.values() if r["milex-constant-usd"] is None)

    def test_the_flags_agree_with_the_long_table(self, client: TestClient) -> None:
        long = client.get(URL, params={**self.WORLD, "shape": "long"}).json()["data"]
        wide = {(r["country"], r["year"]): r for r in client.get(URL, params=self.WORLD).json()["data"]}
        assert long and all(wide[(r["country"], r["year"])][f"{r['dataset']}__flag"] == r["flag"] for r in long)

    def test_csv_has_flags_units_and_releases(self, client: TestClient) -> None:
        text = client.get(URL, params={**self.WORLD, "format": "csv"}).text
        table = pd.read_csv(io.StringIO(text), keep_default_na=False).set_index(["country_code", "year"])
        assert table.loc[("WLD", 2024), "arms-exports__flag"] == "sum_of_listed_suppliers"
        assert table.loc[("BEL", 1961), "arms-exports__flag"] == "lt_0.5m"
        columns = {c["dataset"]: c for c in client.get(URL, params=self.WORLD).json()["columns"]}
        for dataset, column in columns.items():
            assert set(table[f"{dataset}__unit"]) == {column["unit"]}
            assert set(table[f"{dataset}__release"]) == {column["release"]}

    def test_the_rule_is_in_the_openapi_document(self, client: TestClient) -> None:
        document = client.get("/openapi.json").json()
        data = document["components"]["schemas"]["TablePublic"]["properties"]["data"]["description"]
        assert "<dataset>__flag" in data and "<dataset>__unit" in data and "<dataset>__release" in data


class TestReleasePin:
    """``release=<dataset>:<release>,...`` pins a table to the releases it was read at, so it can be reproduced."""

    def test_a_table_is_reproduced_at_its_releases_after_a_new_load(self, fresh_url: str) -> None:
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            before = client.get(URL, params={**BOTH, "shape": "wide"}).json()
            pin = ",".join(f"{c['dataset']}:{c['release']}" for c in before["columns"])
            engine = make_engine(fresh_url)
            with transaction(engine) as session:
                ingest_file(session, "arms-exports", SIPRI_FILE.read_bytes(), origin="new.csv", replace=True)
            engine.dispose()
            client.app.state.tivcast.catalog.invalidate()  # type: ignore[attr-defined]
            current = client.get(URL, params={**BOTH, "shape": "wide"}).json()
            assert current["columns"][0]["release"] != before["columns"][0]["release"]  # the new load is current
            pinned = client.get(URL, params={**BOTH, "shape": "wide", "release": pin})
            assert pinned.status_code == 200, pinned.text
            assert pinned.json() == before
            half = client.get(URL, params={**BOTH, "release": f"arms-exports:{before['columns'][0]['release']}"})
            assert [c["release"] for c in half.json()["columns"]] == [
                before["columns"][0]["release"], current["columns"][1]["release"]
            ]  # a dataset not pinned is read at its current release

    @pytest.mark.parametrize(
        ("release", "says"),
        [
            ("milex-current-usd:sipri-milex-2025", "not among the datasets asked for"),
            ("arms-exports", "is not <dataset>:<release>"),
            ("arms-exports:", "is not <dataset>:<release>"),
            ("arms-exports:a,arms-exports:b", "pinned twice"),
            (",", "name at least one"),
        ],
    )
    def test_a_bad_pin_is_a_422_naming_release(self, client: TestClient, release: str, says: str) -> None:
        response = client.get(URL, params={**BOTH, "release": release})
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "release" and says in response.json()["detail"]

    def test_an_unknown_release_is_a_404_naming_release_as_on_the_dataset_route(self, client: TestClient) -> None:
        response = client.get(URL, params={**BOTH, "release": "arms-exports:nope"})
        assert response.status_code == 404
        assert response.json()["errors"][0]["field"] == "release" and "'nope'" in response.json()["detail"]
        single = client.get("/v1/datasets/arms-exports/observations", params={"release": "nope"})
        assert single.status_code == 404 and single.json()["errors"][0]["field"] == "release"
        shares = client.get("/v1/arms-exports/shares", params={"release": "nope"})
        assert shares.status_code == 404 and shares.json()["errors"][0]["field"] == "release"


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
