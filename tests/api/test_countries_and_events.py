"""GET /v1/countries and GET /v1/policy-events."""

from __future__ import annotations

from fastapi.testclient import TestClient


class TestCountries:
    def test_lists_iso3_codes_with_names(self, client: TestClient) -> None:
        body = client.get("/v1/countries").json()
        by_code = {c["code"]: c for c in body["data"]}
        assert by_code["JPN"]["name"] == "Japan"
        assert by_code["WLD"]["entity_type"] == "world_total"
        assert all(len(code) == 3 for code in by_code)

    def test_one_country_case_insensitive(self, client: TestClient) -> None:
        assert client.get("/v1/countries/kor").json()["code"] == "KOR"

    def test_unknown_country_is_a_404(self, client: TestClient) -> None:
        response = client.get("/v1/countries/QQQ")
        assert response.status_code == 404
        assert "QQQ" in response.json()["detail"]


class TestPolicyEvents:
    def test_timeline_with_regimes_and_sources(self, client: TestClient) -> None:
        events = client.get("/v1/policy-events").json()["data"]
        by_date = {e["date"]: e for e in events}
        assert by_date["2014-04-01"]["regime"] == "transfer_principles_2014"
        assert by_date["2023-12-22"]["regime"] == "transfer_principles_revised_2023"
        assert all(e["sources"] for e in events)
        assert [e["date"] for e in events] == sorted(e["date"] for e in events)

    def test_filter_by_category_and_years(self, client: TestClient) -> None:
        events = client.get("/v1/policy-events", params={"category": "policy", "start": 2010}).json()["data"]
        assert events
        assert all(e["category"] == "policy" and e["date"] >= "2010" for e in events)
