"""Dataset metadata, provenance and releases, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

SERIES = ["arms-exports", "milex-constant-usd", "milex-current-usd", "milex-share-gdp", "japan-defence-budget"]


class TestListDatasets:
    def test_lists_the_curated_datasets(self, client: TestClient) -> None:
        response = client.get("/v1/datasets")
        assert response.status_code == 200
        ids = {d["id"] for d in response.json()["data"]}
        assert {*SERIES, "policy-events", "japan-export-deals", "japan-buildup-plan"} <= ids
        assert response.json()["count"] == len(response.json()["data"])

    def test_every_dataset_carries_provenance(self, client: TestClient) -> None:
        for dataset in client.get("/v1/datasets").json()["data"]:
            assert dataset["sources"], dataset["id"]
            assert all(s["title"] for s in dataset["sources"]), dataset["id"]
            assert any(s["path"] for s in dataset["sources"]), dataset["id"]
            assert dataset["citation"], dataset["id"]
            assert dataset["release"]["release_id"], dataset["id"]
            assert dataset["release"]["retrieved"], dataset["id"]
            assert len(dataset["version"]) == 64


class TestGetDataset:
    def test_arms_exports_says_what_a_tiv_is_and_that_sipri_revises(self, client: TestClient) -> None:
        body = client.get("/v1/datasets/arms-exports").json()
        measure = body["measure"].lower()
        assert "volume" in measure
        assert "not" in measure
        assert "revis" in measure
        assert "commercial" in body["terms"].lower()
        assert "SIPRI Arms Transfers Database" in body["citation"]
        assert body["unit"]

    def test_coverage_spans_1950_to_2024_with_japan_and_the_world(self, client: TestClient) -> None:
        coverage = client.get("/v1/datasets/arms-exports").json()["coverage"]
        assert coverage["start"] == 1950
        assert coverage["end"] == 2024
        assert {"JPN", "KOR", "CHN", "USA", "WLD"} <= set(coverage["countries"])

    def test_the_2024_world_total_gap_is_stated(self, client: TestClient) -> None:
        gaps = " ".join(client.get("/v1/datasets/arms-exports").json()["gaps"]).lower()
        assert "2024" in gaps
        assert "world total" in gaps

    def test_unknown_dataset_is_a_404_problem_naming_it(self, client: TestClient) -> None:
        response = client.get("/v1/datasets/no-such-thing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 404
        assert "no-such-thing" in problem["detail"]
        assert problem["type"]
        assert problem["title"]


class TestReleases:
    def test_lists_releases_with_hash_and_dates(self, client: TestClient) -> None:
        body = client.get("/v1/datasets/arms-exports/releases").json()
        assert body["count"] >= 1
        current = [r for r in body["data"] if r["current"]]
        assert len(current) == 1
        assert len(current[0]["content_hash"]) == 64
        assert current[0]["row_count"] > 1000

    def test_version_is_the_current_release_hash(self, client: TestClient) -> None:
        dataset = client.get("/v1/datasets/arms-exports").json()
        releases = client.get("/v1/datasets/arms-exports/releases").json()["data"]
        assert dataset["version"] == next(r["content_hash"] for r in releases if r["current"])


class TestRecords:
    def test_japan_export_deals_are_served_as_records(self, client: TestClient) -> None:
        body = client.get("/v1/datasets/japan-export-deals/records").json()
        assert body["count"] == 41
        assert all(r["supplier_code"] == "JPN" for r in body["data"])

    def test_record_columns_are_typed_by_the_schema(self, client: TestClient) -> None:
        """Issue 11.11: ``"year_of_order": 1953`` and ``true``, not ``"1953"`` and ``"true"``."""
        body = client.get("/v1/datasets/japan-export-deals/records").json()
        types = {f["name"]: f["type"] for f in body["fields"]}
        assert types["year_of_order"] == "integer" and types["year_of_order_uncertain"] == "boolean"
        python = {"integer": int, "number": (int, float), "boolean": bool, "string": str}
        for row in body["data"]:
            for name, value in row.items():
                if value is not None:
                    assert isinstance(value, python[types[name]]), (name, value)  # type: ignore[arg-type]
        first = body["data"][0]
        assert first["deal_id"] == 1 and first["year_of_order"] == 1953 and first["year_of_order_uncertain"] is True
        assert first["comments"] is None  # an empty cell is null, not ""
        assert [f["name"] for f in body["fields"]] == list(first)

    def test_records_of_a_series_dataset_is_a_422(self, client: TestClient) -> None:
        response = client.get("/v1/datasets/arms-exports/records")
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "dataset_id"
        assert "/v1/datasets/arms-exports/observations" in response.json()["detail"]

    @pytest.mark.parametrize(
        ("path", "detail"),
        [
            ("/v1/datasets/policy-events/observations", "is an events dataset, not a series; its rows are at"),
            ("/v1/datasets/policy-events/records", "is an events dataset, not a table; its rows are at"),
            ("/v1/observations?dataset=policy-events", "is an events dataset, not a series; its rows are at"),
        ],
    )
    def test_the_wrong_route_for_the_events_points_to_the_one_that_works(
        self, client: TestClient, path: str, detail: str
    ) -> None:
        response = client.get(path)
        assert response.status_code == 422
        assert detail in response.json()["detail"]
        route = response.json()["detail"].split("its rows are at ")[1].split()[0]
        assert route == "/v1/policy-events" and client.get(route).status_code == 200

    def test_observations_of_a_table_point_to_its_records(self, client: TestClient) -> None:
        response = client.get("/v1/datasets/japan-export-deals/observations")
        assert response.status_code == 422
        assert "a table dataset, not a series; its rows are at /v1/datasets/japan-export-deals/records" in (
            response.json()["detail"]
        )
