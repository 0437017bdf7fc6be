"""Load datasets into the database as immutable releases: all rows or none.

The parse step (``parsers.py``) validates the whole file before a single write, against the dataset's
own rules (its descriptor's constraints, the layouts it takes, its world totals), and the write happens
in one transaction, so a bad or interrupted load leaves the previous release untouched. The same content
again maps to the existing release and writes no rows; loaded again while another release is current, it
becomes the current release again (a rollback). Loads of one dataset are serialised (:func:`lock_dataset`): two at
once run one after the other, the second building on the first.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, insert, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from api.datasets.catalog import current_first
from api.datasets.parsers import SIPRI_EXPORTS, ParsedFile, Row, Rules, parse_series
from api.datasets.pipeline_ingest import PIPELINE, parse_pipeline_file
from api.datasets.tables import Country, Dataset, Observation, PolicyEvent, Record, Release
from api.datasets.totals import ADDITIVE, WORLD, check_totals, require_world
from api.errors import Conflict, InvalidParameter, NotFound

RELEASE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
NOT_SUPPLIERS = ("region", "world_total")  # aggregates: never summed with the countries
# The SIPRI TIV tables a dataset takes, by the first cell of their header (its direction): arms-exports is
# exports by supplier; an "Imports by" table would make a country's imports its export share. Every other
# series takes tivcast's long CSV only.
SIPRI_TABLES = {"arms-exports": SIPRI_EXPORTS}


@dataclass(frozen=True)
class IngestResult:
    dataset_id: str
    release_id: str
    content_hash: str
    row_count: int
    created: bool
    current: bool = True  # the release is the dataset's current one after this load
    replaced: str | None = None  # the release that was current before, when this load changed it

    @property
    def changed(self) -> bool:
        """Did the load change what is served (a new release, or a stored one made current again)?"""
        return self.created or self.replaced is not None


def parse_day(text: str) -> date | None:
    """A retrieval date as given (``--retrieved``, ``retrieved=``): YYYY-MM-DD and a real day, else None.
    ``date.fromisoformat`` alone would also take 20250401 and week dates such as 2025-W14-2."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


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
        article = "an" if dataset.kind[:1] in "aeiou" else "a"
        raise InvalidParameter(
            "dataset",
            f"{dataset_id!r} is {article} {dataset.kind} dataset; only series and {PIPELINE!r} can be ingested",
        )
    return dataset


def series_rules(dataset: Dataset) -> Rules:
    """What the dataset accepts: its descriptor's field constraints (``value`` minimum and maximum, a
    ``country_code`` enum for a single-country series, the ``source_release`` pattern) and its SIPRI tables."""
    schema = json.loads(dataset.descriptor).get("schema", {})
    fields = {f.get("name"): f.get("constraints", {}) for f in schema.get("fields", [])}
    value, code, source = fields.get("value", {}), fields.get("country_code", {}), fields.get("source_release", {})
    return Rules(
        dataset=dataset.id,
        sipri_tables=SIPRI_TABLES.get(dataset.id, ()),
        minimum=float(value["minimum"]) if "minimum" in value else None,
        maximum=float(value["maximum"]) if "maximum" in value else None,
        unit_label=dataset.unit_label,
        countries=frozenset(code["enum"]) if "enum" in code else None,
        code_pattern=code.get("pattern"),
        source_pattern=source.get("pattern"),
    )


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
    id, so the same content under another release id is the same version.

    Content already stored is not stored again; if another release is current, the stored one becomes current
    again (a rollback: ``replaced`` names the release it replaces), subject to the same shrink rule."""
    if release_id is not None and not RELEASE_ID.fullmatch(release_id):
        raise InvalidParameter("release", "must be 1-64 letters, digits, '.', '_' or '-'")
    if dataset_id == PIPELINE and session.get(Dataset, dataset_id) is not None:
        return _ingest_pipeline(session, data, origin=origin, release_id=release_id, retrieved=retrieved)
    dataset = series_dataset(session, dataset_id)
    parsed = parse_series(data, country_lookup(session), rules=series_rules(dataset))
    published = None
    if parsed.layout == "sipri" and parsed.generated is not None:
        published = parsed.generated.isoformat()
        label = f"sipri-{published}"
        release_id = release_id or label
        parsed = ParsedFile(parsed.layout, tuple(_with_source(parsed, label)), parsed.generated)
    return store_series(
        session,
        dataset_id,
        parsed,
        origin=origin,
        release_id=release_id,
        retrieved=retrieved,
        note=note,
        published=published,
        reinstate=True,
        refuse_shrink=not replace,
    )


def _ingest_pipeline(
    session: Session, data: bytes, *, origin: str, release_id: str | None, retrieved: date | None
) -> IngestResult:
    """Japan's deal pipeline: a table validated deal by deal (:mod:`api.datasets.pipeline_ingest`)."""
    dataset = session.get(Dataset, PIPELINE)
    assert dataset is not None
    columns = [f["name"] for f in json.loads(dataset.descriptor).get("schema", {}).get("fields", [])]
    records = parse_pipeline_file(data, columns, country_lookup(session))
    release = release_id or f"ingest-{records_hash(records)[:12]}"
    return store_records(
        session,
        PIPELINE,
        "table",
        records,
        release_id=release,
        origin=origin,
        retrieved=retrieved,
        published=None,
        reinstate=True,
    )


def current_release(session: Session, dataset_id: str) -> Release | None:
    """The release served by default (the catalogue's order, :func:`api.datasets.catalog.current_first`)."""
    return session.exec(select(Release).where(Release.dataset_id == dataset_id).order_by(*current_first())).first()


LOCK_WAIT = 30.0  # seconds a load waits for the lock (another load of its dataset; SQLite: any write) before a 409


def lock_dataset(session: Session, dataset_id: str, *, wait: float | None = None) -> None:
    """Serialise the loads of one dataset: taken before the current release is read, held until the transaction
    ends, so that a second load of the dataset waits for the first to commit (or roll back) and then builds on
    what it left (the release it made current, its ``current_since``). Without it, two loads at once both read the
    same current release, both reported replacing it, and the one stamped later won. A load still waiting after
    ``wait`` seconds (default :data:`LOCK_WAIT`) is refused (:class:`~api.errors.Conflict`, with Retry-After),
    having written nothing.

    PostgreSQL: a transaction-level advisory lock keyed on the dataset (other datasets load in parallel; under
    READ COMMITTED each later statement sees what the first load committed), waited for up to ``lock_timeout``.
    SQLite has one writer at a time, so there the wait is for any other write to the database (a load of any
    dataset, the start-up seeding, a migration): the write lock is taken now (``BEGIN IMMEDIATE``, waiting up to
    the busy timeout) instead of at the first insert, after the reads. A transaction that has already written holds
    it (pysqlite begins one only before a write)."""
    connection = session.connection()
    dialect = connection.dialect.name
    wait = LOCK_WAIT if wait is None else wait
    milliseconds = max(1, round(wait * 1000))
    try:
        if dialect == "postgresql":
            # The caller's lock_timeout (a session's SET, or a SET LOCAL of its own) is put back afterwards: SET
            # LOCAL ... = DEFAULT would give the rest of the transaction the server's default instead.
            (before,) = connection.execute(text("SELECT current_setting('lock_timeout')")).one()
            connection.execute(_SET_LOCK_TIMEOUT, {"value": f"{milliseconds}ms"})
            try:
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(dataset_id)})
            finally:
                # Not once the statement failed: the transaction is aborted, and its rollback drops the setting.
                if _transaction_usable(connection):
                    connection.execute(_SET_LOCK_TIMEOUT, {"value": before})
        elif dialect == "sqlite":
            raw = connection.connection.dbapi_connection
            if isinstance(raw, sqlite3.Connection) and not raw.in_transaction:
                (before,) = raw.execute("PRAGMA busy_timeout").fetchone()
                raw.execute(f"PRAGMA busy_timeout = {milliseconds}")
                try:
                    connection.execute(text("BEGIN IMMEDIATE"))
                finally:
                    raw.execute(f"PRAGMA busy_timeout = {int(before)}")
    except OperationalError as exc:
        if not _lock_wait(exc):
            raise
        if dialect == "sqlite":  # one writer at a time for the whole database, whatever it writes
            holder = (
                "another write to the database (SQLite takes one writer at a time: a load of any dataset, the "
                "start-up seeding or a migration)"
            )
        else:
            holder = f"another load of {dataset_id!r}"
        raise Conflict(
            f"{holder} has been running for over {wait:g} s; nothing of {dataset_id!r} was stored: try again once "
            "it is done",
            headers={"Retry-After": "5"},
        ) from None


_SET_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', :value, true)")  # true: for this transaction only


def _transaction_usable(connection: Connection) -> bool:
    """Can the PostgreSQL transaction run another statement (psycopg: idle in it, not aborted by an error)?"""
    status = getattr(getattr(connection.connection.dbapi_connection, "info", None), "transaction_status", None)
    return getattr(status, "name", None) == "INTRANS"


def _lock_key(dataset_id: str) -> int:
    """The dataset's advisory lock: a signed 64-bit key from its id (stable across processes and versions)."""
    return int.from_bytes(hashlib.sha256(f"tivcast.ingest:{dataset_id}".encode()).digest()[:8], "big", signed=True)


def _lock_wait(exc: OperationalError) -> bool:
    """Did the statement give up waiting for a lock (PostgreSQL's lock_timeout, SQLite's busy timeout)?"""
    return getattr(exc.orig, "sqlstate", None) == "55P03" or "database is locked" in str(exc.orig)


def _refuse_sharp_shrink(dataset_id: str, digest: str, row_count: int, current: Release | None) -> None:
    if current is None or row_count >= SHRINK * current.row_count:
        return
    if current.content_hash == digest:
        return  # already the current release: nothing will change
    raise Conflict(
        f"this file has {row_count:,} rows and would replace release {current.release_id!r} of "
        f"{dataset_id!r} ({current.row_count:,} rows): a release replaces the whole dataset, it does not add "
        "to it. To replace it anyway, send replace=true (tivcast ingest --replace)"
    )


def _with_source(parsed: ParsedFile, label: str) -> list[Row]:
    return [replace(row, source_release=row.source_release or label) for row in parsed.rows]


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
    reinstate: bool = False,
    refuse_shrink: bool = False,
) -> IngestResult:
    """Store parsed rows as a new release, or find the identical one. ``reinstate``: an identical release that
    is not current becomes current again (an operator's load; seeding the shipped data never does this, or every
    start would undo the operator's newer release). ``refuse_shrink``: the shrink rule (:data:`SHRINK`).

    Content already stored is recognised before the checks across rows (world totals): it passed them when it
    was stored, and it is not stored again."""
    lock_dataset(session, dataset_id)
    current = current_release(session, dataset_id)
    digest = parsed.content_hash
    if refuse_shrink:
        _refuse_sharp_shrink(dataset_id, digest, len(parsed.rows), current)
    existing = _existing(session, dataset_id, digest, release_id)
    if existing is not None:
        return _found(session, existing, current, reinstate)
    require_world(parsed, dataset_id)
    if dataset_id in ADDITIVE:
        check_totals(parsed.rows, _aggregates(session))
    release, replaced = _new_release(
        session,
        dataset_id,
        release_id or f"ingest-{digest[:12]}",
        digest,
        len(parsed.rows),
        origin,
        retrieved,
        note,
        published,
        current,
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
    return IngestResult(dataset_id, release.release_id, digest, len(rows), created=True, replaced=replaced)


def _aggregates(session: Session) -> frozenset[str]:
    codes = session.exec(select(Country.code).where(col(Country.entity_type).in_(NOT_SUPPLIERS))).all()
    return frozenset(codes) | {WORLD}


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
    reinstate: bool = False,
) -> IngestResult:
    """Store a table or event dataset as one release (same rules: hashed, immutable, all or none; ``reinstate``
    as in :func:`store_series`)."""
    digest = records_hash(records)
    lock_dataset(session, dataset_id)
    current = current_release(session, dataset_id)
    existing = _existing(session, dataset_id, digest, release_id)
    if existing is not None:
        return _found(session, existing, current, reinstate)
    release, replaced = _new_release(
        session, dataset_id, release_id, digest, len(records), origin, retrieved, None, published, current
    )
    assert release.id is not None
    if kind == "events":
        session.add_all(PolicyEvent(release_pk=release.id, **_event_fields(r)) for r in records)
    else:
        session.add_all(
            Record(release_pk=release.id, row_number=n, data=json.dumps(r, ensure_ascii=False))
            for n, r in enumerate(records, start=1)
        )
    session.flush()
    return IngestResult(dataset_id, release.release_id, digest, len(records), created=True, replaced=replaced)


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


def _found(session: Session, release: Release, current: Release | None, reinstate: bool) -> IngestResult:
    """The answer for content already stored: nothing is written, unless ``reinstate`` makes it current again
    (``current``: the dataset's current release)."""
    replaced = None
    if current is not None and current.id != release.id:
        if not reinstate:
            return IngestResult(
                release.dataset_id,
                release.release_id,
                release.content_hash,
                release.row_count,
                created=False,
                current=False,
            )
        replaced = current.release_id
        release.current_since = _stamp(current)
        session.add(release)
        session.flush()
    return IngestResult(
        release.dataset_id,
        release.release_id,
        release.content_hash,
        release.row_count,
        created=False,
        current=True,
        replaced=replaced,
    )


def _stamp(current: Release | None) -> datetime:
    """The ``current_since`` of a release about to become current: now, and always later than the release it
    replaces (a clock stepped back must not leave the old one current), in a later second too: Last-Modified and
    If-Modified-Since count whole seconds, so a client holding the replaced release's date would get a 304.

    Within a second of the last change (rare: two changes in one second), the load waits for the next whole second
    after the replaced release's (under a second, holding the dataset's lock, :func:`lock_dataset`), so that the
    stamp is never later than the clock: ``Last-Modified`` must not be later than ``Date`` (RFC 9110 8.8.2.1). Only
    when the clock went back by more than that (the replaced release's stamp over a second ahead of it) is the
    stamp just after the replaced one, without waiting for the clock to get there."""
    now = datetime.now(UTC)
    if current is None:
        return now
    since = current.modified if current.modified.tzinfo else current.modified.replace(tzinfo=UTC)
    next_second = since.replace(microsecond=0) + timedelta(seconds=1)
    while now < next_second:  # a loop: time.sleep counts on the monotonic clock, datetime.now on the wall clock
        if next_second - now > timedelta(seconds=1):  # the clock went back: just after the old one, no waiting
            return next_second
        time.sleep((next_second - now).total_seconds())
        now = datetime.now(UTC)
    return now


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
    before: Release | None,
) -> tuple[Release, str | None]:
    """The new release, current from now on, and the id of the release it replaces as the current one
    (``before``, the dataset's current release)."""
    stamp = _stamp(before)
    release = Release(
        dataset_id=dataset_id,
        release_id=release_id,
        content_hash=digest,
        row_count=row_count,
        retrieved=retrieved,
        published=published,
        origin=origin,
        note=note,
        loaded_at=min(stamp, datetime.now(UTC)),
        current_since=stamp,
    )
    session.add(release)
    session.flush()
    return release, before.release_id if before is not None else None


def database_checksum(session: Session) -> str:
    """A digest of every stored release and row count: tests use it to prove nothing changed."""
    releases = session.exec(select(Release.dataset_id, Release.release_id, Release.content_hash)).all()
    counts = [
        session.exec(select(func.count()).select_from(table)).one()
        for table in (Observation, Record, PolicyEvent, Release, Dataset, Country)
    ]
    return f"{sorted(releases)}|{counts}"
