"""The process's view of datasets and their releases, cached and refreshed on change.

Every data response depends on "which release is current", so looking it up must not
cost a query per request: the catalogue is a small in-memory snapshot re-read at most
every ``ttl`` seconds (and at once after an ingest in this process). Releases are
immutable, so a stale snapshot can only delay a brand-new release by ``ttl``; it can
never serve wrong bytes for a release.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.datasets.tables import Country, Dataset, Release
from api.errors import NotFound


def current_first() -> tuple[ColumnElement[Any], ...]:
    """The order of a dataset's releases: the current one first, then the others by when they were last current.

    The release made current last wins: a new load, or a stored release loaded again (a rollback). Releases
    stored before ``current_since`` existed have none and rank after, by id (newest load first), as they did."""
    return col(Release.current_since).desc().nulls_last(), col(Release.id).desc()


@dataclass(frozen=True)
class Snapshot:
    datasets: dict[str, Dataset]
    descriptors: dict[str, dict[str, Any]]
    releases: dict[str, list[Release]]  # current first (current_first())
    countries: dict[str, Country]
    version: str = field(default="")

    @property
    def modified(self) -> datetime | None:
        """When a dataset's current release last became current (``Last-Modified`` of catalogue-wide answers)."""
        loads = [r[0].modified for r in self.releases.values() if r]
        return max(loads) if loads else None

    def dataset(self, dataset_id: str) -> Dataset:
        try:
            return self.datasets[dataset_id]
        except KeyError:
            raise NotFound(f"dataset {dataset_id!r} does not exist; see /v1/datasets") from None

    def release(self, dataset_id: str, release_id: str | None = None) -> Release:
        releases = self.releases.get(self.dataset(dataset_id).id, [])
        if not releases:
            raise NotFound(f"dataset {dataset_id!r} has no release loaded")
        if release_id is None:
            return releases[0]
        for release in releases:
            if release.release_id == release_id:
                return release
        known = ", ".join(r.release_id for r in releases)
        detail = f"release {release_id!r} of {dataset_id!r} does not exist (known: {known})"
        raise NotFound(detail, errors=[{"field": "release", "message": detail}])  # every route's release=

    def country(self, code: str) -> Country:
        try:
            return self.countries[code.upper()]
        except KeyError:
            raise NotFound(f"country {code!r} does not exist; see /v1/countries") from None


class Catalog:
    """A snapshot trusted for ``ttl`` seconds, or until :meth:`invalidate`.

    Staleness is a generation counter, never a clock value used as a sentinel: ``time.monotonic()``
    counts from boot, so "loaded at 0.0" would look fresh within ``ttl`` seconds of boot. An
    invalidation that lands while a refresh is reading also wins: the refresh's snapshot keeps the
    generation it started at and is stale at once."""

    def __init__(self, engine: Engine, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._loaded_at: float | None = None  # clock reading when the snapshot was read; None: never
        self._generation = 0  # bumped by invalidate()
        self._loaded_generation = -1  # the generation the snapshot was read at

    def fresh(self) -> bool:
        return (
            self._snapshot is not None
            and self._loaded_at is not None
            and self._loaded_generation == self._generation
            and self._clock() - self._loaded_at < self._ttl
        )

    def get(self) -> Snapshot:
        """The current snapshot; call from a worker thread when it may be stale (it queries)."""
        if not self.fresh():
            self.refresh(if_stale=True)
        assert self._snapshot is not None
        return self._snapshot

    def cached(self) -> Snapshot | None:
        return self._snapshot if self.fresh() else None

    def invalidate(self) -> None:
        self._generation += 1

    def refresh(self, *, if_stale: bool = False) -> None:
        """Re-read the catalogue. ``if_stale``: unless it became fresh while this call waited for another
        thread's refresh. Every request that finds the snapshot expired asks for one; without this, each
        of them would re-read the whole catalogue in turn, one after another (requests keep arriving
        while they do)."""
        with self._lock:
            if if_stale and self.fresh():
                return
            self._read()

    def _read(self) -> None:
        with Session(self._engine, expire_on_commit=False) as session:
            generation, started = self._generation, self._clock()
            datasets = {d.id: d for d in session.exec(select(Dataset))}
            releases: dict[str, list[Release]] = {}
            for release in session.exec(select(Release).order_by(*current_first())):
                releases.setdefault(release.dataset_id, []).append(release)
            countries = {c.code: c for c in session.exec(select(Country))}
            # The current release's content and when it became current: a rollback to content served before is
            # a new version (the URL cache must not replay the answers, and Last-Modified, of that earlier time).
            version = ",".join(
                f"{k}:{v[0].content_hash[:16]}@{v[0].modified.timestamp():.6f}"
                for k, v in sorted(releases.items())
                if v
            )
            self._snapshot = Snapshot(
                datasets,
                {k: json.loads(d.descriptor) for k, d in datasets.items()},
                releases,
                countries,
                version=f"{len(countries)}|{version}",
            )
            self._loaded_at, self._loaded_generation = started, generation
