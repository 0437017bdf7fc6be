"""Build tivcast's curated package data (``api/data/``) from the reference data.

Dev-time only: the app ships ``api/data`` and never reads the reference data at run time.

    python scripts/curate_data.py [--source DIR] [--out DIR] [--created ISO-DATETIME]

Reads the CSVs described in ``SOURCES.md`` (default ``../shared/reference-data`` relative to the
repository root) and writes the curated CSVs plus a Frictionless ``datapackage.json``. The output is
deterministic: the same inputs give byte-identical files. No figure is estimated or interpolated; the
one calculated value (the 2024 world arms-export total) is flagged and described as tivcast's own.

The script stops with an error when the reference data no longer matches what the metadata says
(row counts, the 2024 checks, unmapped entities), so that the descriptions cannot silently go stale.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from curate_pipeline import PIPELINE_COLUMNS, build_pipeline, pipeline_fields  # scripts/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO_ROOT.parent / "shared" / "reference-data"
DEFAULT_OUT = REPO_ROOT / "api" / "data"
DEFAULT_CREATED = "2026-11-26T00:00:00Z"
RETRIEVED = "2026-11-24"  # SOURCES.md: "Compiled 2026-11-24"
# A shipped release id names one content for good (a database seeded with it refuses the same id with other rows
# at start-up): rows changed, a new id (tests/api/test_shipped_releases.py keeps every id shipped with its hash).
PIPELINE_RELEASE = "tivcast-pipeline-2026-12-04"

SERIES_HEADER = ("country_code", "year", "value", "flag", "source_release")
CORE_SUPPLIERS = ("JPN", "KOR", "CHN")
TOP_N = 25
RANK_YEARS = (2019, 2023)
TOP_ENTITY_TYPE = "state"

# Release labels written in `source_release`.
AT_2024 = "sipri-at-2024"
AT_2025 = "sipri-at-2025"
MILEX_2025 = "sipri-milex-2025"

# Checks taken from SOURCES.md; the script refuses to write output that contradicts them.
CHECKS_2024 = {"JPN": 21, "KOR": 964, "CHN": 1131}
WORLD_2024_SUM = 28671
N_SUPPLIERS_2024 = 44

# ---------------------------------------------------------------------------------------------------
# Entities without a code in the sources get a stable code in ISO 3166-1's user-assigned range X**.
# Keys are SIPRI names with the `*` / `**` markers stripped. A new uncoded entity stops the script.
# The European Union has a code in the SIPRI milex file (EUU, a World Bank code); SIPRI's arms
# files name it without a code, so both map to EUU.
ASSIGNED_CODES: dict[str, str] = {
    "European Union": "EUU",
    # unknown
    "unknown supplier(s)": "XUS",
    "unknown recipient(s)": "XUR",
    "unknown rebel group": "XUG",
    # international organisations
    "United Nations": "XUN",
    "African Union": "XAU",
    "NATO": "XNA",
    "OSCE": "XOS",
    "Regional Security System": "XRS",
    # historical state and non-recognised entities
    "South Vietnam": "XSV",
    "Biafra": "XBI",
    "Katanga": "XKT",
    "Libya GNC": "XLG",
    "Northern Cyprus": "XNC",
    # non-state actors
    "ANC (South Africa)": "XAN",
    "Amal (Lebanon)": "XAL",
    "Anti-Castro rebels (Cuba)": "XAC",
    "Armas (Guatemala)": "XAR",
    "Contras (Nicaragua)": "XCO",
    "Darfur rebels (Sudan)": "XDF",
    "ELF (Ethiopia)": "XEL",
    "EPLF (Ethiopia)": "XEP",
    "FAN (Chad)": "XFA",
    "FMLN (El Salvador)": "XFM",
    "FNLA (Angola)": "XFN",
    "FRELIMO (Portugal)": "XFR",
    "GUNT (Chad)": "XGU",
    "Haiti rebels": "XHT",
    "Hamas (Palestine)": "XHM",
    "Hezbollah (Lebanon)": "XHZ",
    "Houthi rebels (Yemen)": "XHO",
    "Indonesia rebels": "XIN",
    "Khmer Rouge (Cambodia)": "XKR",
    "Kurdistan Regional Government (Iraq)": "XKG",
    "LF (Lebanon)": "XLF",
    "LRA (Uganda)": "XLR",
    "LTTE (Sri Lanka)": "XLT",
    "Lebanon Palestinian rebels": "XLP",
    "Libya HoR": "XLH",
    "MNLF (Philippines)": "XMN",
    "MPLA (Portugal)": "XMP",
    "MTA (Myanmar)": "XMT",
    "Mujahedin (Afghanistan)": "XMJ",
    "NLA (Macedonia)": "XNL",
    "NTC (Libya)": "XNT",
    "Northern Alliance (Afghanistan)": "XNH",
    "PAIGC (Portugal)": "XPG",
    "PIJ (Israel/Palestine)": "XPJ",
    "PKK (Turkiye)": "XPK",
    "PLO (Israel)": "XPL",
    "PRC (Israel/Palestine)": "XPR",
    "Pathet Lao (Laos)": "XPT",
    "Provisional IRA (UK)": "XIR",
    "RPF (Rwanda)": "XRP",
    "RUF (Sierra Leone)": "XRU",
    "SLA (Lebanon)": "XSL",
    "SNA (Somalia)": "XSN",
    "SPLA (Sudan)": "XSP",
    "Southern rebels (Yemen)": "XSY",
    "Syria rebels": "XSR",
    "UIC (Somalia)": "XUI",
    "UNITA (Angola)": "XUA",
    "Ukraine Rebels": "XUK",
    "United Wa State (Myanmar)": "XUW",
    "Viet Cong (South Vietnam)": "XVC",
    "Viet Minh (France)": "XVM",
    "ZAPU (Zimbabwe)": "XZP",
    # SIPRI milex regions
    "Africa": "XAF",
    "North Africa": "XNF",
    "sub-Saharan Africa": "XSF",
    "Americas": "XAM",
    "Central America and the Caribbean": "XCA",
    "North America": "XNM",
    "South America": "XSM",
    "Asia & Oceania": "XAO",
    "Central Asia": "XCS",
    "East Asia": "XEA",
    "South Asia": "XSA",
    "South East Asia": "XSE",
    "Oceania": "XOC",
    "Europe": "XER",
    "Central Europe": "XCE",
    "Eastern Europe": "XEE",
    "Western Europe": "XWE",
    "Middle East": "XME",
}
NAME_OVERRIDES = {"WLD": "World"}

# Policy regimes: id -> (title, opened, description). `opened` must equal an event date.
REGIMES: dict[str, tuple[str, str, str]] = {
    "pre_principles": (
        "Before the Three Principles",
        "",
        "The period before Prime Minister Eisaku Sato stated the Three Principles on Arms Exports on "
        "21 April 1967. The policy sources used by tivcast record no stated arms-export principles for "
        "this period. The SIPRI Trade Register records Japanese deliveries of ships, aircraft and "
        "helicopters from the 1950s, several of them financed as World War II reparations ('War "
        "Reparations Programme') or by the US 'Offshore Procurement Programme'.",
    ),
    "three_principles_1967": (
        "Three Principles on Arms Exports",
        "1967-04-21",
        "Opened on 21 April 1967, when Prime Minister Eisaku Sato stated the Three Principles on Arms "
        "Exports in the House of Representatives Audit Committee: no arms exports to (1) communist-bloc "
        "countries, (2) countries under UN arms embargoes, (3) parties to international conflicts or "
        "countries likely to become so. Exports to other destinations were not covered by the principles.",
    ),
    "de_facto_ban_1976": (
        "Unified Government View: de facto ban",
        "1976-02-27",
        "Opened on 27 February 1976 by the Miki Cabinet's 'Unified Government View on Arms Exports', "
        "stated at the House of Representatives Budget Committee: arms exports to areas not covered by "
        "the Three Principles were also to be 'refrained from', which made them a de facto total ban, "
        "and equipment for producing arms was treated as arms.",
    ),
    "us_technology_exception_1983": (
        "Exception for military technology to the United States",
        "1983-01-14",
        "Opened on 14 January 1983 by a statement of the Chief Cabinet Secretary: transfers of military "
        "technology to the United States were exempted from the Three Principles, within the framework "
        "of the Japan-US Mutual Defense Assistance Agreement. The de facto ban otherwise stayed in place.",
    ),
    "bmd_exception_2004": (
        "Exception for ballistic missile defense with the United States",
        "2004-12",
        "Opened in December 2004 (the day is not verified) by a statement of Chief Cabinet Secretary "
        "Hiroyuki Hosoda: joint development and production of ballistic missile defense systems with "
        "the United States were exempted from the Three Principles.",
    ),
    "comprehensive_exemptions_2011": (
        "Comprehensive exemptions (Guidelines for Overseas Transfer of Defense Equipment)",
        "2011-12-27",
        "Opened on 27 December 2011 by the Noda government's 'Guidelines for Overseas Transfer of "
        "Defense Equipment etc.', a statement of Chief Cabinet Secretary Osamu Fujimura: comprehensive "
        "exemptions from the Three Principles for transfers that contribute to peace and international "
        "cooperation, and for international joint development and production.",
    ),
    "transfer_principles_2014": (
        "Three Principles on Transfer of Defense Equipment and Technology",
        "2014-04-01",
        "Opened on 1 April 2014, when the Cabinet adopted the Three Principles on Transfer of Defense "
        "Equipment and Technology, with their Implementation Guidelines adopted the same day. They "
        "replaced the Three Principles on Arms Exports and the related policy guidelines. The first "
        "export of finished Japanese defence equipment under them was the air-surveillance radar "
        "contract with the Philippines announced on 28 August 2020.",
    ),
    "transfer_principles_revised_2023": (
        "Revised principles: licensed products to the licensor country",
        "2023-12-22",
        "Opened on 22 December 2023, when the Three Principles and their Implementation Guidelines were "
        "revised: finished products made under foreign licence may be exported to the licensor country "
        "(and, under conditions, onward). The government decided the same day to transfer PAC-2/PAC-3 "
        "Patriot missiles to the United States.",
    ),
    "gcap_third_country_2024": (
        "GCAP fighter exports to third countries",
        "2024-03-26",
        "Opened on 26 March 2024, when the Cabinet approved revised Implementation Guidelines that allow "
        "the GCAP next-generation fighter (developed with Italy and the United Kingdom) to be exported to "
        "third countries: only to countries that have a defence equipment and technology transfer "
        "agreement with Japan, not to countries where fighting is under way, and each case by Cabinet "
        "decision.",
    ),
}

# MOD/MOF source address -> (source_release label, description).
BUDGET_SOURCES: dict[str, tuple[str, str]] = {
    "https://studylib.net/doc/11062723/1-defense-related-expenditures-and-changes": (
        "mod-wp-2011-en-mirror",
        "MOD, Defense of Japan 2011 (English), Fig. II-3-4-2, read from a third-party mirror "
        "(studylib.net); FY2002-FY2009",
    ),
    "http://www.clearing.mod.go.jp/hakusho_data/2010/2010/html/m2251000.html": (
        "mod-wp-2010",
        "MOD Defense White Paper 2010 (text)",
    ),
    "http://www.clearing.mod.go.jp/hakusho_data/2011/2011/html/n2341000.html": (
        "mod-wp-2011",
        "MOD Defense White Paper 2011 (text)",
    ),
    "http://www.clearing.mod.go.jp/hakusho_data/2013/2013/html/n2241000.html": (
        "mod-wp-2013",
        "MOD Defense White Paper 2013 (text); FY2012 derived from its stated change",
    ),
    "http://www.clearing.mod.go.jp/hakusho_data/2015/html/n3131000.html": (
        "mod-wp-2015",
        "MOD Defense White Paper 2015 (text); FY2014 derived from its stated change",
    ),
    "https://www.mod.go.jp/j/publication/wp/wp2020/doc/att/file-09.csv": (
        "mod-wp-2020",
        "MOD Defense White Paper 2020, data table 資料9 (file-09.csv); FY2016-FY2020",
    ),
    "https://www.mod.go.jp/j/publication/wp/wp2021/html/n240201000.html": (
        "mod-wp-2021",
        "MOD Defense White Paper 2021 (text)",
    ),
    "https://www.mod.go.jp/j/publication/wp/wp2022/html/n240201000.html": (
        "mod-wp-2022",
        "MOD Defense White Paper 2022 (text)",
    ),
    "http://www.clearing.mod.go.jp/hakusho_data/2023/html/n240301000.html": (
        "mod-wp-2023",
        "MOD Defense White Paper 2023 (text)",
    ),
    "https://www.mod.go.jp/j/press/wp/wp2024/html/n230201000.html": (
        "mod-wp-2024",
        "MOD Defense White Paper 2024 (text)",
    ),
    "https://www.mof.go.jp/public_relations/finance/202404/202404f.html": (
        "mof-finance-2024-04",
        "Ministry of Finance, Finance (ファイナンス), April 2024",
    ),
    "https://www.mof.go.jp/public_relations/finance/202504/202504d.html": (
        "mof-finance-2025-04",
        "Ministry of Finance, Finance (ファイナンス), April 2025",
    ),
    "https://www.wic-net.com/material/document/22985/14": (
        "mof-draft-fy2026",
        "FY2026 government draft budget (December 2025), MOF budget document seen only through the "
        "wic-net.com mirror; not an enacted budget",
    ),
}
BUDGET_TOTAL_BASIS = "total_incl_SACO_USrealignment"
BUDGET_HEADLINE_BASES = {"excl_SACO_USrealignment_etc": (None, 2022), "dbp_target_expenditure": (2023, None)}


# --------------------------------------------------------------------------------------------- I/O
def require(condition: object, message: object) -> None:
    """Stop with a message when the reference data contradicts what the metadata says."""
    if not condition:
        raise SystemExit(f"curate_data: check failed: {message}")


def read_csv(path: Path) -> list[dict[str, str]]:
    """Read a UTF-8 CSV into a list of row dicts (all values as text)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """Serialise rows as UTF-8 CSV with `\\n` line endings and minimal quoting."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return buffer.getvalue().encode("utf-8")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fmt_number(value: str | Decimal | int) -> str:
    """Deterministic number text: integers as integers, other values in positional notation with
    exactly the source's digits (no exponent, no float round trip, trailing zeros dropped)."""
    number = Decimal(str(value).strip())
    if number == number.to_integral_value():
        return str(int(number))
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def join_flags(*parts: str) -> str:
    tokens: list[str] = []
    for part in parts:
        tokens.extend(token.strip() for token in part.split(";") if token.strip())
    return ";".join(dict.fromkeys(tokens))


def strip_markers(name: str) -> str:
    """SIPRI marks non-state actors with `*` and international organisations with `**`."""
    return re.sub(r"\*+$", "", name).strip()


def year_ranges(years: Iterable[int]) -> str:
    ordered = sorted(set(years))
    spans: list[str] = []
    start = prev = ordered[0]
    for year in [*ordered[1:], None]:
        if year is not None and year == prev + 1:
            prev = year
            continue
        spans.append(str(start) if start == prev else f"{start}-{prev}")
        if year is not None:
            start = prev = year
    return ", ".join(spans)


# ------------------------------------------------------------------------------------- countries
@dataclass
class Entity:
    code: str
    names: list[str]
    types: list[str]


def entity_mentions(src: Path) -> list[tuple[str, str, str]]:
    """(code, name, entity_type) from every source file, in naming priority order."""
    mentions: list[tuple[str, str, str]] = []
    for file in ("arms_exports_tiv_sipri_1950_2023.csv", "arms_exports_tiv_sipri_2024.csv"):
        mentions += [(r["country_code"], r["country_name"], r["entity_type"]) for r in read_csv(src / file)]
    imports = read_csv(src / "arms_imports_tiv_sipri_1950_2023.csv")
    mentions += [(r["country_code"], r["country_name"], r["entity_type"]) for r in imports]
    bilateral = read_csv(src / "arms_transfers_bilateral_sipri_2024.csv")
    mentions += [(r["supplier_code"], r["supplier_name"], "state") for r in bilateral]
    mentions += [(r["recipient_code"], r["recipient_name"], r["recipient_entity_type"]) for r in bilateral]
    for file in ("military_expenditure_sipri.csv", "military_expenditure_regional_sipri.csv"):
        mentions += [(r["country_code"], r["country_name"], r["entity_type"]) for r in read_csv(src / file)]
    # Alias-only sources: WDI names and the trade register's names.
    mentions += [(r["country_code"], r["country_name"], "") for r in read_csv(src / "arms_exports_tiv_wdi.csv")]
    for r in read_csv(src / "japan_arms_export_deals_sipri.csv"):
        mentions += [(r["recipient_code"], r["recipient_name"], ""), (r["supplier_code"], r["supplier_name"], "")]
    return mentions


def resolve_code(code: str, name: str) -> str:
    if code:
        return code
    stripped = strip_markers(name)
    if stripped not in ASSIGNED_CODES:
        raise SystemExit(f"no code for entity {name!r}: add it to ASSIGNED_CODES")
    return ASSIGNED_CODES[stripped]


def build_entities(src: Path) -> dict[str, Entity]:
    entities: dict[str, Entity] = {}
    for raw_code, name, entity_type in entity_mentions(src):
        code = resolve_code(raw_code, name)
        entity = entities.setdefault(code, Entity(code, [], []))
        entity.names.append(name)
        if entity_type:
            entity.types.append(entity_type)
    return entities


def check_assigned_codes(entities: Mapping[str, Entity]) -> None:
    assigned = set(ASSIGNED_CODES.values()) - {"EUU"}
    require(len(assigned) == len(ASSIGNED_CODES) - 1, "assigned codes must be unique")
    for code in assigned:
        require(re.fullmatch(r"X[A-Z]{2}", code), code)
        require(code != "XKX", "XKX is Kosovo's code in the sources")
    unused = sorted(code for code in ASSIGNED_CODES.values() if code not in entities)
    require(not unused, f"assigned codes not used by any source: {unused}")


def country_rows(entities: Mapping[str, Entity]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    owner: dict[str, str] = {}
    for code in sorted(entities):
        entity = entities[code]
        require(re.fullmatch(r"[A-Z]{3}", code), code)
        name = NAME_OVERRIDES.get(code, strip_markers(entity.names[0]))
        spellings = {strip_markers(n) for n in entity.names} | set(entity.names) | {name}
        aliases = sorted(spellings - {name}, key=lambda s: (s.casefold(), s))
        for label in [name, *aliases]:
            require("|" not in label, label)
            other = owner.setdefault(label.casefold(), code)
            require(other == code, f"name {label!r} used by {other} and {code}")
        rows.append((code, name, entity.types[0], "|".join(aliases)))
    return rows


# ---------------------------------------------------------------------------------- arms exports
Series = list[tuple[str, int, str, str, str]]


def rank_suppliers(exports: Sequence[Mapping[str, str]]) -> list[tuple[str, int]]:
    """State suppliers by total TIV over RANK_YEARS (descending, ties by code)."""
    totals: dict[str, int] = defaultdict(int)
    for row in exports:
        if row["entity_type"] == TOP_ENTITY_TYPE and RANK_YEARS[0] <= int(row["year"]) <= RANK_YEARS[1]:
            totals[row["country_code"]] += int(row["value"])
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def build_arms_exports(src: Path) -> tuple[Series, list[str], list[tuple[str, int]]]:
    exports = read_csv(src / "arms_exports_tiv_sipri_1950_2023.csv")
    latest = read_csv(src / "arms_exports_tiv_sipri_2024.csv")
    ranking = rank_suppliers(exports)
    suppliers = sorted({code for code, _ in ranking[:TOP_N]} | set(CORE_SUPPLIERS))
    wanted = {*suppliers, "WLD"}
    rows: Series = []
    for r in exports:
        if r["country_code"] in wanted:
            require(r["flag"] != "lt_0.5m" or r["value"] == "0", r)
            rows.append((r["country_code"], int(r["year"]), fmt_number(r["value"]), r["flag"], AT_2024))
    require(len(latest) == N_SUPPLIERS_2024, f"1b: expected {N_SUPPLIERS_2024} suppliers, got {len(latest)}")
    require({r["year"] for r in latest} == {"2024"}, "1b: year 2024 only")
    require(all(r["entity_type"] == "state" and r["country_code"] for r in latest), "1b: coded states only")
    for r in latest:
        if r["country_code"] in wanted:
            rows.append((r["country_code"], 2024, fmt_number(r["value"]), r["flag"], AT_2025))
    world = sum(int(r["value"]) for r in latest)
    require(world == WORLD_2024_SUM, world)
    rows.append(("WLD", 2024, str(world), "sum_of_listed_suppliers", AT_2025))
    values_2024 = {r[0]: int(r[2]) for r in rows if r[1] == 2024}
    for code, expected in CHECKS_2024.items():
        require(values_2024[code] == expected, (code, values_2024.get(code)))
    return sorted_series(rows), suppliers, ranking


def sorted_series(rows: Series) -> Series:
    ordered = sorted(rows, key=lambda r: (r[0], r[1]))
    keys = [(r[0], r[1]) for r in ordered]
    require(len(keys) == len(set(keys)), "duplicate (country, year)")
    require(all(Decimal(r[2]) >= 0 for r in ordered), "negative value")
    return ordered


# --------------------------------------------------------------------------------- military exp.
MILEX_INDICATORS = {
    "milex-constant-usd": ("milex_constant_2023_usd", "USD_million_constant_2023", "USD_billion_constant_2023"),
    "milex-current-usd": ("milex_current_usd", "USD_million_current", "USD_billion_current"),
    "milex-share-gdp": ("milex_share_of_gdp", "fraction_of_GDP", None),
}


def build_milex(src: Path, suppliers: Sequence[str]) -> dict[str, Series]:
    national = read_csv(src / "military_expenditure_sipri.csv")
    regional = read_csv(src / "military_expenditure_regional_sipri.csv")
    out: dict[str, Series] = {}
    for dataset, (indicator, unit, world_unit) in MILEX_INDICATORS.items():
        rows: Series = []
        for r in national:
            if r["indicator"] == indicator and r["country_code"] in suppliers:
                require(r["unit"] == unit, r)
                rows.append((r["country_code"], int(r["year"]), fmt_number(r["value"]), r["flag"], MILEX_2025))
        for r in regional:
            if r["indicator"] == indicator and r["country_code"] == "WLD":
                require(r["unit"] == world_unit, r)  # USD billion -> USD million, exact decimal arithmetic
                value = fmt_number(Decimal(r["value"]) * 1000)
                rows.append(("WLD", int(r["year"]), value, r["flag"], MILEX_2025))
        missing = sorted(set(suppliers) - {r[0] for r in rows})
        require(not missing, f"{dataset}: suppliers without milex rows {missing}")
        out[dataset] = sorted_series(rows)
    return out


# ------------------------------------------------------------------------------------- MOD budget
def budget_flag(row: Mapping[str, str]) -> str:
    extra = [token for token in (row["derivation"], row["status"]) if token not in ("stated", "initial_budget")]
    return join_flags(f"basis={row['basis']}", *extra)


def budget_release(row: Mapping[str, str]) -> str:
    if row["source_url"] not in BUDGET_SOURCES:
        raise SystemExit(f"unknown budget source {row['source_url']}: add it to BUDGET_SOURCES")
    return BUDGET_SOURCES[row["source_url"]][0]


def in_basis_window(row: Mapping[str, str]) -> bool:
    window = BUDGET_HEADLINE_BASES.get(row["basis"])
    if window is None:
        return False
    first, last = window
    year = int(row["fiscal_year"])
    return (first is None or year >= first) and (last is None or year <= last)


def build_budget(src: Path) -> tuple[Series, Series, list[dict[str, str]]]:
    raw = read_csv(src / "japan_mod_defense_budget.csv")
    require({r["country_code"] for r in raw} == {"JPN"}, "budget: Japan only")
    require({r["currency"] for r in raw} == {"JPY"}, "budget: yen only")
    for r in raw:
        require(int(r["value_yen"]) == int(r["value_oku_yen"]) * 100_000_000, r)
    total: Series = [
        ("JPN", int(r["fiscal_year"]), fmt_number(r["value_oku_yen"]), budget_flag(r), budget_release(r))
        for r in raw
        if r["basis"] == BUDGET_TOTAL_BASIS
    ]
    headline: Series = [
        ("JPN", int(r["fiscal_year"]), fmt_number(r["value_oku_yen"]), budget_flag(r), budget_release(r))
        for r in raw
        if in_basis_window(r)
    ]
    return sorted_series(total), sorted_series(headline), raw


# ------------------------------------------------------------------------------------------ tables
DEAL_COLUMNS = (
    "deal_id",
    "recipient_code",
    "recipient_name",
    "supplier_code",
    "supplier_name",
    "year_of_order",
    "year_of_order_uncertain",
    "number_ordered",
    "number_ordered_uncertain",
    "weapon_designation",
    "weapon_description",
    "number_delivered",
    "number_delivered_uncertain",
    "years_of_delivery",
    "status",
    "comments",
    "tiv_per_unit_million",
    "tiv_total_order_million",
    "tiv_delivered_million",
    "source_release",
)
DEAL_NUMBERS = ("tiv_per_unit_million", "tiv_total_order_million", "tiv_delivered_million")


def deal_row(index: int, row: Mapping[str, str]) -> list[str]:
    out: list[str] = []
    for column in DEAL_COLUMNS:
        if column == "deal_id":
            out.append(str(index))
        elif column == "source_release":
            out.append(AT_2025)
        elif column.endswith("_code"):
            out.append(resolve_code(row[column], row[column.replace("_code", "_name")]))
        elif column.endswith("_uncertain"):
            require(row[column] in ("", "?"), row)
            out.append("true" if row[column] == "?" else "false")
        elif column in DEAL_NUMBERS and row[column]:
            out.append(fmt_number(row[column]))
        else:
            out.append(row[column])
    return out


def build_deals(src: Path) -> list[list[str]]:
    raw = read_csv(src / "japan_arms_export_deals_sipri.csv")
    require({r["source_id"] for r in raw} == {"sipri_trade_register_2025-03-13"}, "deals: one release")
    require({r["supplier_code"] for r in raw} == {"JPN"}, "deals: Japan as supplier only")
    return [deal_row(index, row) for index, row in enumerate(raw, start=1)]


PLAN_COLUMNS = ("period", "item", "value_yen", "value_oku_yen", "currency", "qualifier", "description", "source_url")


def build_plan(src: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    for r in read_csv(src / "japan_defense_buildup_program_2023_2027.csv"):
        yen = int(r["value_yen"])
        require(yen % 100_000_000 == 0, r)
        rows.append(
            [
                r["period"],
                r["item"],
                str(yen),
                str(yen // 100_000_000),
                r["currency"],
                r["qualifier"],
                r["description"],
                r["source_url"],
            ]
        )
    return rows


EVENT_COLUMNS = ("date", "date_precision", "category", "title", "regime", "verified", "sources", "note")


def split_sources(text: str) -> tuple[list[str], list[str]]:
    """Source cells hold `|`-separated URLs, some followed by a parenthetical remark."""
    urls: list[str] = []
    remarks: list[str] = []
    for part in (p.strip() for p in text.split("|")):
        match = re.fullmatch(r"(\S+)(?:\s+\((.+)\))?", part)
        if match is None or not re.fullmatch(r"https?://\S+", match.group(1)):
            raise SystemExit(f"curate_data: not a URL in the timeline sources: {part!r}")
        urls.append(match.group(1))
        if match.group(2):
            remarks.append(f"Source remark for {match.group(1)}: {match.group(2)}.")
    return urls, remarks


def build_events(src: Path) -> list[list[str]]:
    by_date = {opened: regime for regime, (_, opened, _) in REGIMES.items() if opened}
    rows: list[list[str]] = []
    for r in read_csv(src / "japan_arms_export_policy_timeline.csv"):
        require(r["verified"] in ("yes", "partial"), r)
        urls, remarks = split_sources(r["sources"])
        note = " ".join(part for part in [r["note"].strip(), *remarks] if part)
        regime = by_date.pop(r["date"], "")
        rows.append(
            [r["date"], r["date_precision"], r["category"], r["event"], regime, r["verified"], "|".join(urls), note]
        )
    require(not by_date, f"regimes whose opening event is missing: {by_date}")
    rows.sort(key=lambda row: (row[0], row[3]))
    return rows


def build_regimes() -> list[list[str]]:
    return [[regime, title, description, opened] for regime, (title, opened, description) in REGIMES.items()]


# ---------------------------------------------------------------------------------------- metadata
SIPRI = "Stockholm International Peace Research Institute (SIPRI)"
SIPRI_AT_HOME = "https://www.sipri.org/databases/armstransfers"
SIPRI_MILEX_HOME = "https://www.sipri.org/databases/milex"
SIPRI_RULES = "http://www.sipri.org/contents/armstrad/user_rules.html"
SIPRI_TERMS_2016 = "https://web.archive.org/web/20160211055816/http://www.sipri.org/databases/terms"
MOD = "Japan Ministry of Defense (MOD) and Ministry of Finance (MOF)"


def github(repo: str, commit: str, path: str) -> str:
    return f"https://github.com/{repo}/blob/{commit}/{path}"


SRC_AT_2024 = {
    "title": "SIPRI Arms Transfers Database, Import/Export values: exports by supplier 1950-2023 "
    "(March 2024 release; file header 'Data generated: 13 Oct 2024')",
    "path": github(
        "MJHofmann/SIPRI_BRICS",
        "476134311a192f43e0a856357c97c8f35274eb30",
        "import-export-values_1950-2024_1950-2024.csv",
    ),
    "homepage": SIPRI_AT_HOME,
    "publisher": SIPRI,
    "version": AT_2024,
    "retrieved": RETRIEVED,
    "note": "SIPRI's own CSV download, copied from a public GitHub repository (blob "
    "d449d3e2a7180085f51ab72aed45fa64df0f2d2f). The file name says 1950-2024 but its 2024 column is "
    "empty: it was generated before the 2025 release.",
}
SRC_AT_IMPORTS = {
    "title": "SIPRI Arms Transfers Database, Import/Export values: imports by recipient 1950-2023 "
    "(March 2024 release; data generated 13 Oct 2024)",
    "path": github(
        "MJHofmann/SIPRI_BRICS", "476134311a192f43e0a856357c97c8f35274eb30", "import-export-values_1950-2024.csv"
    ),
    "homepage": SIPRI_AT_HOME,
    "publisher": SIPRI,
    "version": AT_2024,
    "retrieved": RETRIEVED,
    "note": "Used only for entity names and codes (countries.csv).",
}
SRC_AT_2025 = {
    "title": "SIPRI Arms Transfers Database, 'exports from X to all recipients, 2024' tables for 163 "
    "countries (March 2025 release; 'Data generated: 24 Apr 2025')",
    "path": github(
        "Chaoyi-Lu/Mixed-Latent-Position-Cluster-Model",
        "069624698a1978e9885a5ef7f719e53cba3d71ab",
        "163_Countries_TIV_2024.csv",
    ),
    "homepage": SIPRI_AT_HOME,
    "publisher": SIPRI,
    "version": AT_2025,
    "retrieved": RETRIEVED,
    "note": "The 'Total exports from X' line of each table: 44 state suppliers with deliveries in 2024. "
    "The same file gives the 2024 supplier-to-recipient flows used for entity names.",
}
SRC_TRADE_REGISTER = {
    "title": "SIPRI Trade Register, all years (March 2025 release; 'Data generated: 13 Mar 2025')",
    "path": github(
        "ColasDroin/SIPRI_arms_transfers_analysis", "3439ef7d225f26de4a273cb08b051e51c8081eb9", "trade-register.csv"
    ),
    "homepage": SIPRI_AT_HOME,
    "publisher": SIPRI,
    "version": AT_2025,
    "retrieved": RETRIEVED,
    "note": "Rows with Japan as supplier. The source is Windows-1252 encoded; tivcast's copy is UTF-8.",
}
SRC_WDI = {
    "title": "World Bank, World Development Indicators, MS.MIL.XPRT.KD 'Arms exports (SIPRI trend "
    "indicator values)' (Last Updated Date 2026-04-08)",
    "path": github(
        "marcelastein/MVP-Classificacao_conflitos_militares",
        "3b75622eb64404223f41d4df0604398685e6bca5",
        "API_MS.MIL.XPRT.KD_DS2_en_csv_v2_175.csv",
    ),
    "publisher": "World Bank (original source: SIPRI)",
    "version": "wdi-2026-04-08",
    "retrieved": RETRIEVED,
    "note": "Used only for country-name aliases (countries.csv). Its World row is not used: it is "
    "SIPRI's world total shifted by ten years.",
}
SRC_MILEX = {
    "title": "SIPRI Military Expenditure Database, data 1949-2024 (April 2025 release; constant prices "
    "in 2023 US$), workbook SIPRI-Milex-data-1949-2024",
    "path": github(
        "shruti-01-narwat/Global_Military_Expenditure_Dashboard",
        "5885c546162547a02eabf43d75b259df1fa427c1",
        "SIPRI-Milex-data-1949-2024_2.xlsx",
    ),
    "homepage": SIPRI_MILEX_HOME,
    "publisher": SIPRI,
    "version": MILEX_2025,
    "retrieved": RETRIEVED,
    "note": "The unmodified SIPRI workbook (blob 4a798fc67fd1c8e35dd3eec293444216f9a5bfb0); its constant-US$, "
    "current-US$ and share-of-GDP sheets are identical to the copy in "
    "suyash-acharya-369/Military_Expenditure_Analysis_Report at commit "
    "5474260604f6b82f115e060e91e7512669059a0a. Estimates (blue) and highly uncertain figures (red) "
    "were read from the font colours.",
}
SRC_PLAN = {
    "title": "Defense Buildup Program (FY2023-FY2027), as quoted in MOD Defense White Paper 2023",
    "path": "http://www.clearing.mod.go.jp/hakusho_data/2023/html/n240114000.html",
    "publisher": "Japan Ministry of Defense",
    "version": "mod-wp-2023",
    "retrieved": RETRIEVED,
    "note": "All figures are stated as approximate ('程度').",
}

AT_TERMS = (
    "SIPRI's Arms Transfers user rules: the data may be downloaded and cited if SIPRI is credited "
    "('Information from the SIPRI Arms Transfers Database'); calculations by others, including tivcast's, "
    "must not be attributed to SIPRI; no commercial use without SIPRI's agreement. SIPRI's general terms "
    "(archived 2016) define fair use as non-commercial use and reproduction of less than 10% of a published "
    "data set. tivcast therefore ships only the series the product needs (Japan, South Korea, China, the 25 "
    "largest state suppliers of 2019-2023 and the world totals), not SIPRI's full tables, and has not "
    "obtained SIPRI's agreement for any commercial use; whether this subset is within SIPRI's fair-use "
    "definition has not been confirmed with SIPRI. To work with all suppliers, download the table from "
    "SIPRI and load it with `tivcast ingest`. The user rules were read from an archived copy; the current "
    "terms page was not found."
)
MILEX_TERMS = (
    "SIPRI data: cite 'SIPRI Military Expenditure Database'; calculations by others must not be attributed "
    "to SIPRI; no commercial use without SIPRI's agreement. SIPRI's general terms (archived 2016) define fair "
    "use as non-commercial use and reproduction of less than 10% of a published data set. tivcast ships only "
    "three of the database's indicators for Japan, its peers (the arms-export supplier set) and the world, "
    "not the full tables; whether this subset is within SIPRI's fair-use definition has not been confirmed "
    "with SIPRI. For other countries or indicators, download the workbook from SIPRI and load it "
    "with `tivcast ingest`."
)
MOD_TERMS = (
    "Official publications of the Japanese government (MOD white papers, MOF 'Finance'); the FY2002-FY2009 "
    "figures were read from a third-party mirror of the 2011 English white paper and the FY2026 draft from "
    "a mirror of the MOF budget document. The MOD/MOF terms of reuse were not checked. Credit the MOD and "
    "MOF as the source; the FY2012 and FY2014 values derived from stated year-on-year changes are tivcast's "
    "calculation."
)
TIVCAST_TERMS = (
    "tivcast's own compilation, distributed with the tivcast package under the licence declared for the "
    "package (pyproject.toml). The linked sources remain their publishers' work; quote them, not tivcast, "
    "for the facts."
)
LICENCE_SIPRI = [
    {
        "name": "other-nc",
        "title": "SIPRI terms of use: non-commercial use with credit; commercial use only with SIPRI's agreement",
        "path": SIPRI_RULES,
    }
]
LICENCE_MOD = [{"name": "notspecified", "title": "Japanese government publications; terms of reuse not checked"}]
LICENCE_TIVCAST = [{"name": "MIT", "title": "MIT License, as declared for the tivcast distribution"}]

TIV_MEASURE = (
    "Deliveries of major conventional arms in a calendar year, in millions of SIPRI trend-indicator values "
    "(TIV). A TIV is a volume index priced in constant 1990 US dollars: it measures the VOLUME of transfers "
    "of major arms, not their financial value, and cannot be compared with sales values, budgets or GDP. "
    "SIPRI revises past years at every annual release, so figures from different releases are not strictly "
    "comparable; every row names its release in source_release."
)
MILEX_MEASURE = (
    "Military expenditure on SIPRI's definition, which can differ from national budget figures (for Japan "
    "it includes the budgeted SACO amount and excludes military pensions), per calendar year."
)
BUDGET_MEASURE = (
    "Japan's initial defence budget (supplementary budgets excluded) in nominal yen, by fiscal year "
    "(April-March; year = the calendar year in which the fiscal year starts, so FY2024 = April 2024 - "
    "March 2025), in units of 100 million yen (億円, oku-yen; 79,496 = ¥7.9496 trillion). Not comparable "
    "with SIPRI's figure for Japan, which uses SIPRI's own definition."
)
SERIES_FLAGS = {
    "lt_0.5m": "SIPRI printed 0: deliveries worth more than 0 but less than 0.5 million TIV. Not zero.",
    "sum_of_listed_suppliers": "tivcast's calculation, not a SIPRI figure: the sum of the suppliers listed "
    "in the SIPRI extract for that year. A lower bound of the world total.",
    "sipri_estimate": "SIPRI estimate (blue in SIPRI's workbook).",
    "highly_uncertain": "SIPRI marks the figure as highly uncertain (red in SIPRI's workbook).",
    "gt10pct_estimated": "SIPRI regional/world total of which more than 10% is estimated (red in SIPRI's workbook).",
    "derived_from_stated_yoy": "tivcast's calculation: the next fiscal year's stated value minus the stated "
    "change from this year.",
    "government_draft": "Government draft budget, not an enacted budget.",
    "basis=excl_SACO_USrealignment_etc": "MOD headline 'defense-related expenditures' excluding SACO costs, "
    "the local-burden part of US-forces realignment costs and, in some years, the new government aircraft "
    "and the FY2019-20 national-resilience emergency measures.",
    "basis=dbp_target_expenditure": "Defense Buildup Program target expenditure (防衛力整備計画対象経費), "
    "the MOD headline from FY2023.",
    "basis=total_incl_SACO_USrealignment": "Total including SACO costs and the US-forces realignment "
    "costs (local-burden part): the figure news reports quote.",
}


PIPELINE_MEASURE = (
    "TIV per unit of a deal's system and the TIV of its past deliveries, in millions of SIPRI trend-indicator "
    "values (TIV). A TIV is a volume index priced in constant 1990 US dollars: it measures the VOLUME of "
    "transfers of major arms, not their financial value, and cannot be compared with sales values, budgets or "
    "GDP. SIPRI revises its values at every annual release; this table has no per-row release column: every SIPRI"
    " figure in it is from the March 2025 Trade Register (release.source_releases), and each row's source_* "
    "columns say which figures are SIPRI's."
)
PIPELINE_CITATION = (
    "Field by field, as each row's source_* columns and tivcast_assumptions say. Information from the SIPRI Arms "
    "Transfers Database (Trade Register), March 2025 release: the committed rows' order years, TIV per unit "
    "(J/FPS-3 radar 13, PAC-3 MSE missile 1.5), the radars' units ordered and delivered (4 and 2) and their "
    "delivered TIV (26 over 2023-2024), and the register values of comparable ships quoted for the frigate's TIV."
    " From the statements cited in tivcast's policy timeline: the frigate selection (11 ships, 3 built in Japan "
    "and 8 in Australia). tivcast's own assumptions, not SIPRI's nor a statement's: the PAC-3 quantity (30, range"
    " 10-60) and delivery years (2025-2027), the radars' split of their remaining deliveries over 2025 and 2026 "
    "and of their past deliveries by year (13 and 13), every probability of a deal that is not committed, every "
    "slip probability, the frigates' TIV per unit, delivery years and readings of the export rules, and the whole"
    " escort-transfer row (a hypothetical prospect, not an announced deal)."
)



# What a source_release looks like (sipri-at-2024, sipri-2025-03-10, mod-dwp-2024 ...): the ingest checks it, so a
# file cut off inside its last column (source_release "s") is refused.
SOURCE_RELEASE_PATTERN = "[a-z][a-z0-9]*(-[a-z][a-z0-9]*)*-[a-z]*(19|20)[0-9]{2}(-[0-9]{2}|-[a-z][a-z0-9]*)*"


def series_fields(unit_label: str, year_doc: str, value_type: str = "number", *, maximum: float | None = None,
                  countries: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """A series resource's fields; ``maximum`` bounds the value (a fraction of GDP: 1) and ``countries`` lists the
    only codes the series may hold (the Japan budget series: JPN). The ingest enforces every constraint."""
    code: dict[str, Any] = {"required": True, "pattern": "[A-Z]{3}"}
    if countries is not None:
        code["enum"] = list(countries)
    value: dict[str, Any] = {"required": True, "minimum": 0}
    if maximum is not None:
        value["maximum"] = maximum
    return [
        {
            "name": "country_code",
            "type": "string",
            "description": "Code of the country or aggregate (see the countries resource).",
            "constraints": code,
        },
        {"name": "year", "type": "integer", "description": year_doc, "constraints": {"required": True}},
        {
            "name": "value",
            "type": value_type,
            "description": f"Value in {unit_label}.",
            "constraints": value,
        },
        {"name": "flag", "type": "string", "description": "Empty, or `;`-separated flag tokens (see tivcast.flags)."},
        {
            "name": "source_release",
            "type": "string",
            "description": "The source release (vintage) of the value (see tivcast.release.source_releases).",
            "constraints": {"required": True, "pattern": SOURCE_RELEASE_PATTERN},
        },
    ]


def text_field(name: str, description: str, **constraints: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": "string", "description": description}
    if constraints:
        field["constraints"] = constraints
    return field


@dataclass(frozen=True)
class Dataset:
    """One output file with everything its datapackage resource says about it."""

    name: str
    title: str
    description: str
    kind: str
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    fields: list[dict[str, Any]]
    primary_key: list[str]
    sources: list[dict[str, str]]
    licenses: list[dict[str, str]]
    meta: dict[str, Any]


def series_coverage(rows: Series) -> dict[str, Any]:
    by_country: dict[str, dict[str, int]] = {}
    for code, year, *_ in rows:
        entry = by_country.setdefault(code, {"start": year, "end": year, "rows": 0})
        entry["start"], entry["end"] = min(entry["start"], year), max(entry["end"], year)
        entry["rows"] += 1
    return {
        "countries": sorted(by_country),
        "start": min(r[1] for r in rows),
        "end": max(r[1] for r in rows),
        "by_country": by_country,
    }


def holes(rows: Series) -> dict[str, list[int]]:
    years: dict[str, set[int]] = defaultdict(set)
    for code, year, *_ in rows:
        years[code].add(year)
    return {
        code: sorted(set(range(min(ys), max(ys) + 1)) - ys)
        for code, ys in sorted(years.items())
        if len(ys) != max(ys) - min(ys) + 1
    }


def describe_release(rid: str, title: str, published: str, labels: Mapping[str, str]) -> dict[str, Any]:
    require(re.fullmatch(r"[A-Za-z0-9._-]{1,64}", rid), rid)
    return {"id": rid, "title": title, "published": published, "retrieved": RETRIEVED, "source_releases": dict(labels)}


# The credit each publisher's terms require, word for word: a loaded release's citation opens with it.
CREDITS = {AT_TERMS: "Information from the SIPRI Arms Transfers Database",
           MILEX_TERMS: "SIPRI Military Expenditure Database"}


def tivcast_meta(
    kind: str,
    unit: str | None,
    unit_label: str | None,
    measure: str,
    release: dict[str, Any],
    coverage: dict[str, Any],
    citation: str,
    terms: str,
    gaps: list[str],
    caveats: list[str],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "unit": unit,
        "unit_label": unit_label,
        "measure": measure,
        "release": release,
        "coverage": coverage,
        "citation": citation,
        "terms": terms,
        **({"credit": CREDITS[terms]} if terms in CREDITS else {}),
        "gaps": gaps,
        "caveats": caveats,
        **extra,
    }


# ---- countries
ENTITY_TYPES = {
    "state": "A current state (or territory SIPRI lists as a state).",
    "historical_state": "A state that no longer exists (Soviet Union, Czechoslovakia, East Germany, "
    "Yugoslavia, North and South Yemen, South Vietnam).",
    "non_state_actor": "An armed group or authority SIPRI marks with `*`.",
    "non_recognised_entity": "An entity SIPRI lists without a marker that is not a recognised state "
    "(e.g. Biafra, Katanga, Northern Cyprus, Libya GNC).",
    "international_org": "An international organisation SIPRI marks with `**`.",
    "unknown": "SIPRI's unknown supplier(s), recipient(s) or rebel group.",
    "world_total": "The world total (WLD).",
    "region": "A SIPRI military-expenditure region.",
}


def countries_dataset(rows: list[tuple[str, str, str, str]]) -> Dataset:
    assigned = {code: name for code, name, _, _ in rows if code in set(ASSIGNED_CODES.values())}
    meta = tivcast_meta(
        "countries",
        None,
        None,
        "Reference list of the entities named in the source files, to map SIPRI's own CSV downloads "
        "(which name countries, not codes) to codes.",
        describe_release(
            f"tivcast-{RETRIEVED}",
            f"tivcast entity list from the reference data compiled {RETRIEVED}",
            RETRIEVED,
            {
                AT_2024: "SIPRI Arms Transfers Database, March 2024 release (exports and imports)",
                AT_2025: "SIPRI Arms Transfers Database, March 2025 release (2024 exports and flows; Trade Register)",
                MILEX_2025: "SIPRI Military Expenditure Database, April 2025 release",
                "wdi-2026-04-08": "World Bank WDI MS.MIL.XPRT.KD (names only)",
            },
        ),
        {"countries": [r[0] for r in rows], "start": None, "end": None},
        "Entity names from the SIPRI Arms Transfers Database (March 2024 and March 2025 releases), the SIPRI "
        "Military Expenditure Database (April 2025 release) and the World Bank WDI; codes as described.",
        TIVCAST_TERMS + " Entity names are SIPRI's and the World Bank's spellings.",
        [],
        [
            "Aliases are unique across codes, compared case-insensitively; several SIPRI entities share "
            "one code (e.g. 'North Yemen' and 'Yemen Arab Republic (North Yemen)' are both YAR).",
            "The European Union is one entity (EUU): SIPRI's arms files list it as an international "
            "organisation ('European Union**'), the milex file as an aggregate of its member states.",
            "Germany (DEU) is West Germany before 1991 in SIPRI's arms data; East Germany is DDR.",
        ],
        assigned_codes=assigned,
        entity_types=ENTITY_TYPES,
    )
    return Dataset(
        "countries",
        "Countries, historical states, non-state actors, organisations and aggregates",
        "Every entity named in tivcast's SIPRI arms-export, arms-import, 2024 bilateral-flow and "
        "military-expenditure source files, with one code each. Codes are the sources' ISO 3166-1 alpha-3 "
        "codes; legacy ISO 3166-3 codes for historical states (SUN Soviet Union, CSK Czechoslovakia, DDR East "
        "Germany, YUG Yugoslavia, YMD South Yemen, YAR North Yemen); the World Bank's XKX (Kosovo) and EUU "
        "(European Union); WLD for the world total. Entities without a code in the sources (non-state actors, "
        "international organisations, unknown suppliers or recipients, South Vietnam, SIPRI's milex regions) "
        "have a tivcast-assigned code in ISO 3166-1's user-assigned range X** (listed in "
        "tivcast.assigned_codes); these codes are stable across tivcast releases. `name` is SIPRI's Arms "
        "Transfers spelling with the `*`/`**` markers stripped; `aliases` lists, `|`-separated, every other "
        "spelling found in the sources, both with the markers and without.",
        "countries",
        ("code", "name", "entity_type", "aliases"),
        rows,
        [
            text_field("code", "Three-letter code (see description).", required=True, unique=True, pattern="[A-Z]{3}"),
            text_field("name", "Display name.", required=True, unique=True),
            text_field(
                "entity_type",
                "Kind of entity (see tivcast.entity_types).",
                required=True,
                enum=sorted({r[2] for r in rows}),
            ),
            text_field("aliases", "Other spellings in the sources, `|`-separated."),
        ],
        ["code"],
        [SRC_AT_2024, SRC_AT_IMPORTS, SRC_AT_2025, SRC_MILEX, SRC_WDI],
        LICENCE_TIVCAST,
        meta,
    )


# ---- arms exports
def supplier_rule() -> str:
    return (
        f"Suppliers: {', '.join(CORE_SUPPLIERS)} always, plus the {TOP_N} largest suppliers with SIPRI "
        f"entity type '{TOP_ENTITY_TYPE}' (historical states, non-state actors, international "
        f"organisations and unknown suppliers excluded) ranked by their total TIV over "
        f"{RANK_YEARS[0]}-{RANK_YEARS[1]} in the March 2024 release (sipri-at-2024); ties broken by code."
    )


def max_rounding_gap(src: Path) -> int:
    """Largest yearly gap between SIPRI's world total and the sum of its supplier rows (1950-2023)."""
    totals: dict[str, int] = defaultdict(int)
    world: dict[str, int] = {}
    for r in read_csv(src / "arms_exports_tiv_sipri_1950_2023.csv"):
        if r["country_code"] == "WLD":
            world[r["year"]] = int(r["value"])
        else:
            totals[r["year"]] += int(r["value"])
    return max(abs(totals[year] - value) for year, value in world.items())


def arms_gaps(rows: Series, suppliers: Sequence[str], names: Mapping[str, str]) -> list[str]:
    missing_2024 = [code for code in suppliers if (code, 2024) not in {(r[0], r[1]) for r in rows}]
    gaps = [
        "SIPRI's world total for 2024 was not found in any source. The WLD 2024 value (28,671) is tivcast's "
        "sum of the 44 suppliers listed in SIPRI's 2025-release extract (flag sum_of_listed_suppliers): a "
        "lower bound (up to SIPRI's rounding) and not a SIPRI figure. It leaves out suppliers missing from the "
        "extract, among them "
        "North Korea (243 in the World Bank's copy of the same release; with it the sum would be 28,914), "
        "non-state actors and unknown suppliers. Shares of the world computed with it for 2024 are upper "
        "bounds.",
    ]
    if missing_2024:
        listed = ", ".join(f"{names[c]} ({c})" for c in missing_2024)
        gaps.append(
            f"{listed}: no 2024 row. Not among the 44 suppliers in SIPRI's 2025-release extract, so "
            "2024 exports are unknown here, not zero."
        )
    gaps += [
        "For 1950-2023 a missing supplier-year means SIPRI identified no deliveries (count it as 0 in sums), "
        "not missing data.",
        "Russia (RUS) starts in 1992. The Soviet Union (SUN, to 1991), East Germany (DDR), Czechoslovakia "
        "(CSK) and Yugoslavia (YUG) are separate SIPRI suppliers and are not shipped. Germany (DEU) means "
        "West Germany before 1991.",
        "The 2025 release's revised values for 1950-2023 are not shipped (a full 2025-release table was not "
        "found). SIPRI revised earlier years in it: China 2023 is 2,432 in the 2024 release and 2,982 in the "
        "2025 release; Germany 2023 3,287 and 2,472; Turkiye 2023 609 and 699.",
        "The World Bank WDI copy of this SIPRI indicator (MS.MIL.XPRT.KD) is not used. Its World row is "
        "defective: it is SIPRI's world total shifted by ten years.",
    ]
    return gaps


def arms_dataset(
    src: Path, rows: Series, suppliers: list[str], ranking: list[tuple[str, int]], names: Mapping[str, str]
) -> Dataset:
    caveats = [
        "TIVs measure the volume of transfers of major arms, not their financial value; do not compare them "
        "with money amounts.",
        "Changes from 2023 to 2024 mix two SIPRI releases (source_release sipri-at-2024 and sipri-at-2025); "
        "SIPRI revised 2023 in its 2025 release for several suppliers.",
        "A value of 0 with flag lt_0.5m means deliveries worth more than 0 and less than 0.5 million TIV.",
        "SIPRI's world total (WLD, 1950-2023) includes suppliers not shipped here (smaller states, historical "
        "states, non-state actors, international organisations, unknown suppliers); the shipped rows do not "
        f"add up to it. SIPRI rounds each cell: its supplier rows and its world total differ by up to "
        f"{max_rounding_gap(src)} million TIV in a year.",
        supplier_rule(),
    ]
    top = [
        {"rank": i, "code": code, "name": names[code], "tiv_2019_2023": total}
        for i, (code, total) in enumerate(ranking[:TOP_N], start=1)
    ]
    meta = tivcast_meta(
        "series",
        "TIV_million",
        "million TIV (SIPRI trend-indicator values)",
        TIV_MEASURE,
        describe_release(
            "sipri-at-2024_2025",
            "SIPRI Arms Transfers Database: March 2024 release for 1950-2023, March 2025 release for 2024",
            "2025-03",
            {
                AT_2024: "SIPRI Arms Transfers Database, March 2024 release (Import/Export values download, data "
                "generated 13 Oct 2024): every value for 1950-2023, including SIPRI's world total.",
                AT_2025: "SIPRI Arms Transfers Database, March 2025 release ('exports from X to all recipients, "
                "2024' tables, data generated 24 Apr 2025): the 2024 supplier values, and tivcast's 2024 "
                "world sum (flag sum_of_listed_suppliers, not a SIPRI figure).",
            },
        ),
        series_coverage(rows),
        "Information from the SIPRI Arms Transfers Database, Stockholm International Peace Research "
        "Institute: March 2024 release (1950-2023, data generated 13 Oct 2024) and March 2025 release (2024, "
        f"data generated 24 Apr 2025), {SIPRI_AT_HOME}. The 2024 world figure is tivcast's calculation, "
        "not SIPRI's.",
        AT_TERMS,
        arms_gaps(rows, suppliers, names),
        caveats,
        flags={k: SERIES_FLAGS[k] for k in ("lt_0.5m", "sum_of_listed_suppliers")},
        supplier_selection={
            "rule": supplier_rule(),
            "always_included": list(CORE_SUPPLIERS),
            "top": top,
            "suppliers": suppliers,
        },
        derived_values=[
            {
                "country_code": "WLD",
                "year": 2024,
                "value": WORLD_2024_SUM,
                "flag": "sum_of_listed_suppliers",
                "sipri_figure": False,
                "bound": "lower",
                "suppliers_summed": N_SUPPLIERS_2024,
                "method": "tivcast's sum of the 2024 'Total exports from X' values of the 44 state suppliers in "
                "SIPRI's March 2025 release extract. SIPRI published no 2024 world total in the "
                "sources found. Apart from SIPRI's rounding of each supplier total it is a lower bound: "
                "suppliers missing from the extract (e.g. North Korea) are not in it. Do not attribute "
                "this figure to SIPRI.",
            }
        ],
    )
    return Dataset(
        "arms-exports",
        "Arms exports by supplier, 1950-2024 (million SIPRI TIV)",
        "Arms exports by supplier and year, in millions of SIPRI trend-indicator values (TIV), for Japan, "
        "South Korea, China and the 25 largest state suppliers of 2019-2023, plus the world total (WLD). "
        "1950-2023 come from SIPRI's March 2024 release (data generated 13 Oct 2024), including SIPRI's own "
        "world total. 2024 comes from SIPRI's March 2025 release, which was found for 44 suppliers only and "
        "without a world total: WLD 2024 (28,671) is tivcast's sum of those 44 suppliers, a lower bound and "
        "not a SIPRI figure (flag sum_of_listed_suppliers). Every row names its release in source_release; "
        "SIPRI revises past years at every release. A TIV measures the volume of major-arms deliveries, not "
        "their financial value. A value of 0 flagged lt_0.5m means less than 0.5 million TIV; a year missing "
        "in 1950-2023 means SIPRI identified no deliveries.",
        "series",
        SERIES_HEADER,
        rows,
        series_fields("million TIV", "Calendar year of delivery."),
        ["country_code", "year"],
        [SRC_AT_2024, SRC_AT_2025],
        LICENCE_SIPRI,
        meta,
    )


# ---- military expenditure
MILEX_TEXT = {
    "milex-constant-usd": (
        "Military expenditure, US$ million at constant 2023 prices (SIPRI)",
        "US$ million at constant 2023 prices and exchange rates",
        "Military expenditure in US$ million at constant (2023) prices and exchange rates, by calendar year, "
        "for Japan, its peers (the arms-exports supplier set) and the world, from the SIPRI Military "
        "Expenditure Database (April 2025 release, data to 2024). The world total (WLD) is SIPRI's, from its "
        "'Regional totals' sheet, where it is given in US$ billion: tivcast multiplied it by 1,000 to give "
        "US$ million (exact decimal arithmetic, no rounding). SIPRI gives no meaningful world total before "
        "1988 and none for 1991. Flags keep SIPRI's marks: sipri_estimate and highly_uncertain.",
    ),
    "milex-current-usd": (
        "Military expenditure, US$ million at current prices (SIPRI)",
        "US$ million at current prices and exchange rates",
        "Military expenditure in US$ million at current prices and exchange rates, by calendar year, for "
        "Japan, its peers (the arms-exports supplier set) and the world, from the SIPRI Military Expenditure "
        "Database (April 2025 release, data to 2024). The source gives the world total at current prices for "
        "2024 only (US$2,718.2 billion), in US$ billion: tivcast multiplied it by 1,000 to give US$ million. "
        "Flags keep SIPRI's marks: sipri_estimate and highly_uncertain.",
    ),
    "milex-share-gdp": (
        "Military expenditure as a share of GDP (SIPRI, fraction)",
        "fraction of GDP (0.0137 = 1.37%)",
        "Military expenditure as a share of gross domestic product, by calendar year, for Japan and its peers "
        "(the arms-exports supplier set), from the SIPRI Military Expenditure Database (April 2025 release, "
        "data to 2024). Values are SIPRI's fractions, not percentages: 0.0137 means 1.37% of GDP. There is no "
        "world figure. Flags keep SIPRI's marks: sipri_estimate and highly_uncertain.",
    ),
}


def milex_gaps(dataset: str, rows: Series, names: Mapping[str, str]) -> list[str]:
    gaps: list[str] = []
    last = max(r[1] for r in rows)
    if dataset == "milex-constant-usd":
        gaps.append(
            "World (WLD): SIPRI gives no total before 1988 ('A meaningful world total is not possible "
            "before 1988 due to the lack of data for the USSR') and none for 1991."
        )
    elif dataset == "milex-current-usd":
        gaps.append("World (WLD): the source gives the world total at current prices for 2024 only.")
    else:
        gaps.append("No world share of GDP: SIPRI's regional totals sheet gives none.")
    for code, years in holes(rows).items():
        if code != "WLD":
            gaps.append(f"{names[code]} ({code}): no SIPRI figure for {year_ranges(years)}.")
    for code, entry in series_coverage(rows)["by_country"].items():
        if entry["end"] < last:
            gaps.append(f"{names[code]} ({code}): no SIPRI figure after {entry['end']}.")
    gaps.append(
        "Countries start in different years (see tivcast.coverage.by_country); SIPRI's '. .' (no "
        "data) and 'xxx' (state did not exist) cells have no rows. The Soviet Union (SUN) is not "
        "shipped."
    )
    return gaps


def milex_dataset(dataset: str, rows: Series, names: Mapping[str, str]) -> Dataset:
    title, unit_label, description = MILEX_TEXT[dataset]
    unit = MILEX_INDICATORS[dataset][1]
    caveats = [
        "SIPRI's definition of military expenditure can differ from national budget figures. For Japan "
        "(SIPRI footnote 56) it includes the budgeted amount for SACO and excludes military pensions; it is "
        "not the MOD headline (see japan-defence-budget).",
        "SIPRI revises past years at every release; all values here are from the April 2025 release.",
    ]
    meta = tivcast_meta(
        "series",
        unit,
        unit_label,
        MILEX_MEASURE + f" Unit: {unit_label}.",
        describe_release(
            MILEX_2025,
            "SIPRI Military Expenditure Database, April 2025 release (data 1949-2024)",
            "2025-04",
            {
                MILEX_2025: "SIPRI Military Expenditure Database, April 2025 release (data 1949-2024, "
                "constant prices in 2023 US$); world totals from the 'Regional totals' "
                "sheet."
            },
        ),
        series_coverage(rows),
        f"SIPRI Military Expenditure Database, April 2025 release, Stockholm International Peace Research "
        f"Institute, {SIPRI_MILEX_HOME}.",
        MILEX_TERMS,
        milex_gaps(dataset, rows, names),
        caveats,
        flags={k: SERIES_FLAGS[k] for k in ("sipri_estimate", "highly_uncertain", "gt10pct_estimated")},
    )
    return Dataset(
        dataset,
        title,
        description,
        "series",
        SERIES_HEADER,
        rows,
        series_fields(unit_label, "Calendar year.", maximum=1 if dataset == "milex-share-gdp" else None),
        ["country_code", "year"],
        [SRC_MILEX],
        LICENCE_SIPRI,
        meta,
    )


# ---- Japan defence budget
def budget_sources(rows: Series) -> tuple[list[dict[str, str]], dict[str, str]]:
    used = {r[4] for r in rows}
    sources: list[dict[str, str]] = []
    labels: dict[str, str] = {}
    for url, (label, text) in BUDGET_SOURCES.items():
        if label in used:
            publisher = "Japan Ministry of Finance" if label.startswith("mof") else "Japan Ministry of Defense"
            sources.append(
                {"title": text, "path": url, "publisher": publisher, "version": label, "retrieved": RETRIEVED}
            )
            labels[label] = f"{text} ({url})"
    return sources, labels


def derivation_notes(raw: Sequence[Mapping[str, str]], basis: set[str]) -> list[str]:
    return [
        f"FY{r['fiscal_year']} ({r['basis']}) is tivcast's derivation, flagged derived_from_stated_yoy: {r['note']}."
        for r in raw
        if r["derivation"] == "derived_from_stated_yoy" and r["basis"] in basis
    ]


BUDGET_COMMON_CAVEATS = [
    "Nominal yen, not adjusted for inflation; initial budgets only.",
    "Small differences between white-paper editions exist (the 2004 edition gives FY2004, excluding basis, "
    "as 48,764; the 2011 edition 48,760). Each value is that of its own source (see source_release).",
    "FY2002-FY2009 were read from a third-party mirror (studylib.net) of Defense of Japan 2011 (English), "
    "Fig. II-3-4-2.",
    "Not SIPRI's definition: SIPRI's Japan figure for FY2024 is ¥8,776.4 billion (see the milex resources).",
]


def budget_meta(
    rows: Series,
    raw: Sequence[Mapping[str, str]],
    rid: str,
    published: str,
    gaps: list[str],
    caveats: list[str],
    flag_keys: Sequence[str],
) -> dict[str, Any]:
    _, labels = budget_sources(rows)
    return tivcast_meta(
        "series",
        "JPY_100_million",
        "100 million yen (億円, oku-yen)",
        BUDGET_MEASURE,
        describe_release(
            rid,
            "Japan's initial defence budgets compiled by tivcast from MOD Defense White Papers and MOF publications",
            published,
            labels,
        ),
        series_coverage(rows),
        "Japan Ministry of Defense, Defense of Japan (Defense White Paper), and Ministry of Finance, 'Finance' "
        "(ファイナンス) and budget documents; compiled by tivcast (see sources per source_release).",
        MOD_TERMS,
        gaps,
        caveats,
        flags={k: SERIES_FLAGS[k] for k in flag_keys},
    )


def budget_datasets(total: Series, headline: Series, raw: Sequence[Mapping[str, str]]) -> list[Dataset]:
    common_gaps = [
        "FY2000 and FY2001 were not found in a source that could be verified; the series starts in FY2002.",
        "Supplementary budgets are not included.",
    ]
    total_meta = budget_meta(
        total,
        raw,
        "mod-mof-fy2002-fy2025",
        "2025-04",
        [
            *common_gaps,
            "FY2026: only the government draft on the Defense Buildup Program basis was found "
            "(see japan-defence-budget-headline); no FY2026 total on this basis, so FY2026 is a gap here.",
        ],
        [*derivation_notes(raw, {BUDGET_TOTAL_BASIS}), *BUDGET_COMMON_CAVEATS],
        ["basis=total_incl_SACO_USrealignment", "derived_from_stated_yoy"],
    )
    headline_meta = budget_meta(
        headline,
        raw,
        "mod-mof-fy2002-fy2026",
        "2025-12",
        common_gaps,
        [
            "The basis changes in FY2023. FY2002-FY2022 are the MOD headline 'defense-related expenditures' "
            "excluding SACO costs, the local-burden part of US-forces realignment costs and other items "
            "(basis=excl_SACO_USrealignment_etc; the exclusions vary slightly by year). From FY2023 the headline "
            "is the Defense Buildup Program target expenditure (basis=dbp_target_expenditure). MOD states FY2023 "
            "as +14,213 (+27.4%) on FY2022, but the bases differ: read the basis token in `flag` before comparing "
            "across FY2022/FY2023, and use japan-defence-budget for one basis throughout.",
            "FY2026 (88,093) is the government draft budget of December 2025 (flag government_draft), seen only "
            "through a mirror (wic-net.com) of the MOF document; it is not an enacted budget.",
            *derivation_notes(raw, set(BUDGET_HEADLINE_BASES)),
            *BUDGET_COMMON_CAVEATS,
        ],
        [
            "basis=excl_SACO_USrealignment_etc",
            "basis=dbp_target_expenditure",
            "derived_from_stated_yoy",
            "government_draft",
        ],
    )
    year_doc = "Fiscal year, by its starting calendar year (FY2024 = April 2024 - March 2025)."
    return [
        Dataset(
            "japan-defence-budget",
            "Japan defence budget, FY2002-FY2025, total incl. SACO and US realignment (100 million yen)",
            "Japan's initial defence budget by fiscal year (April-March; year = the starting year), in 100 "
            "million yen (億円), on one basis throughout: the total including SACO-related costs and the "
            "US-forces realignment costs (local-burden part), the figure news reports quote (79,496 = "
            "¥7.9496 trillion for FY2024). Compiled by tivcast from MOD Defense White Papers and MOF "
            "publications, one source per row (source_release). FY2012 and FY2014 are derived from stated "
            "year-on-year changes (flag derived_from_stated_yoy). FY2000-FY2001 and FY2026 are gaps.",
            "series",
            SERIES_HEADER,
            total,
            series_fields("100 million yen", year_doc, countries=["JPN"]),
            ["country_code", "year"],
            budget_sources(total)[0],
            LICENCE_MOD,
            total_meta,
        ),
        Dataset(
            "japan-defence-budget-headline",
            "Japan defence budget, MOD headline figure, FY2002-FY2026 (100 million yen; basis changes in FY2023)",
            "The Ministry of Defense's headline defence budget by fiscal year (April-March; year = the "
            "starting year), in 100 million yen (億円). WARNING: the basis changes in FY2023. To FY2022 the "
            "headline excludes SACO costs, the local-burden part of US-forces realignment costs and other "
            "items (flag basis=excl_SACO_USrealignment_etc); from FY2023 it is the Defense Buildup Program "
            "target expenditure (basis=dbp_target_expenditure). FY2026 is the government draft of December "
            "2025 (flag government_draft). For one consistent basis use japan-defence-budget.",
            "series",
            SERIES_HEADER,
            headline,
            series_fields("100 million yen", year_doc, countries=["JPN"]),
            ["country_code", "year"],
            budget_sources(headline)[0],
            LICENCE_MOD,
            headline_meta,
        ),
    ]


# ---- tables
def deals_dataset(rows: list[list[str]]) -> Dataset:
    column = {name: i for i, name in enumerate(DEAL_COLUMNS)}
    years = [int(r[column["year_of_order"]]) for r in rows]
    countries = sorted({r[column["recipient_code"]] for r in rows} | {"JPN"})
    fields = [
        {
            "name": "deal_id",
            "type": "integer",
            "description": "tivcast's row number in this release, not a SIPRI identifier.",
            "constraints": {"required": True, "unique": True},
        },
        text_field("recipient_code", "Recipient code (countries resource); XSV = South Vietnam.", required=True),
        text_field("recipient_name", "Recipient as named by SIPRI."),
        text_field("supplier_code", "Supplier code (always JPN).", required=True),
        text_field("supplier_name", "Supplier as named by SIPRI."),
        {"name": "year_of_order", "type": "integer", "description": "Year of order (or of the decision)."},
        {"name": "year_of_order_uncertain", "type": "boolean", "description": "SIPRI marks the year with `?`."},
        {"name": "number_ordered", "type": "integer", "description": "Number ordered; empty if not given."},
        {"name": "number_ordered_uncertain", "type": "boolean", "description": "SIPRI marks it with `?`."},
        text_field("weapon_designation", "Weapon designation."),
        text_field("weapon_description", "SIPRI's weapon description."),
        {"name": "number_delivered", "type": "integer", "description": "Number delivered."},
        {"name": "number_delivered_uncertain", "type": "boolean", "description": "SIPRI marks it with `?`."},
        text_field("years_of_delivery", "Years of delivery, `; `-separated as in SIPRI's register."),
        text_field("status", "New or second-hand, as SIPRI states."),
        text_field("comments", "SIPRI's comments."),
        {"name": "tiv_per_unit_million", "type": "number", "description": "TIV per unit, million TIV."},
        {"name": "tiv_total_order_million", "type": "number", "description": "TIV of the whole order, million TIV."},
        {"name": "tiv_delivered_million", "type": "number", "description": "TIV of deliveries, million TIV."},
        text_field("source_release", "Source release (sipri-at-2025).", required=True),
    ]
    meta = tivcast_meta(
        "table",
        "TIV_million",
        "million TIV (tiv_* columns)",
        TIV_MEASURE,
        describe_release(
            AT_2025,
            "SIPRI Trade Register, March 2025 release (data generated 13 Mar 2025)",
            "2025-03",
            {
                AT_2025: "SIPRI Arms Transfers Database, March 2025 release: Trade Register, "
                "all years, data generated 13 Mar 2025."
            },
        ),
        {"countries": countries, "start": min(years), "end": max(years)},
        "Information from the SIPRI Arms Transfers Database (Trade Register), Stockholm International Peace "
        f"Research Institute, March 2025 release (data generated 13 Mar 2025), {SIPRI_AT_HOME}.",
        AT_TERMS,
        [
            "Only transfers of major conventional arms that SIPRI records are listed; anything after the release's "
            "cut-off is missing (e.g. Australia's August 2025 selection of the upgraded Mogami-class frigate, a "
            "preferred-platform choice, not a contract)."
        ],
        [
            "J/FPS-3 radars for the Philippines: 4 ordered in 2020, 2 delivered in 2023-2024.",
            "The 2024 US order of PAC-3 MSE missiles produced in Japan has no number ordered and no deliveries "
            "recorded; its TIV columns are 0.",
            "tiv_* values are SIPRI's TIV (volume, not money).",
        ],
    )
    return Dataset(
        "japan-export-deals",
        "SIPRI-recorded arms deals with Japan as supplier, 1953-2024",
        f"Every deal in the SIPRI Trade Register (March 2025 release, data generated 13 Mar 2025) with Japan as "
        f"supplier: {len(rows)} deals ordered {min(years)}-{max(years)}. Columns follow SIPRI's register; "
        "SIPRI's `?` uncertainty marks are booleans in the *_uncertain columns; TIV columns are in million "
        "TIV (a volume measure, not money). deal_id is tivcast's row number in this release, not a SIPRI "
        "identifier. South Vietnam, which has no ISO code, carries tivcast's code XSV.",
        "table",
        DEAL_COLUMNS,
        rows,
        fields,
        ["deal_id"],
        [SRC_TRADE_REGISTER],
        LICENCE_SIPRI,
        meta,
    )


def pipeline_dataset(src: Path) -> Dataset:
    """Japan's deal pipeline (scripts/curate_pipeline.py): committed deals from the register, the rest sourced."""
    rows = build_pipeline(read_csv(src / "japan_arms_export_deals_sipri.csv"))
    years = sorted({int(y) for r in rows for y in r[PIPELINE_COLUMNS.index("delivery_years")].split(";") if y})
    meta = tivcast_meta(
        "table",
        "TIV_million",
        "million TIV per unit (tiv_per_unit_* columns)",
        PIPELINE_MEASURE,
        describe_release(
            PIPELINE_RELEASE,
            "tivcast's Japan export pipeline: SIPRI Trade Register (March 2025) rows, the policy timeline's "
            "statements, and tivcast's stated assumptions",
            PIPELINE_RELEASE.removeprefix("tivcast-pipeline-"),
            {AT_2025: "SIPRI Arms Transfers Database, March 2025 release: Trade Register (committed rows)."},
        ),
        {"countries": sorted({r[1] for r in rows}), "start": years[0], "end": years[-1]},
        PIPELINE_CITATION,
        AT_TERMS,
        ["Only deals tivcast could source; rumoured talks without a statement are left out. Licensed production "
         "abroad is counted in Japan's exports, as SIPRI's register does (the 8 Australian-built frigates are a "
         "line of their own)."],
        ["Each row's source_* columns say which figures are SIPRI's, which a published statement's and which "
         "tivcast's assumptions; the latter carry a low / central / high range where it matters.",
         "Probabilities are tivcast's assumptions for the built-in scenarios; analysts change them in custom "
         "scenarios."],
    )
    return Dataset(
        "japan-export-pipeline",
        "Japan's arms-export pipeline: committed and prospective deals, every figure sourced",
        f"One row per deal ({len(rows)} deals): recipient, system, status (delivering, ordered, selected, "
        "prospect), units ordered and delivered, TIV per unit (low / central / high), expected delivery years, "
        "scenario probabilities and slip odds, and for each figure whether it is SIPRI's, a published "
        "statement's, or tivcast's own assumption. The forecasts of Japan's exports are built from it.",
        "table",
        PIPELINE_COLUMNS,
        rows,
        pipeline_fields(),
        ["deal_id"],
        [SRC_TRADE_REGISTER, TIMELINE_SOURCE],
        LICENCE_SIPRI,
        meta,
    )


def plan_dataset(rows: list[list[str]]) -> Dataset:
    years = [int(y) for r in rows for y in re.findall(r"FY(\d{4})", r[0])]
    fields = [
        text_field("period", "Fiscal years the figure covers (FY2023-FY2027) or a single fiscal year.", required=True),
        text_field("item", "tivcast's identifier of the plan figure.", required=True, unique=True),
        {"name": "value_yen", "type": "integer", "description": "Amount in yen, as stated (approximate)."},
        {
            "name": "value_oku_yen",
            "type": "integer",
            "description": "The same amount in 100 million yen (億円), for comparison with the budget series.",
        },
        text_field("currency", "JPY."),
        text_field("qualifier", "The plan's own qualifier (all figures are approximate, '程度')."),
        text_field("description", "What the figure covers."),
        text_field("source_url", "Source address."),
    ]
    meta = tivcast_meta(
        "table",
        "JPY",
        "yen (value_yen); 100 million yen (value_oku_yen)",
        "Planned amounts of Japan's Defense Buildup Program for FY2023-FY2027, in nominal yen.",
        describe_release(
            "mod-dbp-fy2023-fy2027",
            "Defense Buildup Program (approved by the Cabinet on 16 "
            "December 2022), as quoted in MOD Defense White Paper 2023",
            "2022-12-16",
            {"mod-wp-2023": f"MOD Defense White Paper 2023 ({SRC_PLAN['path']})"},
        ),
        {"countries": ["JPN"], "start": min(years), "end": max(years)},
        "Japan Ministry of Defense, Defense Buildup Program (FY2023-FY2027), quoted in Defense of Japan 2023 "
        "(Defense White Paper).",
        MOD_TERMS,
        ["Only the plan's headline figures; no year-by-year plan amounts except FY2027."],
        [
            "All figures are approximate ('程度'). The plan states about ¥40.5 trillion from annual budgets, "
            "assuming separate measures of about ¥1.6 trillion (facilities) and ¥0.9 trillion (settlement "
            "surplus); the three add up to the ¥43 trillion defence-buildup level.",
            "value_oku_yen is value_yen / 100,000,000 (exact).",
        ],
    )
    return Dataset(
        "japan-buildup-plan",
        "Japan Defense Buildup Program FY2023-FY2027: plan figures",
        "The figures of Japan's Defense Buildup Program for FY2023-FY2027, as quoted in MOD Defense White Paper "
        "2023: a defence-buildup level of about ¥43 trillion over five years; about ¥40.5 trillion from annual "
        "budgets, with about ¥8.9 trillion in FY2027; separate measures of about ¥1.6 trillion (facility "
        "construction) and ¥0.9 trillion (settlement surplus); about ¥43.5 trillion in new contracts (material "
        "expenses). All figures are approximate. Amounts in yen and in 100 million yen (億円).",
        "table",
        PLAN_COLUMNS,
        rows,
        fields,
        ["item"],
        [SRC_PLAN],
        LICENCE_MOD,
        meta,
    )


# ---- policy
TIMELINE_SOURCE = {
    "title": "tivcast timeline of Japan's arms-export policy: official sources (MOFA, MOD, Kantei, House of "
    "Councillors) and news reports, cited per event in the `sources` column",
    "publisher": "tivcast (compilation); the cited publishers for the facts",
    "version": f"tivcast-{RETRIEVED}",
    "retrieved": RETRIEVED,
    "note": "The 1967-04-21 and 1976-02-27 entries rely on a mirror reproducing the MOFA text '武器輸出三原則等'; "
    "the MOFA page itself was not available.",
}
REGIME_IDS = list(REGIMES)


def timeline_sources(rows: Sequence[Sequence[str]]) -> list[dict[str, str]]:
    """The compilation itself, then every URL cited by an event (first citation order)."""
    urls = dict.fromkeys(url for row in rows for url in row[EVENT_COLUMNS.index("sources")].split("|"))
    cited = [
        {
            "title": f"Cited by policy-events: {re.sub(r'^https?://', '', url).split('/')[0]}",
            "path": url,
            "retrieved": RETRIEVED,
        }
        for url in urls
    ]
    return [TIMELINE_SOURCE, *cited]


def events_dataset(rows: list[list[str]]) -> Dataset:
    years = [int(r[0][:4]) for r in rows]
    fields = [
        text_field(
            "date",
            "Date of the event: YYYY-MM-DD, or YYYY-MM when only the month is verified.",
            required=True,
            pattern=r"\d{4}-\d{2}(-\d{2})?",
        ),
        text_field("date_precision", "day or month.", required=True, enum=["day", "month"]),
        text_field("category", "Kind of event.", required=True, enum=sorted({r[2] for r in rows})),
        text_field("title", "What happened (tivcast's summary of the sources).", required=True),
        text_field(
            "regime",
            "The export regime this event opens (policy-regimes id); empty when the event does not change the regime.",
            enum=["", *REGIME_IDS[1:]],
        ),
        text_field(
            "verified",
            "yes: date confirmed in an official or news source; partial: only the month.",
            required=True,
            enum=["partial", "yes"],
        ),
        text_field("sources", "Source URLs, `|`-separated.", required=True),
        text_field("note", "Remarks on the event or its sources."),
    ]
    meta = tivcast_meta(
        "events",
        None,
        None,
        "Dated events in Japan's arms-export policy: policy statements and revisions, strategies, laws, "
        "programmes, export bids and deals.",
        describe_release(
            f"tivcast-timeline-{RETRIEVED}",
            f"tivcast timeline compiled {RETRIEVED}",
            RETRIEVED,
            {f"tivcast-{RETRIEVED}": "Compiled by tivcast from the per-event sources."},
        ),
        {
            "countries": ["JPN"],
            "start": min(years),
            "end": max(years),
            "first_date": rows[0][0],
            "last_date": rows[-1][0],
        },
        "tivcast, Japan arms-export policy timeline; cite the sources listed for each event.",
        TIVCAST_TERMS,
        [
            "The July 2014 approval of PAC-2 parts exports is left out: its exact date could not be verified.",
            "The December 2004 ballistic-missile-defense exception has a verified month only (verified partial).",
        ],
        [
            "regime is set only on events that open a new export regime (see policy-regimes); strategy, "
            "programme, law, bid and deal events leave it empty.",
            "The 1967-04-21 and 1976-02-27 entries rely on a mirror reproducing the MOFA text; the MOFA page itself "
            "was not available.",
            "2025-08-05: Australia's choice of the upgraded Mogami-class frigate is a preferred-platform "
            "selection, not a signed contract; contracts were targeted for 2026.",
            "Parenthetical remarks that followed some source URLs in the compiled timeline were moved to `note`.",
        ],
    )
    return Dataset(
        "policy-events",
        "Japan's arms-export policy timeline, 1967-2025",
        f"{len(rows)} dated events in Japan's arms-export policy from {rows[0][0]} to {rows[-1][0]}: the Three "
        "Principles of 1967 and the de facto ban of 1976, the exceptions of 1983, 2004 and 2011, the 2014 "
        "Three Principles on Transfer of Defense Equipment and Technology and their 2023 and 2024 revisions, "
        "with the strategies, laws, programmes (GCAP), bids and deals around them. Each event lists its "
        "sources; `regime` names the export regime an event opens (see policy-regimes).",
        "events",
        EVENT_COLUMNS,
        rows,
        fields,
        ["date", "title"],
        timeline_sources(rows),
        LICENCE_TIVCAST,
        meta,
    )


def regimes_dataset(rows: list[list[str]], events: Sequence[Sequence[str]]) -> Dataset:
    opened = [r[3] for r in rows if r[3]]
    fields = [
        text_field("id", "Regime id (referenced by policy-events.regime).", required=True, unique=True),
        text_field("title", "Short name.", required=True),
        text_field("description", "What the regime allowed or forbade, and what opened it."),
        text_field(
            "opened",
            "Date of the event that opened the regime (YYYY-MM-DD or YYYY-MM); empty for pre_principles.",
            pattern=r"\d{4}-\d{2}(-\d{2})?",
        ),
    ]
    meta = tivcast_meta(
        "regimes",
        None,
        None,
        "Japan's successive arms-export regimes; each lasts until the next one opens.",
        describe_release(
            f"tivcast-timeline-{RETRIEVED}",
            f"tivcast timeline compiled {RETRIEVED}",
            RETRIEVED,
            {f"tivcast-{RETRIEVED}": "Written by tivcast from the policy-events sources."},
        ),
        {"countries": ["JPN"], "start": int(opened[0][:4]), "end": int(opened[-1][:4])},
        "tivcast, Japan arms-export regimes; cite the sources of the opening events (policy-events).",
        TIVCAST_TERMS,
        ["pre_principles has no opening date: the sources give no start for it."],
        [
            "Descriptions are tivcast's summaries of the opening events' sources.",
            "A regime's exceptions add to the one before it (e.g. the 1983 exception did not lift the 1976 ban "
            "for other destinations).",
        ],
    )
    return Dataset(
        "policy-regimes",
        "Japan's arms-export regimes",
        "Japan's arms-export regimes in order, from before the 1967 Three Principles to the 2024 revision for "
        "GCAP fighter exports. Each row describes what the regime allowed or forbade and the event that "
        "opened it (opened = that event's date in policy-events); a regime lasts until the next one opens.",
        "regimes",
        ("id", "title", "description", "opened"),
        rows,
        fields,
        ["id"],
        timeline_sources(events),
        LICENCE_TIVCAST,
        meta,
    )


# ------------------------------------------------------------------------------------------ package
REFERENCE_FILES = {
    "countries": [
        "arms_exports_tiv_sipri_1950_2023.csv",
        "arms_exports_tiv_sipri_2024.csv",
        "arms_imports_tiv_sipri_1950_2023.csv",
        "arms_transfers_bilateral_sipri_2024.csv",
        "military_expenditure_sipri.csv",
        "military_expenditure_regional_sipri.csv",
        "arms_exports_tiv_wdi.csv",
        "japan_arms_export_deals_sipri.csv",
    ],
    "arms-exports": ["arms_exports_tiv_sipri_1950_2023.csv", "arms_exports_tiv_sipri_2024.csv"],
    "milex-constant-usd": ["military_expenditure_sipri.csv", "military_expenditure_regional_sipri.csv"],
    "milex-current-usd": ["military_expenditure_sipri.csv", "military_expenditure_regional_sipri.csv"],
    "milex-share-gdp": ["military_expenditure_sipri.csv"],
    "japan-defence-budget": ["japan_mod_defense_budget.csv"],
    "japan-defence-budget-headline": ["japan_mod_defense_budget.csv"],
    "japan-export-deals": ["japan_arms_export_deals_sipri.csv"],
    "japan-export-pipeline": ["japan_arms_export_deals_sipri.csv", "japan_arms_export_policy_timeline.csv"],
    "japan-buildup-plan": ["japan_defense_buildup_program_2023_2027.csv"],
    "policy-events": ["japan_arms_export_policy_timeline.csv"],
    "policy-regimes": ["japan_arms_export_policy_timeline.csv"],
}


def resource(ds: Dataset, data: bytes, src: Path) -> dict[str, Any]:
    schema: dict[str, Any] = {"fields": ds.fields, "primaryKey": ds.primary_key, "missingValues": [""]}
    require([f["name"] for f in ds.fields] == list(ds.header), ds.name)
    if ds.kind == "series":
        schema["foreignKeys"] = [{"fields": "country_code", "reference": {"resource": "countries", "fields": "code"}}]
    derived_from = [{"file": name, "sha256": sha256((src / name).read_bytes())} for name in REFERENCE_FILES[ds.name]]
    return {
        "name": ds.name,
        "path": f"{ds.name}.csv",
        "profile": "tabular-data-resource",
        "title": ds.title,
        "description": ds.description,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": len(data),
        "hash": f"sha256:{sha256(data)}",
        "schema": schema,
        "sources": ds.sources,
        "licenses": ds.licenses,
        "tivcast": {**ds.meta, "rows": len(ds.rows), "derived_from": derived_from},
    }


def package(resources: list[dict[str, Any]], created: str) -> dict[str, Any]:
    return {
        "profile": "data-package",
        "name": "tivcast-curated",
        "title": "tivcast curated data: arms exports (SIPRI TIV), military expenditure, Japan's defence budget "
        "and arms-export policy",
        "description": "The datasets shipped inside the tivcast package. Arms exports by supplier in SIPRI "
        "trend-indicator values (a volume measure, not money) for Japan, South Korea, China, the 25 largest "
        "suppliers and the world, 1950-2024, each value labelled with its SIPRI release; SIPRI military "
        "expenditure for the same countries and the world; Japan's defence budget by fiscal year and the "
        "FY2023-FY2027 buildup plan; Japan's arms-export policy timeline and regimes; SIPRI-recorded deals "
        "with Japan as seller; and the entity list that maps source names to codes. Nothing is estimated or "
        "interpolated; the one calculated figure (the 2024 world arms-export total, a lower bound) is flagged. "
        "SIPRI data: non-commercial use only without SIPRI's agreement; credit 'Information from the SIPRI "
        "Arms Transfers Database' / 'SIPRI Military Expenditure Database'.",
        "created": created,
        "keywords": ["arms transfers", "SIPRI", "TIV", "military expenditure", "Japan", "defence budget"],
        "licenses": [
            {
                "name": "other-nc",
                "title": "Mixed terms, see each resource: SIPRI-derived resources "
                "are for non-commercial use only without SIPRI's agreement",
                "path": SIPRI_TERMS_2016,
            }
        ],
        "contributors": [
            {"title": "tivcast project", "role": "author"},
            {"title": SIPRI, "role": "contributor", "path": "https://www.sipri.org"},
            {"title": MOD, "role": "contributor"},
        ],
        "tivcast": {
            "generator": "scripts/curate_data.py",
            "retrieved": RETRIEVED,
            "release_labels": {
                AT_2024: "SIPRI Arms Transfers Database, March 2024 release",
                AT_2025: "SIPRI Arms Transfers Database, March 2025 release",
                MILEX_2025: "SIPRI Military Expenditure Database, April 2025 release",
            },
        },
        "resources": resources,
    }


def build(src: Path) -> list[Dataset]:
    entities = build_entities(src)
    check_assigned_codes(entities)
    countries = country_rows(entities)
    names = {code: name for code, name, _, _ in countries}
    arms, suppliers, ranking = build_arms_exports(src)
    milex = build_milex(src, suppliers)
    total, headline, raw_budget = build_budget(src)
    datasets = [countries_dataset(countries), arms_dataset(src, arms, suppliers, ranking, names)]
    datasets += [milex_dataset(name, rows, names) for name, rows in milex.items()]
    datasets += budget_datasets(total, headline, raw_budget)
    events = build_events(src)
    datasets += [
        deals_dataset(build_deals(src)),
        pipeline_dataset(src),
        plan_dataset(build_plan(src)),
        events_dataset(events),
        regimes_dataset(build_regimes(), events),
    ]
    codes = set(names)
    for ds in datasets:
        if ds.kind == "series":
            require({r[0] for r in ds.rows} <= codes, ds.name)
    return datasets


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="reference-data directory")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (api/data)")
    parser.add_argument("--created", default=DEFAULT_CREATED, help="datapackage `created` (ISO 8601)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    resources: list[dict[str, Any]] = []
    for ds in build(args.source):
        data = csv_bytes(ds.header, ds.rows)
        (args.out / f"{ds.name}.csv").write_bytes(data)
        resources.append(resource(ds, data, args.source))
        print(f"{ds.name}.csv: {len(ds.rows)} rows, {len(data)} bytes")
    descriptor = json.dumps(package(resources, args.created), indent=2, ensure_ascii=False) + "\n"
    (args.out / "datapackage.json").write_text(descriptor, encoding="utf-8")
    print(f"datapackage.json: {len(resources)} resources")


if __name__ == "__main__":
    main()
