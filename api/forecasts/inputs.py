"""Build the forecasting core's plain-data inputs from the stored datasets.

The worker never reads the database: the API assembles a country's series here,
once per data version, and ships them inside the job payload. The data version
of a forecast is the combination of the releases it read, so a new release of any
of them yields new content keys and nothing stale is served.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.datasets import queries
from api.datasets.catalog import Snapshot
from api.datasets.shares import LISTED, WORLD
from api.errors import NotFound
from forecasting import ForecastInputs

EXPORTS, MILEX, EVENTS, PIPELINE = "arms-exports", "milex-constant-usd", "policy-events", "japan-export-pipeline"
READS = (EXPORTS, MILEX, EVENTS, PIPELINE)
VINTAGE_NOTE = (
    "Arms exports 1950-2023 from the SIPRI March 2024 release; 2024 from the March 2025 release "
    "(44 suppliers, no SIPRI world total: the 2024 denominator is the sum of the listed suppliers, "
    "a lower bound). Two vintages joined; SIPRI revises past years at every release."
)


def data_version(snapshot: Snapshot) -> str:
    """A short digest of the releases a forecast reads."""
    parts = [f"{d}:{snapshot.release(d).content_hash}" for d in READS]
    return "data-" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def build_inputs(engine: Engine, snapshot: Snapshot, country: str) -> ForecastInputs:
    """Series, drivers, policy events and the supplier panel for one country (or ``WLD``) at the current releases."""
    code = snapshot.country(country).code
    exports, milex = snapshot.release(EXPORTS), snapshot.release(MILEX)
    with Session(engine) as session:
        suppliers, _, _ = queries.coverage(session, exports)
        tiv = queries.series(session, exports, sorted({*suppliers, code, WORLD}), None, None)
        spending = queries.series(session, milex, [code, WORLD], None, None)
        events = queries.policy_events(session, snapshot.release(EVENTS), None, None, None)
        # Japan's forecast is built from its deal pipeline (the records as published, strings for the core), and
        # every other supplier's baseline makes room for it, so that the served shares add up to 100 %.
        deals = queries.records(session, snapshot.release(PIPELINE))
    if not tiv.get(code):
        raise NotFound(f"country {code!r} has no arms-export values in release {exports.release_id!r}")
    world = tiv.get(WORLD, {})
    # SIPRI world military expenditure is the demand driver, in USD billion (the curated file has USD million).
    drivers = {"world_military_expenditure": {y: o.value / 1000 for y, o in spending.get(WORLD, {}).items()}}
    own = {y: o.value for y, o in spending.get(code, {}).items() if o.value > 0}
    if own:
        drivers["japan_defence_spending" if code == "JPN" else "own_military_expenditure"] = own
    # Every listed supplier goes in, so that the forecast is coherent across suppliers (shares add up).
    panel = {c: {y: o.value for y, o in series.items()} for c, series in tiv.items() if c != WORLD}
    return ForecastInputs(
        country=code,
        target_tiv={y: o.value for y, o in tiv[code].items()},
        panel_tiv=panel,
        pipeline=tuple({k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
                        for k, v in row.items()} for row in deals),
        world_tiv={y: o.value for y, o in world.items()},
        drivers=drivers,
        policy_events=tuple((e.date, e.regime or "") for e in events) if code == "JPN" else (),
        data_version=data_version(snapshot),
        world_tiv_lower_bound_years=tuple(y for y, o in world.items() if o.flag and LISTED in o.flag.split(";")),
        notes=(VINTAGE_NOTE, releases_note(snapshot)),
    )


def releases_note(snapshot: Snapshot) -> str:
    """Which stored releases a forecast read, by id and content hash: its data provenance."""
    parts = []
    for dataset in READS:
        release = snapshot.release(dataset)
        parts.append(f"{dataset} release {release.release_id} (sha256 {release.content_hash[:12]})")
    return "Data releases used: " + "; ".join(parts) + "."


class InputsCache:
    """Inputs per (country, catalogue version): built once, reused by every request."""

    def __init__(self, max_entries: int = 256) -> None:
        self._entries: OrderedDict[tuple[str, str], ForecastInputs] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, country: str, version: str) -> ForecastInputs | None:
        with self._lock:
            return self._entries.get((country, version))

    def load(self, engine: Engine, snapshot: Snapshot, country: str) -> ForecastInputs:
        key = (snapshot.country(country).code, snapshot.version)
        with self._lock:
            if key in self._entries:
                return self._entries[key]
        inputs = build_inputs(engine, snapshot, country)
        with self._lock:
            self._entries[key] = inputs
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return inputs
