"""A served data package describes the CSVs it ships (a release without ``source_release``, a loaded pipeline)
and carries the vocabularies its descriptions name; ETags of dataset and country answers move with their own
content only, never because another dataset was loaded."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from frictionless import validate

from api.app import create_app
from api.datasets.packaging import fit_field
from api.settings import Settings
from tests.conftest import Databases

DATA = Path(__file__).resolve().parents[2] / "api" / "data"
KEY = "k" * 32
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "text/csv"}
BUDGET = "japan-defence-budget"
PIPELINE = "japan-export-pipeline"
DATASETS = sorted(
    r["name"] for r in json.loads((DATA / "datapackage.json").read_text())["resources"] if r["name"] != "countries"
)


def upload(client: TestClient, dataset: str, data: bytes, release: str) -> None:
    answer = client.post(f"/v1/admin/datasets/{dataset}/releases", params={"release": release}, content=data,
                         headers=AUTH)  # fmt: skip
    assert answer.status_code == 201, answer.text


def without_source_release(data: bytes) -> bytes:
    """The shipped budget file with only ``country_code,year,value,flag`` (README: source_release is optional)."""
    rows = list(csv.reader(io.StringIO(data.decode())))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(row[:4] for row in rows)
    return out.getvalue().encode()


@pytest.fixture(scope="module")
def server(databases: Databases) -> Iterator[TestClient]:
    """A database of the module's own; the uploads each test makes have release ids of their own."""
    settings = Settings(database_url=databases.copy(), admin_api_key=KEY, warm_on_start=False, rate_limit=None)
    with TestClient(create_app(settings)) as client:
        yield client


def package(client: TestClient, dataset: str, tmp_path: Path, **params: str) -> dict[str, Any]:
    response = client.get(f"/v1/datasets/{dataset}/datapackage", params=params)
    assert response.status_code == 200, response.text
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path)
    descriptor: dict[str, Any] = json.loads((tmp_path / "datapackage.json").read_text())
    return descriptor


def columns(path: Path) -> dict[str, list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {name: [row[name] for row in rows] for name in (rows[0] if rows else {})}


def check_against_csv(descriptor: dict[str, Any], directory: Path) -> None:
    """The descriptor's constraints hold for its CSVs, checked here without a validator."""
    for resource in descriptor["resources"]:
        cells = columns(directory / resource["path"])
        for field in resource["schema"]["fields"]:
            values = cells[field["name"]]
            present = [v for v in values if v != ""]
            rules = field.get("constraints", {})
            assert not rules.get("required") or len(present) == len(values), (resource["name"], field["name"])
            assert not rules.get("unique") or len(set(present)) == len(present), (resource["name"], field["name"])
            if "pattern" in rules:
                assert all(re.fullmatch(rules["pattern"], v) for v in present), (resource["name"], field["name"])
            if "enum" in rules:
                assert set(present) <= {str(v) for v in rules["enum"]}, (resource["name"], field["name"])
            if field.get("type") == "boolean":
                allowed = set(field.get("trueValues", ["true", "True", "TRUE", "1"]))
                allowed |= set(field.get("falseValues", ["false", "False", "FALSE", "0"]))
                assert set(present) <= allowed, (resource["name"], field["name"])


def referenced(text: Any) -> list[list[str]]:
    return [m.split(".") for m in re.findall(r"\btivcast((?:\.[A-Za-z_]\w*)+)", str(text or ""))]


def resolve(block: dict[str, Any], path: list[str]) -> Any:
    node: Any = block
    for part in filter(None, path):
        assert isinstance(node, dict) and part in node, f"tivcast.{'.'.join(path)} is not in the package"
        node = node[part]
    return node


def check_vocabularies(descriptor: dict[str, Any], directory: Path) -> int:
    """Every ``tivcast.<path>`` a field description names is in its resource's ``tivcast`` and lists every token
    the column uses; every one a package-level note names is in the package's ``tivcast``. The number checked."""
    checked = 0
    for resource in descriptor["resources"]:
        cells = columns(directory / resource["path"])
        for field in resource["schema"]["fields"]:
            for path in referenced(field.get("description")):
                vocabulary = resolve(resource.get("tivcast", {}), path)
                used = {t for v in cells[field["name"]] for t in v.split(";") if t}
                assert used <= set(vocabulary), (resource["name"], field["name"], used - set(vocabulary))
                checked += 1
    meta = descriptor["tivcast"]
    for text in json.dumps({k: v for k, v in meta.items() if k != "coverage"}).split('"'):
        for path in referenced(text):
            resolve(meta, path)
            checked += 1
    return checked


class TestPackagesDescribeTheirCsv:
    def test_a_release_without_source_release_validates(self, server: TestClient, tmp_path: Path) -> None:
        upload(server, BUDGET, without_source_release((DATA / f"{BUDGET}.csv").read_bytes()), "no-source")
        descriptor = package(server, BUDGET, tmp_path, release="no-source")
        fields = {f["name"]: f for f in descriptor["resources"][0]["schema"]["fields"]}
        assert "required" not in fields["source_release"].get("constraints", {})
        assert fields["country_code"]["constraints"]["required"] and fields["value"]["constraints"]["required"]
        check_against_csv(descriptor, tmp_path)
        report = validate(str(tmp_path / "datapackage.json"))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
        # the vocabulary lists what this release uses (no source release), not the shipped release's
        assert descriptor["resources"][0]["tivcast"]["release"]["source_releases"] == {}
        assert check_vocabularies(descriptor, tmp_path) >= 2

    def test_a_loaded_pipeline_validates(self, server: TestClient, tmp_path: Path) -> None:
        shipped = (DATA / f"{PIPELINE}.csv").read_text()
        upload(server, PIPELINE, shipped.replace(",true,", ",1,").replace(",false,", ",0,").encode(), "one-zero")
        descriptor = package(server, PIPELINE, tmp_path, release="one-zero")
        check_against_csv(descriptor, tmp_path)
        report = validate(str(tmp_path / "datapackage.json"))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])

    @pytest.mark.parametrize("dataset", DATASETS)
    def test_every_shipped_package_meets_its_constraints_and_names_its_vocabularies(
        self, server: TestClient, dataset: str, tmp_path: Path
    ) -> None:
        shipped = server.get(f"/v1/datasets/{dataset}/releases").json()["data"][-1]["release_id"]
        descriptor = package(server, dataset, tmp_path, release=shipped)
        check_against_csv(descriptor, tmp_path)
        check_vocabularies(descriptor, tmp_path)
        countries = descriptor["resources"][1]
        assert set(countries["tivcast"]["entity_types"]) >= set(columns(tmp_path / "countries.csv")["entity_type"])
        if "flag" in columns(tmp_path / f"{dataset}.csv"):
            assert descriptor["resources"][0]["tivcast"]["flags"]  # the shipped vocabulary, all of it

    def test_the_arms_exports_package_names_flags_source_releases_and_coverage(
        self, server: TestClient, tmp_path: Path
    ) -> None:
        descriptor = package(server, "arms-exports", tmp_path, release="sipri-at-2024_2025")
        meta = descriptor["resources"][0]["tivcast"]
        assert {"lt_0.5m", "sum_of_listed_suppliers"} <= set(meta["flags"])
        assert set(meta["release"]["source_releases"]) == {"sipri-at-2024", "sipri-at-2025"}
        coverage = descriptor["tivcast"]["coverage"]
        assert coverage["by_country"]["JPN"]["end"] == coverage["end"] == 2024
        report = validate(str(tmp_path / "datapackage.json"))
        assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


class TestFitField:
    def test_each_constraint_kept_only_where_the_column_meets_it(self) -> None:
        field = {"name": "x", "type": "integer", "description": "X.",
                 "constraints": {"required": True, "unique": True, "minimum": 0, "maximum": 9}}  # fmt: skip
        assert fit_field(field, ["1", "2"]) == field
        assert fit_field(field, ["1", ""])["constraints"] == {"unique": True, "minimum": 0, "maximum": 9}
        assert fit_field(field, ["1", ""])["description"] == "X. Empty in 1 of 2 rows."
        assert fit_field(field, ["1", "01"])["constraints"] == {"required": True, "minimum": 0, "maximum": 9}
        assert fit_field(field, ["1", "12"])["constraints"] == {"required": True, "unique": True, "minimum": 0}
        text = fit_field(field, ["1", "n/a"])
        assert text["type"] == "string" and text["constraints"] == {"required": True, "unique": True}

    def test_a_boolean_read_as_the_api_reads_it(self) -> None:
        field = {"name": "b", "type": "boolean"}
        assert fit_field(field, ["true", "0"]) == field
        assert {"yes", "no"} <= set(fit_field(field, ["yes", "no"])["trueValues"] + fit_field(field, ["no"])[
            "falseValues"])  # fmt: skip
        assert fit_field(field, ["maybe"])["type"] == "string"


ETAGGED = [
    "/v1/countries",
    "/v1/countries?format=csv",
    "/v1/countries/JPN",
    "/v1/datasets/arms-exports",
    "/v1/datasets/arms-exports/releases",
    "/v1/datasets/arms-exports/datapackage",
    "/v1/datasets/arms-exports/datapackage?release=sipri-at-2024_2025",
]


def headers(client: TestClient) -> dict[str, tuple[str, str]]:
    answers = {path: client.get(path) for path in ETAGGED}
    for path, answer in answers.items():
        assert answer.status_code == 200, (path, answer.text)
    return {path: (a.headers["etag"], a.headers["last-modified"]) for path, a in answers.items()}


class TestEtagsFollowTheirOwnContent:
    def test_another_dataset_s_load_changes_no_etag_and_the_own_dataset_s_does(self, server: TestClient) -> None:
        before = headers(server)
        budget = (DATA / f"{BUDGET}.csv").read_bytes().replace(b"JPN,2003,49527,", b"JPN,2003,49528,")
        budget_before = server.get(f"/v1/datasets/{BUDGET}").headers["etag"]
        upload(server, BUDGET, budget, "etag-budget")
        assert headers(server) == before  # ETag and Last-Modified alike
        for path, (etag, _) in before.items():  # and If-None-Match revalidates as If-Modified-Since does
            assert server.get(path, headers={"If-None-Match": etag}).status_code == 304, path
        assert server.get(f"/v1/datasets/{BUDGET}").headers["etag"] != budget_before

        arms = (DATA / "arms-exports.csv").read_bytes().replace(b"\nJPN,2023,13,,", b"\nJPN,2023,14,,")
        upload(server, "arms-exports", arms, "etag-arms")
        after = headers(server)
        unchanged = {p for p in ETAGGED if p.startswith("/v1/countries") or "release=" in p}
        for path in ETAGGED:
            assert (after[path][0] == before[path][0]) == (path in unchanged), path
            assert parsedate_to_datetime(after[path][1]) >= parsedate_to_datetime(before[path][1]), path
        for path in unchanged:
            assert after[path] == before[path], path
