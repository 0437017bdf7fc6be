"""Observations of a release held in memory, pre-rendered, and the keyset pages cut from them.

Releases are immutable and small (the shipped arms exports are 1,570 rows; SIPRI's whole table is
about 57,000), so each one is read from the database once, sorted by (country, year), and every row is
rendered to its JSON and CSV bytes once. A page is then a few bisections and a join of bytes: no query,
no ORM object and no COUNT statement per request, and the total comes for free.

Cursors are opaque to clients but bound to what produced them: the release (so following ``next`` never
mixes releases, even after a new one is loaded), a fingerprint of the route, the dataset and the query's
filters (a cursor from another query, another dataset's included, is a 422), the key of the row to
continue from, and the direction (next, prev, last).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import Session

from api.datasets.queries import observation_rows
from api.datasets.tables import Release
from api.errors import InvalidParameter

Direction = Literal["next", "prev", "last"]
Render = Callable[[str, int, float, str | None, str | None], tuple[bytes, bytes]]


@dataclass(frozen=True, slots=True)
class Cursor:
    release: str
    query: str
    direction: Direction
    key: tuple[str, int] | None = None

    def encode(self) -> str:
        payload = [self.release, self.query, self.direction, list(self.key) if self.key else None]
        return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            release, query, direction, key = raw
            if not (isinstance(release, str) and isinstance(query, str) and direction in ("next", "prev", "last")):
                raise ValueError
            if key is not None:
                country, year = key
                if not isinstance(country, str) or not isinstance(year, int) or isinstance(year, bool):
                    raise ValueError
                key = (country, year)
            elif direction != "last":
                raise ValueError
            return cls(release, query, direction, key)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidParameter("cursor", "is not a cursor returned by this API; start again without it") from None


def query_fingerprint(
    route: str, dataset_id: str, countries: Sequence[str], start: int | None, end: int | None, mrv: int | None
) -> str:
    """What a cursor is bound to: the route and dataset it pages, and the query's filters. The dataset counts
    because datasets can share a release id (the milex series come from one SIPRI release): without it a
    cursor of one was taken by another, and continued from a row of the wrong series."""
    canonical = json.dumps([route, dataset_id, sorted(countries), start, end, mrv], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SeriesRows:
    """One release's rows sorted by (country, year), each pre-rendered as JSON and as a CSV line."""

    countries: dict[str, tuple[int, list[int]]]  # code -> (index of its first row, its years ascending)
    keys: list[tuple[str, int]]
    json: list[bytes]
    csv: list[bytes]
    values: list[tuple[float, str | None, str | None]]  # value, flag, source_release

    def ranges(
        self, codes: Sequence[str], start: int | None, end: int | None, mrv: int | None
    ) -> list[tuple[str, int, int]]:
        """The matching rows as ``(country, first, stop)`` index ranges, countries in code order."""
        out = []
        for code in sorted(codes) if codes else sorted(self.countries):
            if code not in self.countries:
                continue
            first, years = self.countries[code]
            lo = bisect.bisect_left(years, start) if start is not None else 0
            hi = bisect.bisect_right(years, end) if end is not None else len(years)
            if mrv is not None:
                lo = max(lo, hi - mrv)
            if hi > lo:
                out.append((code, first + lo, first + hi))
        return out


@dataclass(frozen=True)
class Page:
    rows: list[int]  # indices into SeriesRows
    total: int
    next_key: tuple[str, int] | None
    prev_key: tuple[str, int] | None


def page(rows: SeriesRows, ranges: list[tuple[str, int, int]], size: int, cursor: Cursor | None) -> Page:
    """Cut one page of at most ``size`` rows from ``ranges``, starting where ``cursor`` says."""
    total = sum(stop - first for _, first, stop in ranges)
    if cursor is None:
        begin = 0
    elif cursor.direction == "last":
        begin = max(0, total - size)
    else:
        assert cursor.key is not None
        position = _position(rows, ranges, cursor.key, after=cursor.direction == "next")
        begin = position if cursor.direction == "next" else max(0, position - size)
        if cursor.direction == "prev":
            size = position - begin
    chosen = _slice(ranges, begin, size)
    has_next = begin + len(chosen) < total
    return Page(
        chosen,
        total,
        rows.keys[chosen[-1]] if chosen and has_next else None,
        rows.keys[chosen[0]] if chosen and begin > 0 else None,
    )


def _position(rows: SeriesRows, ranges: list[tuple[str, int, int]], key: tuple[str, int], *, after: bool) -> int:
    """How many matching rows sort before ``key`` (``after``: before or at it)."""
    seen = 0
    for _, first, stop in ranges:
        if rows.keys[stop - 1] < key or (after and rows.keys[stop - 1] == key):
            seen += stop - first
            continue
        if rows.keys[first] > key:
            break
        search = bisect.bisect_right if after else bisect.bisect_left
        return seen + search(rows.keys, key, first, stop) - first
    return seen


def _slice(ranges: list[tuple[str, int, int]], begin: int, size: int) -> list[int]:
    out: list[int] = []
    for _, first, stop in ranges:
        length = stop - first
        if begin >= length:
            begin -= length
            continue
        take = range(first + begin, min(stop, first + begin + size - len(out)))
        out.extend(take)
        begin = 0
        if len(out) >= size:
            break
    return out


class ReleaseStore:
    """The rows of recently used releases, keyed by (release, rendering version); loaded once each."""

    def __init__(self, max_releases: int = 16) -> None:
        self._entries: OrderedDict[tuple[int, str], SeriesRows] = OrderedDict()
        self._max = max_releases
        self._lock = threading.Lock()

    def get(self, release: Release, version: str) -> SeriesRows | None:
        assert release.id is not None
        with self._lock:
            found = self._entries.get((release.id, version))
            if found is not None:
                self._entries.move_to_end((release.id, version))
            return found

    def load(self, engine: Engine, release: Release, version: str, render: Render) -> SeriesRows:
        """Read and render a release (call off the event loop); concurrent loads of one release are harmless."""
        found = self.get(release, version)
        if found is not None:
            return found
        query = observation_rows(release)
        countries: dict[str, tuple[int, list[int]]] = {}
        keys, as_json, as_csv, values = [], [], [], []
        with Session(engine) as session:
            for index, (code, year, value, flag, source) in enumerate(session.execute(query)):
                if code not in countries:
                    countries[code] = (index, [])
                countries[code][1].append(year)
                keys.append((code, year))
                line_json, line_csv = render(code, year, value, flag, source)
                as_json.append(line_json)
                as_csv.append(line_csv)
                values.append((value, flag, source))
        rows = SeriesRows(countries, keys, as_json, as_csv, values)
        assert release.id is not None
        with self._lock:
            self._entries[(release.id, version)] = rows
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return rows
