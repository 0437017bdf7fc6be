"""Read queries. Each takes a session and plain arguments and returns plain data."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Select, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from api.datasets.tables import Observation, PolicyEvent, Record, Release


def series(
    session: Session, release: Release, countries: Sequence[str], start: int | None, end: int | None
) -> dict[str, dict[int, Observation]]:
    """All values of some countries, keyed by country then year."""
    query = select(Observation).where(
        Observation.release_pk == release.id, col(Observation.country_code).in_(countries)
    )
    if start is not None:
        query = query.where(Observation.year >= start)
    if end is not None:
        query = query.where(Observation.year <= end)
    found: dict[str, dict[int, Observation]] = defaultdict(dict)
    for row in session.exec(query):
        found[row.country_code][row.year] = row
    return found


def first_years(session: Session, release: Release, countries: Sequence[str]) -> dict[str, int]:
    """Each country's first reported year in the whole release (whatever the range asked for)."""
    rows = session.execute(
        sa_select(col(Observation.country_code), func.min(Observation.year))
        .where(col(Observation.release_pk) == release.id, col(Observation.country_code).in_(countries))
        .group_by(col(Observation.country_code))
    )
    return {code: int(year) for code, year in rows}


def coverage(session: Session, release: Release) -> tuple[list[str], int | None, int | None]:
    codes = session.exec(
        select(Observation.country_code)
        .where(Observation.release_pk == release.id)
        .distinct()
        .order_by(Observation.country_code)
    ).all()
    low, high = session.exec(
        select(func.min(Observation.year), func.max(Observation.year)).where(Observation.release_pk == release.id)
    ).one()
    return list(codes), low, high


TRUE, FALSE = frozenset({"true", "True", "TRUE", "1", "yes"}), frozenset({"false", "False", "FALSE", "0", "no"})


def typed(value: object, kind: str) -> object:
    """A stored cell (text, as published) as its Table Schema type; empty is null; a bad cell stays text."""
    if not isinstance(value, str):
        return value
    if value == "":
        return None
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean":
        return True if value in TRUE else False if value in FALSE else value
    return value


def records(session: Session, release: Release, fields: Sequence[dict[str, Any]] = ()) -> list[dict[str, object]]:
    """The rows of a table release, each cell typed by the dataset's schema ``fields``."""
    kinds = {f["name"]: f.get("type", "string") for f in fields}
    rows = session.exec(select(Record).where(Record.release_pk == release.id).order_by(col(Record.row_number)))
    return [{k: typed(v, kinds.get(k, "string")) for k, v in json.loads(r.data).items()} for r in rows]


def policy_events(
    session: Session, release: Release, category: str | None, start: int | None, end: int | None
) -> list[PolicyEvent]:
    query = select(PolicyEvent).where(PolicyEvent.release_pk == release.id)
    if category:
        query = query.where(PolicyEvent.category == category)
    events = list(session.exec(query.order_by(col(PolicyEvent.date), col(PolicyEvent.id))))
    return [
        e for e in events if (start is None or int(e.date[:4]) >= start) and (end is None or int(e.date[:4]) <= end)
    ]


BULK_BATCH = 5000
OBSERVATION_COLUMNS = ("country_code", "year", "value", "flag", "source_release")


def observation_rows(release: Release) -> Select[Any]:
    """A series release's observations as plain rows (no ORM objects), in the columns of
    :data:`OBSERVATION_COLUMNS`, by country and year."""
    return (
        sa_select(*(col(getattr(Observation, name)) for name in OBSERVATION_COLUMNS))
        .where(col(Observation.release_pk) == release.id)
        .order_by(col(Observation.country_code), col(Observation.year))
    )


def release_rows(session: Session, kind: str, release: Release, columns: Sequence[str]) -> Iterator[list[Any]]:
    """Every row of a release in the dataset's own columns (its Frictionless schema), in a stable order,
    fetched in batches: a bulk download never holds the whole release in memory as ORM objects."""
    if kind == "series":
        for row in session.execute(observation_rows(release).execution_options(yield_per=BULK_BATCH)):
            values = dict(zip(OBSERVATION_COLUMNS, row, strict=True))
            yield [values.get(c) for c in columns]
    elif kind == "events":
        events = (
            select(PolicyEvent).where(PolicyEvent.release_pk == release.id)
            .order_by(col(PolicyEvent.date), col(PolicyEvent.id))
        )
        for event in session.exec(events):
            yield [getattr(event, c, None) for c in columns]
    else:
        records = select(Record.data).where(Record.release_pk == release.id).order_by(col(Record.row_number))
        for (data,) in session.execute(records.execution_options(yield_per=BULK_BATCH)):
            values = json.loads(data)
            yield [values.get(c) for c in columns]  # as published: the CSV is text, its schema types it
