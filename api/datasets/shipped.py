"""Seed the database from the curated data package shipped inside ``api/data``.

Each shipped resource becomes a release of its dataset unless a release with the
same content already exists, so seeding is idempotent and a newer package adds a
new release instead of rewriting the old one.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from importlib import resources
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.datasets.ingest import IngestResult, country_lookup, store_records, store_series
from api.datasets.parsers import parse_series
from api.datasets.tables import Country, Dataset, Source
from api.db import transaction

DATA = resources.files("api") / "data"


def descriptor() -> dict[str, Any]:
    """The shipped Frictionless data package descriptor."""
    data: dict[str, Any] = json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))
    return data


def read_resource(resource: dict[str, Any]) -> bytes:
    return (DATA / str(resource["path"])).read_bytes()


def seed(engine: Engine) -> list[IngestResult]:
    """Load countries, dataset metadata and every shipped release that is not stored yet."""
    package = descriptor()
    results: list[IngestResult] = []
    with transaction(engine) as session:
        for resource in package["resources"]:
            if resource["tivcast"]["kind"] == "countries":
                _load_countries(session, read_resource(resource))
        for resource in package["resources"]:
            if resource["tivcast"]["kind"] != "countries":
                _upsert_dataset(session, resource)
        session.flush()
        lookup = country_lookup(session)
        for resource in package["resources"]:
            result = _load_release(session, resource, lookup)
            if result is not None:
                results.append(result)
    return results


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _load_countries(session: Session, data: bytes) -> None:
    known = set(session.exec(select(Country.code)).all())
    for row in _rows(data):
        if row["code"] not in known:
            session.add(
                Country(
                    code=row["code"], name=row["name"], entity_type=row["entity_type"], aliases=row.get("aliases", "")
                )
            )


def _upsert_dataset(session: Session, resource: dict[str, Any]) -> None:
    meta = resource["tivcast"]
    dataset = session.get(Dataset, resource["name"]) or Dataset(
        id=resource["name"], kind=meta["kind"], title="", description="", descriptor="{}"
    )
    dataset.kind = meta["kind"]
    dataset.title = resource.get("title", resource["name"])
    dataset.description = resource.get("description", "")
    dataset.unit = meta.get("unit")
    dataset.unit_label = meta.get("unit_label")
    dataset.descriptor = json.dumps(resource, ensure_ascii=False, sort_keys=True)
    session.add(dataset)
    if not session.exec(select(Source).where(Source.dataset_id == dataset.id)).first():
        for source in resource.get("sources", []):
            session.add(
                Source(
                    dataset_id=dataset.id,
                    title=source.get("title", ""),
                    path=source.get("path"),
                    publisher=source.get("publisher"),
                    version=source.get("version") or source.get("release"),
                    retrieved=source.get("retrieved"),
                    note=source.get("note"),
                )
            )


def _load_release(session: Session, resource: dict[str, Any], lookup: dict[str, str]) -> IngestResult | None:
    meta = resource["tivcast"]
    release = meta.get("release", {})
    release_id = release.get("id") or "shipped"
    retrieved = date.fromisoformat(release["retrieved"]) if release.get("retrieved") else None
    data = read_resource(resource)
    if meta["kind"] == "series":
        parsed = parse_series(data, lookup)
        return store_series(
            session,
            resource["name"],
            parsed,
            origin="shipped",
            release_id=release_id,
            retrieved=retrieved,
            published=release.get("published"),
        )
    if meta["kind"] in ("table", "events", "regimes"):
        return store_records(
            session,
            resource["name"],
            meta["kind"],
            _rows(data),
            release_id=release_id,
            origin="shipped",
            retrieved=retrieved,
            published=release.get("published"),
        )
    return None
