"""Load datasets into the database as immutable releases: all rows or none.

The parse step (``parsers.py``) validates the whole file before a single write, and the
write happens in one transaction, so a bad or interrupted load leaves the previous
release untouched. The same content again maps to the existing release and writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from api.datasets.parsers import ParsedFile, Row, format_value, parse_series
from api.datasets.pipeline_ingest import PIPELINE, parse_pipeline_file
from api.datasets.tables import Country, Dataset, Observation, PolicyEvent, Record, Release
from api.errors import Conflict, InvalidFile, InvalidParameter, NotFound

RELEASE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
WORLD = "WLD"
LISTED = "sum_of_listed_suppliers"  # a world value that is tivcast's sum of the listed suppliers, not SIPRI's
# Series whose WLD row is the world total of the countries' values (amounts, not ratios): no country can
# exceed it, and the countries listed cannot add up to more than it.
ADDITIVE = frozenset({"arms-exports", "milex-constant-usd", "milex-current-usd"})
NOT_SUPPLIERS = ("region", "world_total")  # aggregates: never summed with the countries


@dataclass(frozen=True)
class IngestResult:
    dataset_id: str
    release_id: str
    content_hash: str
    row_count: int
    created: bool


def country_lookup(session: Session) -> dict[str, str]:
    """Codes, names and aliases (upper-cased) -> code."""
    lookup: dict[str, str] = {}
    for country in session.exec(select(Country)):
        names = [country.code, country.name, *filter(None, country.aliases.split("|"))]
        for name in names:
            lookup.setdefault(name.strip().upper(), country.code)
            lookup.setdefault(name.strip().rstrip("*").strip().upper(), country.code)
    return lookup


def series_dataset(session: Session, dataset_id: str) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id!r} does not exist")
    if dataset.kind != "series":
        raise InvalidParameter("dataset", f"{dataset_id!r} is a {dataset.kind} dataset; only series can be ingested")
    return dataset


SHRINK = 0.5  # a new release with fewer rows than this fraction of the current one needs replace=True


def ingest_file(
    session: Session,
    dataset_id: str,
    data: bytes,
    *,
    origin: str,
    release_id: str | None = None,
    retrieved: date | None = None,
    note: str | None = None,
    replace: bool = False,
) -> IngestResult:
    """Validate ``data`` completely, then store it as a new release (or find the identical one).

    A release replaces the whole dataset: one that would shrink it sharply (fewer than half the rows of
    the current release, e.g. one year's file replacing 75 years) is refused unless ``replace`` is set.
    SIPRI's "Data generated" date is the source's publication date (``published``), not ``retrieved``;
    each row's ``source_release`` names SIPRI's data (``sipri-<generated date>``), never tivcast's release
    id, so the same content under another release id is the same version."""
    if release_id is not None and not RELEASE_ID.fullmatch(release_id):
        raise InvalidParameter("release", "must be 1-64 letters, digits, '.', '_' or '-'")
    if dataset_id == PIPELINE and session.get(Dataset, dataset_id) is not None:
        return _ingest_pipeline(session, data, origin=origin, release_id=release_id, retrieved=retrieved)
    dataset = series_dataset(session, dataset_id)
    minimum = _schema_minimum(dataset)
    parsed = parse_series(data, country_lookup(session), non_negative=minimum is not None and minimum >= 0)
    published = None
    if parsed.layout == "sipri" and parsed.generated is not None:
        published = parsed.generated.isoformat()
        label = f"sipri-{published}"
        release_id = release_id or label
        parsed = ParsedFile(parsed.layout, tuple(_with_source(parsed, label)), parsed.generated)
    if not replace:
        _refuse_sharp_shrink(session, dataset_id, parsed)
    return store_series(
        session,
        dataset_id,
        parsed,
        origin=origin,
        release_id=release_id,
        retrieved=retrieved,
        note=note,
        published=published,
    )


def _ingest_pipeline(session: Session, data: bytes, *, origin: str, release_id: str | None,
                     retrieved: date | None) -> IngestResult:
    """Japan's deal pipeline: a table validated deal by deal (:mod:`api.datasets.pipeline_ingest`)."""
    dataset = session.get(Dataset, PIPELINE)
    assert dataset is not None
    columns = [f["name"] for f in json.loads(dataset.descriptor).get("schema", {}).get("fields", [])]
    records = parse_pipeline_file(data, columns, country_lookup(session))
    release = release_id or f"ingest-{records_hash(records)[:12]}"
    return store_records(session, PIPELINE, "table", records, release_id=release, origin=origin,
                         retrieved=retrieved, published=None)


def _refuse_sharp_shrink(session: Session, dataset_id: str, parsed: ParsedFile) -> None:
    current = session.exec(
        select(Release).where(Release.dataset_id == dataset_id).order_by(col(Release.id).desc())
    ).first()
    if current is None or len(parsed.rows) >= SHRINK * current.row_count:
        return
    same = select(Release.id).where(Release.dataset_id == dataset_id, Release.content_hash == parsed.content_hash)
    if session.exec(same).first() is not None:
        return  # already stored: nothing will be written
    raise Conflict(
        f"this file has {len(parsed.rows):,} rows and would replace release {current.release_id!r} of "
        f"{dataset_id!r} ({current.row_count:,} rows): a release replaces the whole dataset, it does not add "
        "to it. To replace it anyway, send replace=true (tivcast ingest --replace)"
    )


def _with_source(parsed: ParsedFile, label: str) -> list[Row]:
    return [replace(row, source_release=row.source_release or label) for row in parsed.rows]


def _schema_minimum(dataset: Dataset) -> float | None:
    fields = json.loads(dataset.descriptor).get("schema", {}).get("fields", [])
    for field in fields:
        if field.get("name") == "value":
            minimum = field.get("constraints", {}).get("minimum")
            return float(minimum) if minimum is not None else None
    return None


def store_series(
    session: Session,
    dataset_id: str,
    parsed: ParsedFile,
    *,
    origin: str,
    release_id: str | None,
    retrieved: date | None,
    note: str | None = None,
    published: str | None = None,
) -> IngestResult:
    if dataset_id in ADDITIVE:
        check_totals(parsed.rows, _aggregates(session))
    digest = parsed.content_hash
    existing = _existing(session, dataset_id, digest, release_id)
    if existing is not None:
        return IngestResult(dataset_id, existing.release_id, digest, existing.row_count, created=False)
    release = _new_release(
        session,
        dataset_id,
        release_id or f"ingest-{digest[:12]}",
        digest,
        len(parsed.rows),
        origin,
        retrieved,
        note,
        published,
    )
    rows = [
        {
            "dataset_id": dataset_id,
            "release_pk": release.id,
            "country_code": r.country_code,
            "year": r.year,
            "value": r.value,
            "flag": r.flag,
            "source_release": r.source_release,
        }
        for r in parsed.rows
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(Observation), rows[start : start + 5000])
    return IngestResult(dataset_id, release.release_id, digest, len(rows), created=True)


def _aggregates(session: Session) -> frozenset[str]:
    codes = session.exec(select(Country.code).where(col(Country.entity_type).in_(NOT_SUPPLIERS))).all()
    return frozenset(codes) | {WORLD}


def check_totals(rows: tuple[Row, ...], aggregates: frozenset[str]) -> None:
    """The dataset's own invariants, per year with a world row: no country above the world total, and (where
    the world value is the source's own total) the listed countries not adding up to more than it, beyond
    the source's rounding (each cell is rounded to a whole number: half a unit per cell summed).

    A value that breaks them (say a typo multiplying a country's TIV by 100) would make every share and
    forecast of that year meaningless, so the whole file is refused, naming the line and the column."""
    world = {r.year: r for r in rows if r.country_code == WORLD}
    parts: dict[int, list[Row]] = {}
    for row in rows:
        if row.country_code not in aggregates and row.year in world:
            parts.setdefault(row.year, []).append(row)
    for year in sorted(parts):
        total = world[year]
        for row in sorted(parts[year], key=lambda r: -r.value):
            if row.value > total.value:
                raise InvalidFile(
                    f"{row.country_code} {year} = {format_value(row.value)} is above the world total for {year} "
                    f"({WORLD} = {format_value(total.value)}, line {total.line}); no country can exceed the world",
                    line=row.line,
                    column=row.column,
                )
        if total.flag and LISTED in total.flag.split(";"):
            continue  # tivcast's own sum of the listed suppliers, not the source's total
        listed = sum(r.value for r in parts[year])
        slack = 0.5 * (len(parts[year]) + 1)
        if listed > total.value + slack:
            raise InvalidFile(
                f"the world total for {year} ({WORLD} = {format_value(total.value)}) is below the sum of the "
                f"{len(parts[year])} countries listed for {year} ({format_value(round(listed, 6))}), by more than "
                f"the source's rounding ({format_value(slack)})",
                line=total.line,
                column=total.column,
            )


def store_records(
    session: Session,
    dataset_id: str,
    kind: str,
    records: list[dict[str, str]],
    *,
    release_id: str,
    origin: str,
    retrieved: date | None,
    published: str | None,
) -> IngestResult:
    """Store a table or event dataset as one release (same rules: hashed, immutable, all or none)."""
    digest = records_hash(records)
    existing = _existing(session, dataset_id, digest, release_id)
    if existing is not None:
        return IngestResult(dataset_id, existing.release_id, digest, existing.row_count, created=False)
    release = _new_release(session, dataset_id, release_id, digest, len(records), origin, retrieved, None, published)
    assert release.id is not None
    if kind == "events":
        session.add_all(PolicyEvent(release_pk=release.id, **_event_fields(r)) for r in records)
    else:
        session.add_all(
            Record(release_pk=release.id, row_number=n, data=json.dumps(r, ensure_ascii=False))
            for n, r in enumerate(records, start=1)
        )
    session.flush()
    return IngestResult(dataset_id, release.release_id, digest, len(records), created=True)


def records_hash(records: list[dict[str, str]]) -> str:
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _event_fields(row: dict[str, str]) -> dict[str, Any]:
    return {
        "date": row["date"],
        "date_precision": row["date_precision"],
        "category": row["category"],
        "title": row["title"],
        "regime": row.get("regime") or None,
        "verified": row["verified"],
        "sources": row.get("sources", ""),
        "note": row.get("note") or None,
    }


def _existing(session: Session, dataset_id: str, digest: str, release_id: str | None) -> Release | None:
    same = session.exec(select(Release).where(Release.dataset_id == dataset_id, Release.content_hash == digest)).first()
    if same is not None:
        return same
    if release_id is not None:
        clash = session.exec(
            select(Release).where(Release.dataset_id == dataset_id, Release.release_id == release_id)
        ).first()
        if clash is not None:
            raise Conflict(
                f"release {release_id!r} of {dataset_id!r} already exists with different content; "
                "choose a new release id"
            )
    return None


def _new_release(
    session: Session,
    dataset_id: str,
    release_id: str,
    digest: str,
    row_count: int,
    origin: str,
    retrieved: date | None,
    note: str | None,
    published: str | None,
) -> Release:
    release = Release(
        dataset_id=dataset_id,
        release_id=release_id,
        content_hash=digest,
        row_count=row_count,
        retrieved=retrieved,
        published=published,
        origin=origin,
        note=note,
        loaded_at=datetime.now(UTC),
    )
    session.add(release)
    session.flush()
    return release


def database_checksum(session: Session) -> str:
    """A digest of every stored release and row count: tests use it to prove nothing changed."""
    releases = session.exec(select(Release.dataset_id, Release.release_id, Release.content_hash)).all()
    counts = [
        session.exec(select(func.count()).select_from(table)).one()
        for table in (Observation, Record, PolicyEvent, Release, Dataset, Country)
    ]
    return f"{sorted(releases)}|{counts}"
