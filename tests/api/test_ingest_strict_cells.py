"""A cell is read as what it says or refused: no decimal comma read as thousands, no flag outside the dataset's
vocabulary (or against its value), no pipeline cell outside its column's type. Each refusal is a 422 naming the
line, the column and the value, and stores nothing; the shipped files still load as they are."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.datasets.parsers import Rules, parse_series, shipped_flags
from api.datasets.pipeline_ingest import CELLS, parse_pipeline_file
from api.errors import InvalidFile
from forecasting import InvalidInputs
from forecasting.pipeline import deal_from_row
from tests.conftest import Databases
from tests.security.conftest import AUTH, KEY, assert_problem, serve

DATA = Path(__file__).resolve().parents[2] / "api" / "data"
SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
PIPELINE = DATA / "japan-export-pipeline.csv"
HEADER = "country_code,year,value,flag,source_release\n"
COUNTRIES = {"JPN": "JPN", "KOR": "KOR", "USA": "USA", "TUR": "TUR", "WLD": "WLD", "PHL": "PHL", "AUS": "AUS",
             "JAPAN": "JPN", "SOUTH KOREA": "KOR", "UNITED STATES": "USA", "TURKIYE": "TUR",
             "TOTAL WORLD EXPORT": "WLD", "PHILIPPINES": "PHL"}
EXPORTS = Rules(dataset="arms-exports", sipri_tables=("exports by", "supplier"), minimum=0)


def long(row: str, dataset: str = "arms-exports") -> InvalidFile:
    """The refusal of a long CSV whose line 3 is ``row`` (line 2 is a valid row)."""
    data = f"{HEADER}JPN,2023,13,,\n{row}\n".encode()
    with pytest.raises(InvalidFile) as caught:
        parse_series(data, COUNTRIES, rules=Rules(dataset=dataset, minimum=0))
    return caught.value


class TestValues:
    @pytest.mark.parametrize(("cell", "why"), [
        ('"0,5"', "a decimal comma? use a point"),  # was stored as 5
        ('"2,1"', "a decimal comma? use a point"),  # was 21
        ('"1,234"', "thousands separators are not accepted: write 1234"),  # no SIPRI export groups digits
        ("2_1", "without '_'"),  # float() reads 21
        ("\u0662\u0661", "ASCII digits"),  # float() reads Arabic-Indic 21
        ("nan", "is not a finite number"),
        ("1e400", "is not a finite number"),
        ("0x15", "is not a number"),
    ])
    def test_a_value_that_is_not_a_plain_number_is_named(self, cell: str, why: str) -> None:
        error = long(f"JPN,2024,{cell},,")
        assert (error.line, error.column) == (3, "value")
        assert repr(cell.strip('"')) in error.message and why in error.message

    @pytest.mark.parametrize(("cell", "value"), [("21", 21.0), ("0.5", 0.5), ("-0", 0.0), ("2.5e3", 2500.0),
                                                 ("5.39134496e+18", 5.39134496e18)])
    def test_plain_decimal_and_scientific_numbers_load(self, cell: str, value: float) -> None:
        parsed = parse_series(f"{HEADER}JPN,2024,{cell},,\n".encode(), COUNTRIES, rules=Rules(dataset="x"))
        assert parsed.rows[0].value == value

    def test_in_sipri_s_table_too(self) -> None:
        data = SIPRI_FILE.read_bytes().replace(b"Japan,,,,13,21,", b'Japan,,,,13,"2,1",')
        with pytest.raises(InvalidFile) as caught:
            parse_series(data, COUNTRIES, rules=EXPORTS)
        assert (caught.value.line, caught.value.column) == (11, "2024") and "'2,1'" in caught.value.message

    @pytest.mark.parametrize("year", ["2_024", "+2024", "\uff12\uff10\uff12\uff14"])
    def test_a_year_is_ascii_digits(self, year: str) -> None:
        error = long(f"JPN,{year},21,,")
        assert (error.line, error.column) == (3, "year") and repr(year) in error.message


class TestFlags:
    @pytest.mark.parametrize(("row", "dataset", "named"), [
        ("JPN,2024,21,lt_0.5m,", "arms-exports", "the value is 21"),  # 21 flagged "less than 0.5 million"
        ("JPN,2024,21,weird,", "arms-exports", "'weird' is not a flag of arms-exports; arms-exports's flags: "
                                               "lt_0.5m, sum_of_listed_suppliers"),
        ("JPN,2024,21,sum_of_listed_suppliers,", "arms-exports", "world total (WLD)"),
        ("JPN,2024,0,lt_0.5m;lt_0.5m,", "arms-exports", "repeats 'lt_0.5m'"),
        ("JPN,2024,0,lt_0.5m;,", "arms-exports", "an empty term"),
        ("JPN,2024,500,lt_0.5m,", "milex-current-usd", "'lt_0.5m' is not a flag of milex-current-usd"),
        ("JPN,2024,500,basis=dbp_target_expenditure;basis=excl_SACO_USrealignment_etc,",
         "japan-defence-budget-headline", "a value has one"),
    ])
    def test_a_flag_outside_the_vocabulary_or_against_its_value_is_refused(
        self, row: str, dataset: str, named: str
    ) -> None:
        error = long(row, dataset)
        assert (error.line, error.column) == (3, "flag")
        assert named in error.message

    @pytest.mark.parametrize(("row", "dataset"), [
        ("JPN,2024,0,lt_0.5m,", "arms-exports"),
        ("WLD,2024,29300,sum_of_listed_suppliers,", "arms-exports"),
        ("JPN,2024,500,sipri_estimate,", "milex-current-usd"),
        ("JPN,2024,500,basis=dbp_target_expenditure;government_draft,", "japan-defence-budget-headline"),
    ])
    def test_a_flag_of_the_vocabulary_loads(self, row: str, dataset: str) -> None:
        parsed = parse_series(f"{HEADER}{row}\n".encode(), COUNTRIES, rules=Rules(dataset=dataset))
        assert parsed.rows[0].flag == row.split(",")[3]

    def test_the_vocabulary_is_the_descriptor_s(self) -> None:
        package = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
        for resource in package["resources"]:
            if resource["tivcast"]["kind"] == "series":
                assert shipped_flags(resource["name"]) == frozenset(resource["tivcast"].get("flags", {}))

    def test_sipri_s_zero_takes_its_flag(self) -> None:
        parsed = parse_series(SIPRI_FILE.read_bytes(), COUNTRIES, rules=EXPORTS)
        assert {(r.country_code, r.year, r.flag) for r in parsed.rows if r.flag} == {("TUR", 2023, "lt_0.5m")}


def pipeline(deal_id: str = "phl-jfps3-radars", **changes: str) -> bytes:
    body = list(csv.DictReader(io.StringIO(PIPELINE.read_text(encoding="utf-8"))))
    for row in body:
        if row["deal_id"] == deal_id:
            row.update(changes)
    out = io.StringIO()
    writer = csv.DictWriter(out, list(body[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(body)
    return out.getvalue().encode()


COLUMNS = PIPELINE.read_text(encoding="utf-8").split("\n", 1)[0].split(",")
BAD_DEALS = {  # column (padded to tell cases apart): (value, what the message says); on the first deal (line 2)
    "requires_liberalisation": ("maybe", "is not true or false"),  # was served as "maybe", read as False
    "past_deliveries": ("2023:13;2024", "'2024' is not year:TIV"),  # the 2024 entry was dropped
    "past_deliveries ": ("2023:-13;2024:13", "cannot be negative"),
    "past_deliveries  ": ("2023:13;2023:13", "gives 2023 twice"),
    "past_deliveries   ": ("2019:13;2024:13", "precedes the order (2020)"),
    "delivery_years": ("2025;2025", "gives 2025 twice"),  # was half the remaining units, lost
    "units_ordered": ("inf", "is not a number"),
    "tiv_per_unit_central": ("13,5", "a decimal comma? use a point"),
    "slip_probability": ("", "is empty"),
    "order_year": ("2_020", "is not a year"),
    "register_deal_id": ("x39", "is not a whole number"),
    "units_remaining_high": ("", "give both"),  # the shipped PAC-3 row's range, half of it (line 3)
    "recipient_code": ("Philippines", "write 'PHL'"),
}


class TestPipelineCells:
    @pytest.mark.parametrize("case", sorted(BAD_DEALS))
    def test_a_cell_outside_its_column_s_type_is_named(self, case: str) -> None:
        column = case.strip()
        value, why = BAD_DEALS[case]
        deal, line = ("usa-pac3-mse", 3) if column == "units_remaining_high" else ("phl-jfps3-radars", 2)
        with pytest.raises(InvalidFile) as caught:
            parse_pipeline_file(pipeline(deal, **{column: value}), COLUMNS, COUNTRIES)
        assert (caught.value.line, caught.value.column) == (line, column)
        assert why in caught.value.message and (value in caught.value.message or not value)

    def test_the_shipped_file_loads_as_it_is(self) -> None:
        records = parse_pipeline_file(PIPELINE.read_bytes(), COLUMNS, COUNTRIES)
        assert records == list(csv.DictReader(io.StringIO(PIPELINE.read_text(encoding="utf-8"))))

    def test_every_typed_column_of_the_schema_is_checked(self) -> None:
        package = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
        fields = next(r for r in package["resources"] if r["name"] == "japan-export-pipeline")["schema"]["fields"]
        typed = {f["name"] for f in fields if f["type"] != "string"}
        assert typed <= set(CELLS) <= {f["name"] for f in fields}

    @pytest.mark.parametrize(("column", "value"), [("requires_liberalisation", "maybe"),
                                                   ("past_deliveries", "2023:13;2024"),
                                                   ("past_deliveries", "2023:-13")])
    def test_the_forecasting_core_refuses_them_too(self, column: str, value: str) -> None:
        row = next(csv.DictReader(io.StringIO(PIPELINE.read_text(encoding="utf-8"))))
        with pytest.raises(InvalidInputs) as caught:
            deal_from_row({**row, column: value})
        assert caught.value.field == f"pipeline.phl-jfps3-radars.{column}"
        assert deal_from_row({**row, "requires_liberalisation": True}).requires_liberalisation


@pytest.fixture(scope="module")
def admin(databases: Databases) -> Iterator[TestClient]:
    with serve(databases.copy(), admin_api_key=KEY, rate_limit=None) as client:
        yield client


@pytest.mark.parametrize(("dataset", "data", "column", "value"), [
    ("arms-exports", f"{HEADER}WLD,2024,29300,,\nJPN,2024,\"0,5\",,\n".encode(), "value", "'0,5'"),
    ("japan-export-pipeline", pipeline(requires_liberalisation="maybe"), "requires_liberalisation", "'maybe'"),
], ids=["decimal-comma", "pipeline-boolean"])
def test_the_upload_answers_422_and_the_current_release_stays(
    admin: TestClient, dataset: str, data: bytes, column: str, value: str
) -> None:
    before = admin.get(f"/v1/datasets/{dataset}").json()["release"]
    response = admin.post(f"/v1/admin/datasets/{dataset}/releases", content=data,
                          headers={**AUTH, "Content-Type": "text/csv"})
    body = assert_problem(response, 422)
    assert body["errors"][0]["line"] == 3 - (dataset != "arms-exports") and body["errors"][0]["column"] == column
    assert value in body["errors"][0]["message"]
    assert admin.get(f"/v1/datasets/{dataset}").json()["release"] == before
