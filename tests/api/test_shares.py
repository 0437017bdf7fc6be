"""GET /v1/arms-exports/shares, checked against published 2024 figures."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from fastapi.testclient import TestClient

URL = "/v1/arms-exports/shares"


def share(client: TestClient, country: str, year: int) -> dict[str, object]:
    rows = client.get(URL, params={"country": country, "start": year, "end": year}).json()["data"]
    assert len(rows) == 1
    return rows[0]


class TestPublished2024Figures:
    """SIPRI Fact Sheet figures: Japan about 0.1%, South Korea about 3.3%, China about 3.9% of 2024 exports.

    SIPRI published no 2024 world total; tivcast divides by the sum of the 44 suppliers listed for
    2024, a lower bound, so its shares can sit slightly above the published ones (South Korea: 964
    against a total of 28,671 is 3.36%, where the published figure implies a total near 29,200)."""

    @pytest.mark.parametrize(("country", "published", "tiv"), [("JPN", 0.1, 21), ("KOR", 3.3, 964), ("CHN", 3.9, 1131)])
    def test_share_matches_the_published_figure_to_its_precision(
        self, client: TestClient, country: str, published: float, tiv: int
    ) -> None:
        row = share(client, country, 2024)
        assert row["tiv"] == tiv
        assert row["world_basis"] == "sum_of_listed_suppliers"
        assert abs(float(row["share"]) - published) <= 0.1  # type: ignore[arg-type]
        assert float(row["share"]) >= published - 0.05  # type: ignore[arg-type]  # lower-bound denominator

    def test_japan_rounds_to_the_published_one_decimal(self, client: TestClient) -> None:
        assert round(float(share(client, "JPN", 2024)["share"]), 1) == 0.1  # type: ignore[arg-type]


class TestShares:
    def test_up_to_2023_the_denominator_is_sipris_world_total(self, client: TestClient) -> None:
        row = share(client, "USA", 2023)
        assert row["world_basis"] == "sipri_world_total"
        assert row["share"] == pytest.approx(100 * float(row["tiv"]) / float(row["world_tiv"]), rel=1e-6)  # type: ignore[arg-type]

    def test_five_year_totals(self, client: TestClient) -> None:
        body = client.get(URL, params={"country": "KOR", "window": 5, "start": 2015, "end": 2024}).json()
        assert [r["period"] for r in body["data"]] == ["2015-2019", "2020-2024"]
        recent = body["data"][1]
        yearly = client.get(URL, params={"country": "KOR", "start": 2020, "end": 2024}).json()["data"]
        assert recent["tiv"] == sum(r["tiv"] for r in yearly)
        assert recent["world_basis"] == "mixed"

    def test_window_must_be_1_or_5(self, client: TestClient) -> None:
        response = client.get(URL, params={"country": "JPN", "window": 3})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "window"

    def test_unknown_country_is_a_404(self, client: TestClient) -> None:
        assert client.get(URL, params={"country": "ZZZ"}).status_code == 404

    def test_shares_revalidate_with_etag(self, client: TestClient) -> None:
        first = client.get(URL, params={"country": "JPN"})
        assert (
            client.get(URL, params={"country": "JPN"}, headers={"If-None-Match": first.headers["etag"]}).status_code
            == 304
        )


class TestWindowBasis:
    """A period's denominator is the same for every country asked for, whatever their order (issue 11.2)."""

    @pytest.mark.parametrize("countries", ["USA,JPN", "JPN,USA", "USA,JPN,KOR,CHN"])
    def test_every_country_of_a_period_has_the_periods_basis(self, client: TestClient, countries: str) -> None:
        params = {"country": countries, "window": 5, "start": 2010, "end": 2024}
        rows = client.get(URL, params=params).json()["data"]
        bases = {(r["period"], r["country"]): r["world_basis"] for r in rows}
        assert len(bases) == 3 * len(countries.split(","))
        for code in countries.split(","):
            assert bases[("2010-2014", code)] == "sipri_world_total"
            assert bases[("2015-2019", code)] == "sipri_world_total"
            assert bases[("2020-2024", code)] == "mixed"  # 2024's denominator is the sum of listed suppliers

    def test_a_countrys_row_does_not_depend_on_its_companions(self, client: TestClient) -> None:
        params = {"window": 5, "start": 2010, "end": 2024}
        alone = client.get(URL, params={**params, "country": "JPN"}).json()["data"]
        behind = [
            r for r in client.get(URL, params={**params, "country": "USA,JPN"}).json()["data"] if r["country"] == "JPN"
        ]
        assert alone == behind


class TestWindowsExplicit:
    """Issue 11.12: the window rule is documented and a range without a complete window says so."""

    @pytest.mark.parametrize(("start", "end"), [(2022, 2024), (2020, 2023), (2024, 2024)])
    def test_a_range_without_a_complete_window_is_a_422_saying_so(
        self, client: TestClient, start: int, end: int
    ) -> None:
        response = client.get(URL, params={"country": "JPN", "window": 5, "start": start, "end": end})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["errors"][0]["field"] == "window"
        assert "no complete 5-year window" in body["detail"] and "counted back from end" in body["detail"]

    def test_windows_are_counted_back_from_end_leaving_a_partial_start_out(self, client: TestClient) -> None:
        rows = client.get(URL, params={"country": "JPN", "window": 5, "start": 2012, "end": 2024}).json()["data"]
        assert [r["period"] for r in rows] == ["2015-2019", "2020-2024"]
        rows = client.get(URL, params={"country": "JPN", "window": 5, "start": 2010, "end": 2023}).json()["data"]
        assert [r["period"] for r in rows] == ["2014-2018", "2019-2023"]

    def test_the_rule_is_in_the_openapi_document(self, client: TestClient) -> None:
        operation = client.get("/openapi.json").json()["paths"][URL]["get"]
        window = next(p for p in operation["parameters"] if p["name"] == "window")
        assert "counted back" in window["description"] and window["schema"]["enum"] == [1, 5]
        assert "complete five-year periods counted back" in operation["description"]

    def test_the_default_end_is_the_last_year_with_a_denominator_as_documented(self, client: TestClient) -> None:
        rows = client.get(URL, params={"country": "JPN", "window": 5}).json()["data"]
        assert (rows[-1]["period"], rows[-1]["world_basis"]) == ("2020-2024", "mixed")
        assert rows == client.get(URL, params={"country": "JPN", "window": 5, "end": 2024}).json()["data"]
        sipri_only = client.get(URL, params={"country": "JPN", "window": 5, "end": 2023}).json()["data"]
        assert (sipri_only[-1]["period"], sipri_only[-1]["world_basis"]) == ("2019-2023", "sipri_world_total")
        operation = client.get("/openapi.json").json()["paths"][URL]["get"]
        window = next(p for p in operation["parameters"] if p["name"] == "window")["description"]
        assert "for 2024, the sum of the suppliers SIPRI lists" in window and "end=2024 (the default)" in window

    def test_yearly_shares_of_an_empty_range_are_an_empty_list(self, client: TestClient) -> None:
        body = client.get(URL, params={"country": "JPN", "start": 1950, "end": 1953}).json()
        assert body["data"] == [] and body["count"] == 0  # JPN has no value before 1954: no row invented


class TestYearsWithoutDeliveries:
    """SIPRI's empty cell after a country's first reported year is no deliveries identified: a row with tiv 0 and
    share 0, flagged ``absent_read_as_zero`` (as the forecasting panel reads it); before that year, no row."""

    def test_an_empty_cell_after_the_first_report_is_a_flagged_zero(self, client: TestClient) -> None:
        rows = client.get(URL, params={"country": "JPN", "start": 2019, "end": 2022}).json()["data"]
        assert [r["period"] for r in rows] == ["2019", "2020", "2021", "2022"]  # was an empty 200
        for row in rows:
            assert (row["tiv"], row["share"], row["years_with_data"]) == (0, 0, 0)
            assert row["flag"] == "absent_read_as_zero"
            assert float(row["world_tiv"]) > 0 and row["world_basis"] == "sipri_world_total"  # type: ignore[arg-type]

    def test_a_reported_value_keeps_its_flag(self, client: TestClient) -> None:
        bel = share(client, "BEL", 1961)  # SIPRI printed 0: under 0.5 million TIV, not no deliveries
        assert (bel["tiv"], bel["share"], bel["years_with_data"], bel["flag"]) == (0, 0, 1, "lt_0.5m")
        assert share(client, "USA", 2023)["flag"] is None

    def test_years_before_the_first_report_stay_absent(self, client: TestClient) -> None:
        rows = client.get(URL, params={"country": "RUS", "start": 1988, "end": 1993}).json()["data"]
        assert [r["period"] for r in rows] == ["1992", "1993"]  # Russia starts in 1992
        assert client.get(URL, params={"country": "JPN", "start": 1950, "end": 1954}).json()["data"][0]["period"] \
            == "1954"

    def test_a_supplier_missing_from_a_listed_sum_is_unknown_not_zero(self, client: TestClient) -> None:
        """2024's denominator is the sum of the suppliers SIPRI's extract lists; Belarus is not among them."""
        rows = client.get(URL, params={"country": "BLR", "start": 2023, "end": 2024}).json()["data"]
        assert [r["period"] for r in rows] == ["2023"]

    def test_country_all_has_the_zero_rows(self, client: TestClient) -> None:
        rows = client.get(URL, params={"country": "all", "start": 2019, "end": 2022}).json()["data"]
        japan = [r for r in rows if r["country"] == "JPN"]
        assert japan == client.get(URL, params={"country": "JPN", "start": 2019, "end": 2022}).json()["data"]
        by_year: dict[str, set[str]] = {}
        for row in rows:
            by_year.setdefault(str(row["period"]), set()).add(str(row["country"]))
        assert len({frozenset(c) for c in by_year.values()}) == 1  # every supplier in every year, zero or not
        assert {"IRN", "JPN"} <= {str(r["country"]) for r in rows if r["flag"] == "absent_read_as_zero"}

    def test_windows_agree_with_the_yearly_rows(self, client: TestClient) -> None:
        params = {"country": "JPN,IRN,USA", "start": 2010, "end": 2024}
        windows = client.get(URL, params={**params, "window": 5}).json()["data"]
        yearly = client.get(URL, params=params).json()["data"]
        assert len(windows) == 9
        for w in windows:
            years = [r for r in yearly if r["country"] == w["country"] and w["start"] <= r["start"] <= w["end"]]
            assert w["tiv"] == sum(r["tiv"] for r in years)
            assert w["years_with_data"] == sum(r["years_with_data"] for r in years)
            assert (w["flag"] == "absent_read_as_zero") == any(r["flag"] == "absent_read_as_zero" for r in years)
        assert {w["flag"] for w in windows if w["country"] == "USA"} == {None}

    def test_csv_carries_the_flag_column(self, client: TestClient) -> None:
        def rows(country: str, year: int) -> list[dict[str, str]]:
            params = {"country": country, "start": year, "end": year, "format": "csv"}
            return list(csv.DictReader(io.StringIO(client.get(URL, params=params).text)))

        [japan], [belgium] = rows("JPN", 2016), rows("BEL", 1961)
        assert (japan["tiv"], japan["share"], japan["years_with_data"], japan["flag"]) == \
            ("0", "0", "0", "absent_read_as_zero")
        assert (belgium["tiv"], belgium["years_with_data"], belgium["flag"]) == ("0", "1", "lt_0.5m")

    def test_the_rule_is_in_the_openapi_document(self, client: TestClient) -> None:
        document = client.get("/openapi.json").json()
        description = document["paths"][URL]["get"]["description"]
        assert "absent_read_as_zero" in description and "first reported year" in description
        assert "lt_0.5m" in document["components"]["schemas"]["SharePublic"]["properties"]["flag"]["description"]


class TestUnknownIsNotZero:
    """A supplier missing from 2024's sum of listed suppliers (Belarus) has no 2024 value: unknown, not zero. Neither
    its 2024 row nor a five-year window holding 2024 is served; ``omitted`` (CSV: a ``note``) says which and why."""

    PARAMS = {"country": "BLR", "window": 5, "start": 2015, "end": 2024}

    def test_a_window_holding_the_unknown_year_is_not_served_as_if_zero(self, client: TestClient) -> None:
        body = client.get(URL, params=self.PARAMS).json()
        assert [r["period"] for r in body["data"]] == ["2015-2019"]  # 2020-2024 was tiv 264 over 2020-2023 only
        assert body["count"] == 1
        [omitted] = body["omitted"]
        assert {k: omitted[k] for k in ("country", "period", "start", "end", "unknown_years")} == {
            "country": "BLR", "period": "2020-2024", "start": 2020, "end": 2024, "unknown_years": [2024]
        }
        assert "unknown, not zero" in omitted["reason"] and "sum_of_listed_suppliers" in omitted["reason"]

    def test_windows_follow_the_yearly_rule(self, client: TestClient) -> None:
        yearly = client.get(URL, params={"country": "BLR", "start": 2020, "end": 2024}).json()
        assert [r["period"] for r in yearly["data"]] == ["2020", "2021", "2022", "2023"]
        assert [(o["period"], o["unknown_years"]) for o in yearly["omitted"]] == [("2024", [2024])]
        windows = client.get(URL, params={"country": "BLR", "window": 5, "start": 2020, "end": 2024}).json()
        assert windows["data"] == [] and [o["period"] for o in windows["omitted"]] == ["2020-2024"]

    def test_a_listed_supplier_beside_it_keeps_its_window(self, client: TestClient) -> None:
        body = client.get(URL, params={**self.PARAMS, "country": "BLR,KOR"}).json()
        assert [(r["country"], r["period"]) for r in body["data"]] == [
            ("BLR", "2015-2019"), ("KOR", "2015-2019"), ("KOR", "2020-2024")
        ]
        assert [(o["country"], o["period"]) for o in body["omitted"]] == [("BLR", "2020-2024")]
        assert client.get(URL, params={**self.PARAMS, "country": "KOR"}).json()["omitted"] == []

    def test_sipris_own_totals_give_belarus_its_last_window(self, client: TestClient) -> None:
        body = client.get(URL, params={**self.PARAMS, "start": 2014, "end": 2023}).json()
        assert [r["period"] for r in body["data"]] == ["2014-2018", "2019-2023"] and body["omitted"] == []
        assert body["data"][-1]["world_basis"] == "sipri_world_total"

    def test_csv_names_what_was_left_out_in_a_note(self, client: TestClient) -> None:
        table = pd.read_csv(io.StringIO(client.get(URL, params={**self.PARAMS, "format": "csv"}).text))
        assert list(table["period"]) == ["2015-2019"]
        assert "no share for BLR 2020-2024" in table["note"][0] and "unknown" in table["note"][0]
        only = pd.read_csv(io.StringIO(client.get(URL, params={**self.PARAMS, "start": 2020, "format": "csv"}).text))
        assert len(only) == 1 and only["period"].isna().all() and "BLR 2020-2024" in only["note"][0]
        plain = client.get(URL, params={**self.PARAMS, "country": "KOR", "format": "csv"}).text
        assert "note" not in plain.splitlines()[0]  # nothing left out: the columns as before

    def test_the_rule_is_in_the_openapi_document(self, client: TestClient) -> None:
        document = client.get("/openapi.json").json()
        omitted = document["components"]["schemas"]["ShareListPublic"]["properties"]["omitted"]
        assert "unknown" in omitted["description"] and "note" in omitted["description"]
        assert "Unknown is not zero" in document["paths"][URL]["get"]["description"]
        window = next(p for p in document["paths"][URL]["get"]["parameters"] if p["name"] == "window")
        assert "omitted" in window["description"]


class TestNoWindowMessage:
    """The 422 for a range without a complete window describes the request as it was made."""

    @pytest.mark.parametrize(
        ("params", "says"),
        [
            ({"start": 2023}, "from start=2023 to the last year with a denominator (2024)"),
            ({"end": 1952}, "from the first year with a denominator (1950) to end=1952"),
            ({"start": 2021, "end": 2023}, "from start=2021 to end=2023"),
        ],
    )
    def test_it_names_what_was_given_and_what_defaulted(
        self, client: TestClient, params: dict[str, int], says: str
    ) -> None:
        response = client.get(URL, params={"country": "JPN", "window": 5, **params})
        assert response.status_code == 422
        detail = response.json()["detail"]
        assert says in detail and "no complete 5-year window" in detail
        assert "first year," not in detail and "last year holds" not in detail

    @pytest.mark.parametrize(
        ("params", "says"),
        [
            ({"start": 2030}, "from start=2030 to the data's last year holds no year with a denominator"),
            ({"start": 2025}, "from start=2025 to the data's last year holds no year with a denominator"),
            ({"end": 1940}, "from the data's first year to end=1940 holds no year with a denominator"),
        ],
    )
    def test_one_bound_beyond_every_denominator_is_a_422_not_a_500(
        self, client: TestClient, params: dict[str, int], says: str
    ) -> None:
        response = client.get(URL, params={"window": 5, **params})
        assert response.status_code == 422, response.text
        assert says in response.json()["detail"]
