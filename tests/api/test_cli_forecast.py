"""``tivcast forecast``: the API's forecast computed in process, as a table and a fan chart."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import Result

from tests.conftest import Databases
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return Databases("sqlite", tmp_path_factory.mktemp("cli-forecast")).copy()


def run(url: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    """``tivcast forecast *args`` on the module's database."""
    return run_cli(url, monkeypatch, "forecast", *args)


def test_a_table_of_point_and_interval_by_year_and_a_fan_chart(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    chart = tmp_path / "fan.png"
    result = run(url, monkeypatch, "--country", "jpn", "--scenario", "baseline", "--horizon", "3", "--plot", str(chart))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("JPN share (percent of world arms exports (TIV)), scenario 'baseline', 80 % interval")
    header = lines.index(next(line for line in lines if line.split()[:2] == ["year", "point"]))
    assert lines[header].split() == ["year", "point", "lo-80", "hi-80"]
    rows = [line.split() for line in lines[header + 1 : header + 4]]
    assert [int(r[0]) for r in rows] == [2025, 2026, 2027]
    for _, point, lo, hi in rows:
        assert 0 <= float(lo) <= float(point) <= float(hi) <= 100
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and chart.stat().st_size > 10_000


def test_a_custom_scenario_from_a_file(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    scenario = tmp_path / "gcap.json"
    scenario.write_text(json.dumps({"name": "gcap", "changes": [{"driver": "nope", "op": "set", "value": 1}]}))
    result = run(url, monkeypatch, "--country", "JPN", "--scenario-file", str(scenario))
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "scenario.changes[0].driver" in result.output


def test_a_scenario_file_in_deal_terms(url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    signed, bad = tmp_path / "signed.json", tmp_path / "bad.json"
    signed.write_text(json.dumps({"name": "signed", "pipeline": {
        "edits": [{"deal_id": "aus-mogami-frigates", "probability": 1.0}]}}))
    bad.write_text(json.dumps({"name": "bad", "pipeline": {"edits": [{"deal_id": "aus-mogami-frigates",
                                                                         "probability": 3}]}}))
    points = {}
    for name, path in (("baseline", None), ("signed", signed)):
        args = ["--country", "JPN", "--horizon", "8"] + (["--scenario-file", str(path)] if path else [])
        result = run(url, monkeypatch, *args)
        assert result.exit_code == 0, result.output
        rows = [line.split() for line in result.output.splitlines() if line.split()[:1] and line.split()[0].isdigit()]
        points[name] = {int(r[0]): float(r[1]) for r in rows}
    assert points["signed"][2030] > points["baseline"][2030]  # the frigates now count in full
    assert points["signed"][2025] == points["baseline"][2025]
    refused = run(url, monkeypatch, "--country", "JPN", "--scenario-file", str(bad))
    assert refused.exit_code == 2 and "scenario.pipeline.edits[0].probability" in refused.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "QQQ"], "country 'QQQ' does not exist"),
        (["--country", "JPN", "--scenario", "no-such"], "unknown scenario 'no-such'"),
    ],
    ids=["unknown country", "unknown scenario"],
)
def test_bad_requests_are_one_clear_line_and_exit_code_2(
    url: str, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    result = run(url, monkeypatch, *args)
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_plot_without_matplotlib_says_what_to_install(
    url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    result = run(url, monkeypatch, "--country", "JPN", "--horizon", "2", "--plot", str(tmp_path / "x.png"))
    assert result.exit_code == 2
    assert "pip install 'tivcast[plot]'" in result.output
    assert not (tmp_path / "x.png").exists()
