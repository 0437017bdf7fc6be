"""The catalogue of current releases: an invalidation is honoured whatever the clock reads.

``time.monotonic()`` counts from boot, so a sentinel like "loaded at 0.0" looks fresh for ``ttl``
seconds after boot. These tests pin the clock to a freshly booted machine's readings."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlmodel import Session

from api.datasets.catalog import Catalog
from api.db import make_engine
from tests.helpers import ingest

SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
NEW = "sipri-2025-03-10"


class Clock:
    """The monotonic clock of a machine that booted ``now`` seconds ago."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def catalog_on(url: str, clock: Clock, ttl: float = 3600) -> Iterator[Catalog]:
    engine = make_engine(url)
    try:
        yield Catalog(engine, ttl, clock=clock)
    finally:
        engine.dispose()


def current(catalog: Catalog) -> str:
    return catalog.get().release("arms-exports").release_id


class TestInvalidation:
    def test_an_invalidation_seconds_after_boot_serves_the_new_release(self, fresh_url: str) -> None:
        with catalog_on(fresh_url, Clock(0.5)) as catalog:
            assert current(catalog) != NEW
            ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True)
            catalog.invalidate()
            assert catalog.cached() is None
            assert current(catalog) == NEW
            assert catalog.cached() is not None

    def test_a_snapshot_is_trusted_for_ttl_then_reread(self, fresh_url: str) -> None:
        clock = Clock(1.0)
        with catalog_on(fresh_url, clock, ttl=2) as catalog:
            first = catalog.get()
            ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True)
            clock.now = 2.9
            assert catalog.get() is first  # within ttl: no query
            clock.now = 3.0
            assert current(catalog) == NEW

    def test_a_clock_reading_zero_never_counts_as_loaded(self, fresh_url: str) -> None:
        with catalog_on(fresh_url, Clock(0.0)) as catalog:
            assert catalog.cached() is None
            catalog.get()
            assert catalog.cached() is not None

    def test_an_invalidation_during_a_refresh_is_not_lost(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A refresh that read the old releases must not count as fresh after an invalidation it raced."""
        reading, resume = threading.Event(), threading.Event()
        original = Session.exec

        def paused_exec(self: Session, *args: object, **kwargs: object) -> object:
            result = original(self, *args, **kwargs)  # type: ignore[call-overload]
            if threading.current_thread().name == "refresher" and not reading.is_set():
                reading.set()  # the refresh has read the datasets; hold it here
                resume.wait(10)
            return result

        with catalog_on(fresh_url, Clock(5.0)) as catalog:
            monkeypatch.setattr(Session, "exec", paused_exec)
            refresher = threading.Thread(target=catalog.refresh, name="refresher")
            refresher.start()
            assert reading.wait(10)
            ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True)
            catalog.invalidate()  # an upload committed while the refresh was reading
            resume.set()
            refresher.join(10)
            monkeypatch.undo()
            assert catalog.cached() is None
            assert current(catalog) == NEW


class TestExpiry:
    def test_requests_finding_the_snapshot_expired_together_read_the_catalogue_once(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = Clock(10.0)
        with catalog_on(fresh_url, clock, ttl=2) as catalog:
            first = catalog.get()
            reads: list[str] = []
            inside, release = threading.Event(), threading.Event()
            read = catalog._read

            def slow_read() -> None:
                reads.append(threading.current_thread().name)
                inside.set()
                release.wait(10)
                read()

            monkeypatch.setattr(catalog, "_read", slow_read)
            clock.now = 12.5  # expired
            threads = [threading.Thread(target=catalog.get, name=f"request-{i}") for i in range(8)]
            threads[0].start()
            assert inside.wait(10)
            for thread in threads[1:]:
                thread.start()  # they find it expired too, and wait for the read in progress
            release.set()
            for thread in threads:
                thread.join(10)
            assert len(reads) == 1
            assert catalog.cached() is not None and catalog.cached() is not first

    def test_an_invalidation_during_the_read_they_wait_for_makes_them_read_again(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = Clock(10.0)
        with catalog_on(fresh_url, clock, ttl=2) as catalog:
            catalog.get()
            reading, resume = threading.Event(), threading.Event()
            original, read, reads = Session.exec, catalog._read, []

            def paused_exec(self: Session, *args: object, **kwargs: object) -> object:
                result = original(self, *args, **kwargs)  # type: ignore[call-overload]
                if threading.current_thread().name == "first" and not reading.is_set():
                    reading.set()  # the first read has begun (with the old generation); hold it here
                    resume.wait(10)
                return result

            def counted_read() -> None:
                reads.append(threading.current_thread().name)
                read()

            monkeypatch.setattr(Session, "exec", paused_exec)
            monkeypatch.setattr(catalog, "_read", counted_read)
            clock.now = 12.5
            first = threading.Thread(target=catalog.get, name="first")
            first.start()
            assert reading.wait(10)
            ingest(fresh_url, SIPRI_FILE.read_bytes(), replace=True)
            catalog.invalidate()  # an upload committed while the first read was in progress
            second = threading.Thread(target=catalog.get, name="second")
            second.start()  # waits for the first read, finds its snapshot stale, and reads again
            resume.set()
            first.join(10)
            second.join(10)
            monkeypatch.undo()
            assert reads == ["first", "second"]
            assert current(catalog) == NEW
