"""Checks over the curated data shipped in api/data (never the reference data in ../shared)."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "api" / "data"
SERIES_HEADER = ["country_code", "year", "value", "flag", "source_release"]
META_KEYS = {"kind", "unit", "unit_label", "measure", "release", "coverage", "citation", "terms", "gaps", "caveats"}


def load_package() -> dict[str, Any]:
    descriptor: dict[str, Any] = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    return descriptor


def read_rows(name: str) -> list[dict[str, str]]:
    with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def read_header(name: str) -> list[str]:
    with (DATA / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


PACKAGE = load_package()
RESOURCES = {r["name"]: r for r in PACKAGE["resources"]}
SERIES = sorted(name for name, r in RESOURCES.items() if r["tivcast"]["kind"] == "series")
EXPECTED = {
    "countries",
    "arms-exports",
    "milex-constant-usd",
    "milex-current-usd",
    "milex-share-gdp",
    "japan-defence-budget",
    "japan-defence-budget-headline",
    "japan-export-deals",
    "japan-export-pipeline",
    "japan-buildup-plan",
    "policy-events",
    "policy-regimes",
}


def series_values(name: str) -> dict[tuple[str, int], dict[str, str]]:
    return {(r["country_code"], int(r["year"])): r for r in read_rows(name)}


class TestPackage:
    def test_descriptor_identity(self) -> None:
        assert PACKAGE["profile"] == "data-package"
        assert PACKAGE["name"] == "tivcast-curated"
        assert PACKAGE["licenses"]
        assert PACKAGE["contributors"]
        assert PACKAGE["created"]

    def test_resources_are_the_expected_set(self) -> None:
        assert set(RESOURCES) == EXPECTED
        assert {p.stem for p in DATA.glob("*.csv")} == EXPECTED

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_hash_and_size_match_file(self, name: str) -> None:
        resource = RESOURCES[name]
        data = (DATA / resource["path"]).read_bytes()
        assert resource["hash"] == f"sha256:{hashlib.sha256(data).hexdigest()}"
        assert resource["bytes"] == len(data)

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_resource_metadata(self, name: str) -> None:
        resource = RESOURCES[name]
        assert resource["path"] == f"{name}.csv"
        assert (resource["format"], resource["mediatype"], resource["encoding"]) == ("csv", "text/csv", "utf-8")
        assert resource["sources"]
        assert all(source["title"] and source["retrieved"] for source in resource["sources"])
        assert resource["licenses"]
        assert META_KEYS <= set(resource["tivcast"])
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", resource["tivcast"]["release"]["id"])
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", resource["tivcast"]["release"]["retrieved"])

    @pytest.mark.parametrize("name", sorted(EXPECTED))
    def test_schema_fields_match_header(self, name: str) -> None:
        fields = [f["name"] for f in RESOURCES[name]["schema"]["fields"]]
        assert read_header(name) == fields
        assert len(read_rows(name)) == RESOURCES[name]["tivcast"]["rows"]


class TestSeries:
    @pytest.mark.parametrize("name", SERIES)
    def test_exact_header(self, name: str) -> None:
        assert read_header(name) == SERIES_HEADER

    @pytest.mark.parametrize("name", SERIES)
    def test_unique_and_sorted_country_year(self, name: str) -> None:
        keys = [(r["country_code"], int(r["year"])) for r in read_rows(name)]
        assert len(keys) == len(set(keys))
        assert keys == sorted(keys)

    @pytest.mark.parametrize("name", SERIES)
    def test_countries_are_known(self, name: str) -> None:
        codes = {r["code"] for r in read_rows("countries")}
        assert {r["country_code"] for r in read_rows(name)} <= codes

    @pytest.mark.parametrize("name", SERIES)
    def test_no_negative_or_empty_values(self, name: str) -> None:
        assert all(Decimal(r["value"]) >= 0 for r in read_rows(name))

    @pytest.mark.parametrize("name", SERIES)
    def test_coverage_matches_rows(self, name: str) -> None:
        rows = read_rows(name)
        coverage = RESOURCES[name]["tivcast"]["coverage"]
        years = [int(r["year"]) for r in rows]
        assert coverage["countries"] == sorted({r["country_code"] for r in rows})
        assert (coverage["start"], coverage["end"]) == (min(years), max(years))
        for code, entry in coverage["by_country"].items():
            own = [int(r["year"]) for r in rows if r["country_code"] == code]
            assert (entry["start"], entry["end"], entry["rows"]) == (min(own), max(own), len(own))

    @pytest.mark.parametrize("name", SERIES)
    def test_releases_and_flags_are_documented(self, name: str) -> None:
        meta = RESOURCES[name]["tivcast"]
        rows = read_rows(name)
        assert {r["source_release"] for r in rows} <= set(meta["release"]["source_releases"])
        tokens = {token for r in rows for token in r["flag"].split(";") if token}
        assert tokens <= set(meta["flags"])


class TestArmsExports:
    @pytest.mark.parametrize(("code", "value"), [("JPN", 21), ("KOR", 964), ("CHN", 1131)])
    def test_2024_checks(self, code: str, value: int) -> None:
        row = series_values("arms-exports")[(code, 2024)]
        assert int(row["value"]) == value
        assert row["source_release"] == "sipri-at-2025"

    def test_world_2024_is_flagged_sum_of_listed_suppliers(self) -> None:
        rows = read_rows("arms-exports")
        world = series_values("arms-exports")[("WLD", 2024)]
        assert (int(world["value"]), world["flag"], world["source_release"]) == (
            28671,
            "sum_of_listed_suppliers",
            "sipri-at-2025",
        )
        assert [r for r in rows if "sum_of_listed_suppliers" in r["flag"]] == [world]
        derived = RESOURCES["arms-exports"]["tivcast"]["derived_values"]
        assert derived[0]["sipri_figure"] is False
        assert derived[0]["bound"] == "lower"

    def test_world_before_2024_is_sipri_own_total(self) -> None:
        rows = [r for r in read_rows("arms-exports") if r["country_code"] == "WLD" and r["year"] != "2024"]
        assert [int(r["year"]) for r in rows] == list(range(1950, 2024))
        assert all(r["flag"] == "" and r["source_release"] == "sipri-at-2024" for r in rows)

    def test_release_follows_year(self) -> None:
        for row in read_rows("arms-exports"):
            expected = "sipri-at-2025" if row["year"] == "2024" else "sipri-at-2024"
            assert row["source_release"] == expected

    def test_lt_half_million_flag_kept_with_value_zero(self) -> None:
        rows = read_rows("arms-exports")
        flagged = [r for r in rows if "lt_0.5m" in r["flag"].split(";")]
        assert flagged
        assert all(r["value"] == "0" for r in flagged)
        assert all("lt_0.5m" in r["flag"] for r in rows if r["value"] == "0")

    def test_supplier_set(self) -> None:
        selection = RESOURCES["arms-exports"]["tivcast"]["supplier_selection"]
        suppliers = set(selection["suppliers"])
        assert {"JPN", "KOR", "CHN"} <= suppliers
        assert len(selection["top"]) == 25
        assert {r["country_code"] for r in read_rows("arms-exports")} == suppliers | {"WLD"}

    def test_shares_of_2024_sum(self) -> None:
        values = series_values("arms-exports")
        world = int(values[("WLD", 2024)]["value"])
        shares = {code: 100 * int(values[(code, 2024)]["value"]) / world for code in ("JPN", "KOR", "CHN")}
        assert shares == pytest.approx({"JPN": 0.0732, "KOR": 3.362, "CHN": 3.945}, abs=0.001)


class TestMilex:
    def test_world_constant_converted_to_millions(self) -> None:
        world = {year: row for (code, year), row in series_values("milex-constant-usd").items() if code == "WLD"}
        assert 1991 not in world
        assert min(world) == 1988
        assert Decimal(world[2024]["value"]) == Decimal("2676513.8864674996")

    def test_world_current_only_2024(self) -> None:
        world = [key for key in series_values("milex-current-usd") if key[0] == "WLD"]
        assert world == [("WLD", 2024)]

    def test_no_world_share_of_gdp(self) -> None:
        assert all(r["country_code"] != "WLD" for r in read_rows("milex-share-gdp"))

    def test_share_is_a_fraction(self) -> None:
        assert all(Decimal(r["value"]) < 1 for r in read_rows("milex-share-gdp"))
        assert RESOURCES["milex-share-gdp"]["tivcast"]["unit"] == "fraction_of_GDP"


class TestDefenceBudget:
    def test_total_is_one_basis_and_has_no_2026(self) -> None:
        rows = read_rows("japan-defence-budget")
        assert all(r["flag"].split(";")[0] == "basis=total_incl_SACO_USrealignment" for r in rows)
        assert [int(r["year"]) for r in rows] == list(range(2002, 2026))
        assert series_values("japan-defence-budget")[("JPN", 2024)]["value"] == "79496"

    def test_headline_basis_changes_in_2023(self) -> None:
        for (_, year), row in series_values("japan-defence-budget-headline").items():
            basis = "dbp_target_expenditure" if year >= 2023 else "excl_SACO_USrealignment_etc"
            assert f"basis={basis}" in row["flag"].split(";")
        draft = series_values("japan-defence-budget-headline")[("JPN", 2026)]
        assert "government_draft" in draft["flag"].split(";")


class TestCountries:
    def test_codes_are_unique_three_letters(self) -> None:
        codes = [r["code"] for r in read_rows("countries")]
        assert len(codes) == len(set(codes))
        assert all(re.fullmatch(r"[A-Z]{3}", code) for code in codes)

    def test_names_and_aliases_unique_across_codes(self) -> None:
        owner: dict[str, str] = {}
        for row in read_rows("countries"):
            labels = [row["name"], *filter(None, row["aliases"].split("|"))]
            for label in labels:
                assert owner.setdefault(label.casefold(), row["code"]) == row["code"], label

    def test_world_and_sipri_spellings(self) -> None:
        countries = {r["code"]: r for r in read_rows("countries")}
        assert countries["WLD"]["entity_type"] == "world_total"
        assert {"Total world export", "Total world import"} <= set(countries["WLD"]["aliases"].split("|"))
        assert "Türkiye" in countries["TUR"]["aliases"].split("|")

    def test_assigned_codes_are_user_assigned(self) -> None:
        assigned = RESOURCES["countries"]["tivcast"]["assigned_codes"]
        assert all(code.startswith("X") or code == "EUU" for code in assigned)
        assert "XKX" not in assigned


class TestPolicy:
    def test_event_regimes_exist(self) -> None:
        regimes = {r["id"] for r in read_rows("policy-regimes")}
        used = {r["regime"] for r in read_rows("policy-events") if r["regime"]}
        assert used <= regimes

    def test_each_regime_opened_by_one_event(self) -> None:
        events = read_rows("policy-events")
        for regime in read_rows("policy-regimes"):
            opening = [e for e in events if e["regime"] == regime["id"]]
            if regime["id"] == "pre_principles":
                assert opening == []
            else:
                assert [e["date"] for e in opening] == [regime["opened"]]

    def test_sources_are_urls(self) -> None:
        for event in read_rows("policy-events"):
            assert all(re.fullmatch(r"https?://\S+", url) for url in event["sources"].split("|"))
