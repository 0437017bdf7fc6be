"""Query shape on every data endpoint (issue 11.8): ``country=all``, repeated and unknown parameters,
one default country, known categories only, and OpenAPI's ``limit`` bounds matching the server's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

OBS = "/v1/datasets/arms-exports/observations"
SHARES = "/v1/arms-exports/shares"
DATA_GETS = [
    "/v1/datasets",
    "/v1/datasets/arms-exports",
    "/v1/datasets/arms-exports/releases",
    OBS,
    "/v1/datasets/japan-export-deals/records",
    "/v1/countries",
    "/v1/countries/JPN",
    SHARES,
    "/v1/policy-events",
    "/v1/scenarios",
    "/v1/scenarios/baseline",
]


def problem(response: object, status: int = 422) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    return body


class TestUnknownAndRepeated:
    @pytest.mark.parametrize("path", DATA_GETS)
    def test_an_unknown_parameter_is_a_422_naming_it(self, client: TestClient, path: str) -> None:
        body = problem(client.get(path, params={"countries": "JPN"}))
        assert body["errors"] and body["errors"][0]["field"] == "countries"  # type: ignore[index]
        assert "countries" in str(body["detail"])

    def test_the_typo_no_longer_returns_every_row(self, client: TestClient) -> None:
        problem(client.get(OBS, params={"countries": "JPN", "limit": 1000}))

    @pytest.mark.parametrize("path", [OBS, SHARES])
    def test_a_repeated_parameter_is_a_422_never_last_one_wins(self, client: TestClient, path: str) -> None:
        body = problem(client.get(f"{path}?country=JPN&country=KOR"))
        assert [e["field"] for e in body["errors"]] == ["country"]  # type: ignore[union-attr]
        assert "comma-separated" in str(body["detail"])

    def test_every_error_is_listed(self, client: TestClient) -> None:
        body = problem(client.get(f"{OBS}?start=2000&start=2001&yaer=2001"))
        assert {e["field"] for e in body["errors"]} == {"start", "yaer"}  # type: ignore[union-attr]


class TestCountryAll:
    def test_all_is_every_country_on_observations(self, client: TestClient) -> None:
        every = client.get(OBS, params={"start": 2023, "end": 2023, "limit": 1000}).json()
        explicit = client.get(OBS, params={"country": "all", "start": 2023, "end": 2023, "limit": 1000}).json()
        upper = client.get(OBS, params={"country": "ALL", "start": 2023, "end": 2023, "limit": 1000}).json()
        assert explicit["data"] == every["data"] == upper["data"]
        assert {r["country"] for r in explicit["data"]} >= {"JPN", "KOR", "USA", "WLD"}

    def test_all_is_every_country_on_shares_and_the_same_default(self, client: TestClient) -> None:
        default = client.get(SHARES, params={"start": 2023, "end": 2023}).json()["data"]
        every = client.get(SHARES, params={"country": "all", "start": 2023, "end": 2023}).json()["data"]
        assert default == every
        codes = {r["country"] for r in every}
        assert {"JPN", "KOR", "CHN", "USA"} <= codes
        assert "WLD" not in codes  # the world total is the denominator, not a country
        jpn = client.get(SHARES, params={"country": "JPN", "start": 2023, "end": 2023}).json()["data"]
        assert [r for r in every if r["country"] == "JPN"] == jpn

    def test_all_mixed_with_codes_is_a_422(self, client: TestClient) -> None:
        problem(client.get(OBS, params={"country": "all,JPN"}))


class TestCategories:
    def test_a_known_category_filters(self, client: TestClient) -> None:
        events = client.get("/v1/policy-events").json()["data"]
        category = events[0]["category"]
        filtered = client.get("/v1/policy-events", params={"category": category}).json()["data"]
        assert filtered == [e for e in events if e["category"] == category]

    def test_an_unknown_category_is_a_422_listing_the_known_ones(self, client: TestClient) -> None:
        body = problem(client.get("/v1/policy-events", params={"category": "polcy"}))
        assert body["errors"][0]["field"] == "category"  # type: ignore[index]
        assert "policy" in str(body["detail"])


class TestLimitInOpenApi:
    def test_the_documented_maximum_is_the_servers(self, client: TestClient) -> None:
        document = client.get("/openapi.json").json()
        limit = next(
            p
            for p in document["paths"]["/v1/datasets/{dataset_id}/observations"]["get"]["parameters"]
            if p["name"] == "limit"
        )
        maximum = next(b["maximum"] for b in limit["schema"]["anyOf"] if b.get("type") == "integer")
        assert limit["schema"]["default"] == 100
        assert client.get(OBS, params={"limit": maximum}).status_code == 200
        problem(client.get(OBS, params={"limit": maximum + 1}))


NO_KEY = "0" * 64
FORECAST_GETS = [
    "/v1/forecasts/latest?country=JPN",
    "/v1/forecasts/compare?country=JPN",
    "/v1/backtests?country=JPN",
    f"/v1/forecasts/{NO_KEY}",
    f"/v1/jobs/{NO_KEY}",
]


class TestForecastRoutes:
    """The forecast routes read their query as strictly as the data endpoints: nothing is silently ignored."""

    @pytest.mark.parametrize("path", FORECAST_GETS)
    def test_an_unknown_parameter_is_a_422_naming_it(self, client: TestClient, path: str) -> None:
        body = problem(client.get(f"{path}{'&' if '?' in path else '?'}senario=restriction"))
        assert [e["field"] for e in body["errors"]] == ["senario"]  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        "query", ["country=JPN&country=KOR", "country=JPN&scenario=baseline&scenario=restriction"]
    )
    def test_a_repeated_parameter_is_a_422_never_last_one_wins(self, client: TestClient, query: str) -> None:
        body = problem(client.get(f"/v1/forecasts/latest?{query}"))
        assert "more than once" in str(body["detail"])

    def test_posting_a_forecast_takes_no_query_parameters(self, client: TestClient) -> None:
        request = {"target": {"country": "JPN", "measure": "share"}, "scenario": "baseline"}
        body = problem(client.post("/v1/forecasts?scenario=restriction", json=request))
        assert body["errors"][0]["field"] == "scenario"  # type: ignore[index]
        assert "takes none" in str(body["detail"])
