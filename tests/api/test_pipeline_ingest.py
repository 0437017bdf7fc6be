"""Ingest of Japan's deal pipeline: a new release changes Japan's forecast; an impossible deal changes nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.datasets.ingest import IngestResult
from api.errors import InvalidFile
from api.settings import Settings
from tests.helpers import checksum, ingest, run_cli

SHIPPED = Path(__file__).resolve().parents[2] / "api" / "data" / "japan-export-pipeline.csv"


def rows() -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(SHIPPED.read_text(encoding="utf-8")))
    return list(reader.fieldnames or []), list(reader)


def render(header: list[str], body: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(body)
    return out.getvalue().encode()


def edited(deal_id: str, **changes: str) -> bytes:
    header, body = rows()
    for row in body:
        if row["deal_id"] == deal_id:
            row.update(changes)
    return render(header, body)


def load(url: str, data: bytes) -> IngestResult:
    return ingest(url, data, dataset="japan-export-pipeline", origin="pipeline.csv")


BAD = {
    "probability above 1": (edited("aus-mogami-frigates", probability_baseline="1.4"), "probability_baseline"),
    "negative TIV": (edited("aus-mogami-frigates", tiv_per_unit_low="-5"), "tiv_per_unit"),
    "a delivery before the order": (edited("aus-mogami-frigates", delivery_years="2024;2025"), "delivery_years"),
    "a committed deal below 1": (edited("phl-jfps3-radars", probability_baseline="0.5"), "probability"),
    "an unknown status": (edited("phl-jfps3-radars", status="rumoured"), "status"),
    "an unknown recipient": (edited("phl-jfps3-radars", recipient_code="QQQ"), "recipient_code"),
    "a wrong header": (b"deal,recipient\nx,PHL\n", None),
}


class TestPipelineIngest:
    def test_the_shipped_file_again_writes_nothing(self, fresh_url: str) -> None:
        with TestClient(create_app(Settings(database_url=fresh_url))):
            pass  # seeds the database
        before = checksum(fresh_url)
        result = load(fresh_url, SHIPPED.read_bytes())
        assert not result.created
        assert checksum(fresh_url) == before

    @pytest.mark.parametrize("case", sorted(BAD))
    def test_an_impossible_deal_is_refused_and_nothing_changes(self, fresh_url: str, case: str) -> None:
        data, column = BAD[case]
        with TestClient(create_app(Settings(database_url=fresh_url))):
            pass
        before = checksum(fresh_url)
        with pytest.raises(InvalidFile) as caught:
            load(fresh_url, data)
        assert caught.value.line is not None
        if column is not None:
            assert column in (caught.value.column or "") or column in caught.value.message
        assert checksum(fresh_url) == before

    def test_a_new_pipeline_release_through_the_cli_is_served(
        self, fresh_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        signed = edited("aus-mogami-frigates", status="ordered", probability_baseline="1",
                        probability_liberalised="1")
        path = tmp_path / "pipeline.csv"
        path.write_bytes(signed)
        with TestClient(create_app(Settings(database_url=fresh_url))) as client:
            before = client.get("/v1/datasets/japan-export-pipeline").json()["version"]
        result = run_cli(fresh_url, monkeypatch, "ingest", str(path), "--dataset", "japan-export-pipeline")
        assert result.exit_code == 0, result.output
        with TestClient(create_app(Settings(database_url=fresh_url))) as client:
            after = client.get("/v1/datasets/japan-export-pipeline").json()["version"]
            deals = client.get("/v1/datasets/japan-export-pipeline/records").json()["data"]
        assert after != before
        assert next(d for d in deals if d["deal_id"] == "aus-mogami-frigates")["status"] == "ordered"
