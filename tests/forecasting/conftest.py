"""Fixtures for the forecasting tests: inputs built from the bundled CSVs in ``data/``.

The CSVs are copies or row subsets of the curated reference data (see
``data/README.md``); the tests never read anything outside this directory.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from forecasting.inputs import ForecastInputs
from forecasting.model import FittedModel, ModelSpec, fit
from forecasting.output import Forecast
from forecasting.panel import Panel
from forecasting.series import Target

DATA = Path(__file__).parent / "data"
VINTAGE_NOTE = (
    "Arms exports 1950-2023 from the SIPRI March 2024 release; 2024 from the March 2025 release "
    "(44 suppliers, no world total): two vintages joined."
)


def read_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def data_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(DATA.glob("*.csv")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return "fixtures-" + digest.hexdigest()[:16]


def build_inputs(country: str, *, with_2024: bool = True) -> ForecastInputs:
    """ForecastInputs for ``country`` the way a worker would build them from the curated data."""
    exports = read_rows("sipri_arms_exports_tiv_1950_2023.csv")
    world = {int(r["year"]): float(r["value"]) for r in exports if r["country_code"] == "WLD"}
    panel: dict[str, dict[int, float]] = {}
    for r in exports:
        if r["country_code"] != "WLD":
            panel.setdefault(r["country_code"], {})[int(r["year"])] = float(r["value"])
    lower_bound: tuple[int, ...] = ()
    if with_2024:
        rows_2024 = read_rows("sipri_arms_exports_tiv_2024.csv")
        world[2024] = sum(float(r["value"]) for r in rows_2024)  # lower bound: listed suppliers only
        for r in rows_2024:
            if r["country_code"] in panel:
                panel[r["country_code"]][2024] = float(r["value"])
        lower_bound = (2024,)
    target = world if country == "WLD" else panel.get(country, {})
    milex = read_rows("sipri_milex_constant_2023_usd.csv")
    own = {int(r["year"]): float(r["value"]) for r in milex if r["country_code"] == country}
    drivers = {
        "world_military_expenditure": {int(r["year"]): float(r["value"]) for r in read_rows("sipri_milex_world.csv")},
        ("japan_defence_spending" if country == "JPN" else "own_military_expenditure"): own,
    }
    events: tuple[tuple[str, str], ...] = ()
    if country == "JPN":
        events = tuple((r["date"], r["regime_id"]) for r in read_rows("japan_arms_export_policy_timeline.csv"))
    return ForecastInputs(
        country=country, target_tiv=target, world_tiv=world, drivers=drivers, policy_events=events,
        data_version=data_version(), world_tiv_lower_bound_years=lower_bound,
        notes=(VINTAGE_NOTE,) if with_2024 else (), panel_tiv=panel,
        pipeline=tuple(read_rows("japan_export_pipeline.csv")),  # every target's, as the API passes it
    )


@pytest.fixture(scope="session")
def japan_inputs() -> ForecastInputs:
    return build_inputs("JPN")


@pytest.fixture(scope="session")
def korea_inputs() -> ForecastInputs:
    return build_inputs("KOR")


@pytest.fixture(scope="session")
def world_inputs() -> ForecastInputs:
    return build_inputs("WLD")


@pytest.fixture(scope="session")
def data_rows() -> Callable[[str], list[dict[str, str]]]:
    """Reader of a bundled CSV by file name."""
    return read_rows


@pytest.fixture(scope="session")
def inputs_for() -> Callable[[str], ForecastInputs]:
    return build_inputs


@pytest.fixture(scope="session")
def japan_fit(japan_inputs: ForecastInputs) -> FittedModel:
    """The default Japan share model (with its deal pipeline), fitted once for the session."""
    return fit(japan_inputs, ModelSpec(Target("JPN")), seed=0)


@pytest.fixture(scope="session")
def statistical_fit(japan_inputs: ForecastInputs) -> FittedModel:
    """Japan without its pipeline: the statistical base and the driver what-ifs alone."""
    return fit(replace(japan_inputs, pipeline=()), ModelSpec(Target("JPN")), seed=0)


def read_panel() -> Panel:
    """Every shipped supplier and the world total (a copy of the package's curated ``arms-exports.csv``)."""
    suppliers: dict[str, dict[int, float]] = {}
    world: dict[int, float] = {}
    lower: list[int] = []
    for row in read_rows("arms_exports_panel.csv"):
        year, value = int(row["year"]), float(row["value"])
        if row["country_code"] == "WLD":
            world[year] = value
            lower += [year] if "sum_of_listed_suppliers" in (row["flag"] or "") else []
        else:
            suppliers.setdefault(row["country_code"], {})[year] = value
    return Panel.from_tiv(suppliers, world, tuple(lower))


@pytest.fixture(scope="session")
def shipped_panel() -> Panel:
    return read_panel()


def pipeline(forecast: Forecast) -> dict[str, Any]:
    """Japan's pipeline section of a forecast's response."""
    section = forecast.to_dict()["pipeline"]
    assert isinstance(section, dict)
    return section


def assumptions(forecast: Forecast) -> dict[str, dict[str, Any]]:
    """The pipeline section's assumptions, by name."""
    return {a["name"]: a for a in pipeline(forecast)["assumptions"]}
