"""Japan's pipeline over the API and the CLI as an analyst meets it: a pipeline edit on another country is
refused, not silently ignored; the pipeline dataset cites SIPRI only for SIPRI's figures; the CLI names the
field as the API does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.datasets.shipped import descriptor
from tests.conftest import Databases
from tests.helpers import run_cli

EDIT = {"edits": [{"deal_id": "aus-mogami-frigates", "probability": 0.1}]}


@pytest.mark.parametrize("country", ["KOR", "WLD"])
def test_a_jpn_pipeline_edit_on_another_country_is_a_422(forecast_client: TestClient, country: str) -> None:
    measure = "tiv" if country == "WLD" else "share"
    response = forecast_client.post("/v1/forecasts", json={
        "target": {"country": country, "measure": measure}, "scenario": {"name": "x", "pipeline": EDIT}})
    assert response.status_code == 422, response.text
    assert "location" not in response.headers  # no job, nothing stored
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["scenario.pipeline"]
    assert "applies to JPN only" in response.json()["detail"]


def test_the_pipeline_dataset_cites_sipri_only_for_sipri_s_figures(client: TestClient) -> None:
    body = client.get("/v1/datasets/japan-export-pipeline").json()
    citation = body["citation"]
    assert "Committed rows: information from the SIPRI" not in citation
    own = citation.split("tivcast's own assumptions", 1)[1]
    for figure in ("PAC-3 quantity (30, range 10-60)", "delivery years (2025-2027)", "2025 and 2026",
                   "escort-transfer row"):
        assert figure in own, figure
    text = json.dumps(body)
    assert "every row names its release in source_release" not in text
    [resource] = [r for r in descriptor()["resources"] if r["name"] == "japan-export-pipeline"]
    fields = {f["name"]: f["description"] for f in resource["schema"]["fields"]}
    assert "from the register." not in fields["past_deliveries"]
    assert {"depends_on", "source_requires_liberalisation", "tivcast_assumptions"} <= set(fields)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return Databases("sqlite", tmp_path_factory.mktemp("cli-pipeline")).copy()


@pytest.mark.parametrize(("country", "scenario", "field"), [
    ("JPN", {"pipeline": {"edits": [{"deal_id": "ghost", "remove": True}]}}, "scenario.pipeline.edits[0].deal_id"),
    ("KOR", {"pipeline": EDIT}, "scenario.pipeline"),
])
def test_the_cli_names_the_field_as_the_api_does(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                 country: str, scenario: dict[str, object], field: str) -> None:
    path = tmp_path / "f.json"
    path.write_text(json.dumps({"name": "x", **scenario}))
    result = run_cli(url, monkeypatch, "forecast", "--country", country, "--scenario-file", str(path))
    assert result.exit_code == 2, result.output
    assert f"error: {field}: " in result.output
