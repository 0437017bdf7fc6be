"""Each dataset takes only its own data: the SIPRI tables of its direction, values within its descriptor's
constraints, its countries, a world total where its source has one, a whole source_release. Every refusal is
a 422 naming the line and column, and changes nothing."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import InvalidFile, InvalidParameter
from api.settings import Settings
from tests import helpers
from tests.helpers import checksum, run_cli

DATA = Path(__file__).resolve().parents[2] / "api" / "data"
SHIPPED = DATA / "arms-exports.csv"
SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
HEADER = "country_code,year,value,flag,source_release\n"
SERIES = (
    "arms-exports",
    "milex-constant-usd",
    "milex-current-usd",
    "milex-share-gdp",
    "japan-defence-budget",
    "japan-defence-budget-headline",
)


def line_of(data: bytes, start: bytes) -> int:
    """The 1-based line of ``data`` that starts with ``start``."""
    return next(n for n, line in enumerate(data.split(b"\n"), start=1) if line.startswith(start))


# The shared loader (origin "test.csv") with ``replace`` on: these files need not be as large as the current release.
ingest = partial(helpers.ingest, replace=True)


def refused(url: str, dataset: str, data: bytes) -> InvalidFile:
    """The 422 for ``data``; the database is unchanged."""
    before = checksum(url)
    with pytest.raises(InvalidFile) as caught:
        ingest(url, data, dataset=dataset)
    assert checksum(url) == before
    return caught.value


SIPRI_IMPORTS = (
    SIPRI_FILE.read_bytes()
    .replace(b"Exports by,", b"Imports by,")
    .replace(b"Total world export", b"Total world import")
    .replace(b"United States,", b"India,")
)


class TestEachDatasetTakesItsOwnLayouts:
    @pytest.mark.parametrize("header", [b"Imports by", b"Recipient"])
    def test_a_sipri_imports_table_is_not_arms_exports(self, fresh_url: str, header: bytes) -> None:
        error = refused(fresh_url, "arms-exports", SIPRI_IMPORTS.replace(b"Imports by,", header + b","))
        assert (error.line, error.column) == (9, header.decode())
        assert "imports" in error.detail and "'Exports by' or 'Supplier'" in error.detail

    def test_a_sipri_supplier_table_is_arms_exports(self, fresh_url: str) -> None:
        supplier = SIPRI_FILE.read_bytes().replace(b"Exports by,", b"Supplier,")
        result = ingest(fresh_url, supplier, dataset="arms-exports")
        assert result.created and result.release_id == "sipri-2025-03-10"

    @pytest.mark.parametrize("dataset", [d for d in SERIES if d != "arms-exports"])
    def test_a_sipri_tiv_table_is_refused_by_every_other_series(self, fresh_url: str, dataset: str) -> None:
        error = refused(fresh_url, dataset, SIPRI_FILE.read_bytes())
        assert (error.line, error.column) == (9, "Exports by")
        assert f"{dataset} takes only tivcast's long CSV" in error.detail


class TestTheDescriptorsConstraints:
    def test_tiv_values_are_not_a_share_of_gdp(self, fresh_url: str) -> None:
        error = refused(fresh_url, "milex-share-gdp", SHIPPED.read_bytes())
        assert (error.line, error.column) == (2, "value")  # ARE 1974 = 8: 800 % of GDP
        assert "above 1" in error.detail and "fraction of GDP" in error.detail

    def test_a_share_above_one_is_refused_at_its_line(self, fresh_url: str) -> None:
        shipped = (DATA / "milex-share-gdp.csv").read_bytes()
        typo = shipped.replace(b"\nUSA,2023,0.033044416375979976,", b"\nUSA,2023,3.3044416375979976,")
        error = refused(fresh_url, "milex-share-gdp", typo)
        assert (error.line, error.column) == (line_of(typo, b"USA,2023,"), "value")

    def test_the_japan_budget_takes_japan_only(self, fresh_url: str) -> None:
        for dataset in ("japan-defence-budget", "japan-defence-budget-headline"):
            error = refused(fresh_url, dataset, SHIPPED.read_bytes())  # 27 suppliers of TIV
            assert (error.line, error.column) == (2, "country_code"), dataset
            assert f"ARE: {dataset} has values for JPN only" in error.detail
        budget = (DATA / "japan-defence-budget.csv").read_bytes()
        error = refused(fresh_url, "japan-defence-budget", budget + b"KOR,2024,100,,mod-wp-2024\n")
        assert (error.line, error.column) == (len(budget.splitlines()) + 1, "country_code")

    def test_a_revised_japan_budget_loads(self, fresh_url: str) -> None:
        budget = (DATA / "japan-defence-budget.csv").read_bytes()
        revised = budget.replace(b"JPN,2002,49557,", b"JPN,2002,49560,")
        assert ingest(fresh_url, revised, dataset="japan-defence-budget").created

    @pytest.mark.parametrize("dataset", SERIES)
    def test_every_shipped_series_passes_its_own_rules(self, fresh_url: str, dataset: str) -> None:
        result = ingest(fresh_url, (DATA / f"{dataset}.csv").read_bytes(), dataset=dataset)
        assert (result.created, result.current, result.replaced) == (False, True, None)


class TestSourceRelease:
    def test_a_file_cut_off_inside_its_last_column_is_refused(self, fresh_url: str) -> None:
        shipped = SHIPPED.read_bytes().rstrip(b"\n")
        cut = shipped[: shipped.rindex(b"sipri-at-2025") + 1]  # "ZAF,2024,27,,s"
        error = refused(fresh_url, "arms-exports", cut)
        assert (error.line, error.column) == (len(cut.splitlines()), "source_release")
        assert "'s'" in error.detail and "cut off" in error.detail

    def test_the_review_s_line(self, fresh_url: str) -> None:
        data = SHIPPED.read_bytes().replace(b"\nGBR,2022,1665,,sipri-at-2024", b"\nGBR,2022,1665,,s")
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (line_of(data, b"GBR,2022,"), "source_release")

    @pytest.mark.parametrize("name", ["sipri-at-2026", "sipri-2026-03-09", "mod-wp-2026", "mof-draft-fy2027"])
    def test_source_release_names_like_the_shipped_ones_load(self, fresh_url: str, name: str) -> None:
        data = f"{HEADER}JPN,2024,21,,{name}\nWLD,2024,29300,,{name}\n".encode()
        assert ingest(fresh_url, data, dataset="arms-exports").created


class TestWorldTotalsRequired:
    def test_a_sipri_table_without_its_world_total(self, fresh_url: str) -> None:
        data = b"\n".join(line for line in SIPRI_FILE.read_bytes().split(b"\n") if not line.startswith(b"Total world"))
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (10, "2020")  # United States, the first value of 2020
        assert "no world total (WLD row) for 2020" in error.detail

    def test_a_long_file_without_a_year_s_world_total_names_that_year(self, fresh_url: str) -> None:
        data = f"{HEADER}WLD,2023,29104,,\nJPN,2023,13,,\nJPN,2024,21,,\nKOR,2024,964,,\n".encode()
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (4, "country_code")
        assert "for 2024" in error.detail and "every year of the file" in error.detail

    def test_the_shipped_data_without_one_year_s_world_total(self, fresh_url: str) -> None:
        """Accepted before: that year's shares came back empty and its forecasts failed."""
        dropped = b"\n".join(line for line in SHIPPED.read_bytes().split(b"\n") if not line.startswith(b"WLD,2022,"))
        error = refused(fresh_url, "arms-exports", dropped)
        assert (error.line, error.column) == (line_of(dropped, b"ARE,2022,"), "country_code")
        assert "for 2022" in error.detail

    def test_military_expenditure_at_constant_prices_needs_sipri_s_world_total_from_1988(self, fresh_url: str) -> None:
        name = "sipri-milex-2026"
        rows = [f"JPN,{y},{40000 + y},,{name}" for y in (1987, 1990, 1991, 1992)]
        rows.append(f"WLD,1990,1000000,,{name}")
        error = refused(fresh_url, "milex-constant-usd", (HEADER + "\n".join(rows) + "\n").encode())
        assert (error.line, error.column) == (5, "country_code")  # 1992; 1987 and 1991 have no SIPRI total
        assert "for 1992" in error.detail and "from 1988 but 1991" in error.detail
        rows.append(f"WLD,1992,1000000,,{name}")
        assert ingest(fresh_url, (HEADER + "\n".join(rows) + "\n").encode(), dataset="milex-constant-usd").created

    def test_military_expenditure_at_current_prices_needs_none(self, fresh_url: str) -> None:
        """SIPRI's current-price world total exists for its newest year only (the shipped 2024 row)."""
        data = f"{HEADER}JPN,2023,50000,,sipri-milex-2026\nJPN,2024,55000,,sipri-milex-2026\n".encode()
        assert ingest(fresh_url, data, dataset="milex-current-usd").created


class TestWhichLineIsWrong:
    def test_a_world_total_typo_is_reported_at_the_world_total(self, fresh_url: str) -> None:
        data = SHIPPED.read_bytes().replace(b"\nWLD,2023,29104,", b"\nWLD,2023,100,")
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (line_of(data, b"WLD,2023,"), "value")
        assert "world total for 2023 looks wrong" in error.detail and "USA = 11287" in error.detail

    def test_in_sipri_s_layout_too(self, fresh_url: str) -> None:
        data = SIPRI_FILE.read_bytes().replace(b",29104,29300,", b",100,29300,")
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (14, "2023")

    def test_a_dropped_digit_in_the_world_total_of_a_short_table_is_the_world_total_s(self, fresh_url: str) -> None:
        # five countries: the others fit under 2,910, but 2,910 is a tenth of the years beside it and the USA's
        # 11,287 is in line with its own; the world total is the line to fix
        data = SIPRI_FILE.read_bytes().replace(b",29104,29300,", b",2910,29300,")
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (14, "2023")
        assert "world total for 2023 looks wrong" in error.detail

    def test_a_year_s_sum_of_listed_suppliers_cannot_be_below_the_countries(self, fresh_url: str) -> None:
        # 2024's world total is tivcast's sum of the 44 suppliers SIPRI listed: the file's countries are some of
        # them, so their sum cannot exceed it (Japan 21 -> 20,000 made Japan and the USA 117 % of the world)
        data = SHIPPED.read_bytes().replace(b"\nJPN,2024,21,", b"\nJPN,2024,20000,")
        assert data != SHIPPED.read_bytes()
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (line_of(data, b"WLD,2024,"), "value")
        assert "the sum of the suppliers SIPRI listed for 2024" in error.detail
        assert "JPN = 20000" in error.detail  # the largest contributors are named, the typo among them

    def test_a_country_typo_is_still_reported_at_the_country(self, fresh_url: str) -> None:
        data = SHIPPED.read_bytes().replace(b"\nJPN,2023,13,,", b"\nJPN,2023,130000,,")
        error = refused(fresh_url, "arms-exports", data)
        assert (error.line, error.column) == (line_of(data, b"JPN,2023,"), "value")
        assert "JPN 2023 = 130000 is above the world total" in error.detail


class TestWording:
    def test_the_dataset_kind_takes_its_article(self, fresh_url: str) -> None:
        with pytest.raises(InvalidParameter) as events:
            ingest(fresh_url, b"x", dataset="policy-events")
        assert "'policy-events' is an events dataset" in events.value.detail
        with pytest.raises(InvalidParameter) as table:
            ingest(fresh_url, b"x", dataset="japan-export-deals")
        assert "'japan-export-deals' is a table dataset" in table.value.detail

    def test_a_loaded_release_s_citation_says_when_it_was_loaded(self, fresh_url: str) -> None:
        ingest(fresh_url, SIPRI_FILE.read_bytes(), dataset="arms-exports")
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            dataset = client.get("/v1/datasets/arms-exports").json()
        loaded = dataset["release"]["loaded_at"][:10]
        assert (
            "release 'sipri-2025-03-10' (data generated 2025-03-10), loaded into tivcast from the file 'test.csv' "
            f"on {loaded}." in dataset["citation"]
        )


class TestRetrievedDate:
    @pytest.mark.parametrize("value", ["notadate", "2026-13-45", "20260101", "2026-W01-1", ""])
    def test_the_cli_says_retrieved_must_be_a_date(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch, value: str
    ) -> None:
        before = checksum(fresh_url)
        args = ["ingest", str(SIPRI_FILE), "--dataset", "arms-exports", "--replace", "--retrieved", value]
        result = run_cli(fresh_url, monkeypatch, *args)
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "Traceback" not in result.output
        assert f"error: --retrieved must be YYYY-MM-DD (a real date), not {value!r}" in (
            result.output
        )
        assert checksum(fresh_url) == before

    def test_a_real_date_is_stored(self, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        args = ["ingest", str(SIPRI_FILE), "--dataset", "arms-exports", "--replace", "--retrieved", "2025-04-01"]
        assert run_cli(fresh_url, monkeypatch, *args).exit_code == 0
        with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
            assert client.get("/v1/datasets/arms-exports").json()["release"]["retrieved"] == "2025-04-01"
