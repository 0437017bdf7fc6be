"""Ingests of one dataset are serialised, on SQLite and PostgreSQL: two loads at once (two admin uploads, two
``tivcast ingest`` runs, an upload while another is being stored) happen one after the other, the second building
on the first: exactly one current release, each release replacing the one before it, ``current_since`` in that
order, and never a 500. Loads in quick succession keep that order in whole seconds, never stamped ahead of the
clock (a change within a second of the last waits for the next second). A load leaves the caller's PostgreSQL
``lock_timeout`` as it was."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.datasets import ingest as ingest_module
from api.datasets.ingest import IngestResult, _stamp, ingest_file
from api.datasets.shipped import descriptor
from api.datasets.tables import Release
from api.db import make_engine, transaction
from api.errors import Conflict
from api.settings import Settings
from tests.helpers import ingest

ROOT = Path(__file__).resolve().parents[2]
DATASET = "japan-defence-budget"  # 24 rows of one country: fast to load, no world total or shrink rule in the way
SHIPPED = (ROOT / "api" / "data" / f"{DATASET}.csv").read_bytes()
SHIPPED_ID = next(r for r in descriptor()["resources"] if r["name"] == DATASET)["tivcast"]["release"]["id"]
KEY = "c" * 32
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "text/csv"}
UPLOAD = f"/v1/admin/datasets/{DATASET}/releases"


def variant(n: int) -> bytes:
    """The shipped file with its first value changed: other content, the same size."""
    return SHIPPED.replace(b"\nJPN,2002,49557,", f"\nJPN,2002,{49557 + n},".encode(), 1)


def history(url: str) -> list[Release]:
    """The dataset's releases, current first (the catalogue's order)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            releases = session.exec(select(Release).where(Release.dataset_id == DATASET)).all()
    finally:
        engine.dispose()

    return sorted(releases, key=lambda release: aware(release.modified), reverse=True)


def aware(moment: datetime) -> datetime:
    """A stored moment in UTC (SQLite hands them back naive)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def assert_one_chain(url: str, loads: list[tuple[str, str | None]]) -> list[str]:
    """``loads``: (release id, the release it says it replaced) of every load that changed the current release.
    They must form one chain from the shipped release, in ``current_since`` order, ending at the current one;
    the chain, oldest first."""
    replaced_by = {}
    for release_id, replaced in loads:
        assert replaced is not None, loads
        assert replaced not in replaced_by, f"two loads both replaced {replaced!r}: {loads}"
        replaced_by[replaced] = release_id
    chain = [SHIPPED_ID]
    while chain[-1] in replaced_by:
        chain.append(replaced_by[chain[-1]])
    assert len(chain) == len(loads) + 1, f"the loads do not form one chain from the shipped release: {loads}"
    releases = history(url)
    stamped = [r.release_id for r in releases if r.release_id in chain]
    assert stamped == chain[::-1], "current_since does not follow the order the loads replaced each other"
    stamps = [r.modified for r in releases]
    assert all(a > b for a, b in zip(stamps, stamps[1:], strict=False)), "two releases became current at once"
    assert releases[0].release_id == chain[-1]
    return chain


@contextmanager
def held_back(url: str) -> Iterator[Callable[[int], None]]:
    """PostgreSQL: a transaction holding the dataset's lock and blocking writes to ``release`` (SHARE mode: reads go
    on), so that loads started meanwhile all wait in it, for the lock, or, were there none, at their first write,
    after each has read the same current release; it ends with the block. Yields ``wait(n)``: returns once ``n``
    sessions wait on a lock (or, after 20 s, without them: it only makes the race certain, the test does not time
    anything; the loads' own wait is 30 s). SQLite: nothing held (one writer at a time, and no view of waiters)."""
    if not url.startswith("postgresql"):
        yield lambda n: None
        return
    engine = make_engine(url)
    try:
        with engine.connect() as holder, engine.connect() as watcher:
            holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ingest_module._lock_key(DATASET)})
            holder.exec_driver_sql("LOCK TABLE release IN SHARE MODE")
            waiting = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )

            def wait(n: int) -> None:
                deadline = time.monotonic() + 20
                while watcher.execute(waiting).scalar_one() < n and time.monotonic() < deadline:
                    watcher.rollback()  # a new snapshot of pg_stat_activity
                    time.sleep(0.1)

            try:
                yield wait
            finally:
                holder.rollback()
    finally:
        engine.dispose()


class Background(threading.Thread):
    """``call()`` in a thread; its result or its exception afterwards."""

    def __init__(self, call: Callable[[], Any]) -> None:
        super().__init__(daemon=True)
        self.call, self.result, self.error = call, None, None

    def run(self) -> None:
        try:
            self.result = self.call()
        except BaseException as exc:  # handed to the test
            self.error = exc


class TestSerialised:
    def test_a_load_waits_for_the_one_being_stored_and_builds_on_it(self, fresh_url: str) -> None:
        """The deterministic interleaving: the first load is stored but not committed when the second starts."""
        engine = make_engine(fresh_url)
        try:
            with transaction(engine) as session:
                first = ingest_file(session, DATASET, variant(1), origin="first.csv", release_id="first")
                assert first.replaced == SHIPPED_ID
                second = Background(lambda: ingest(fresh_url, variant(2), dataset=DATASET, release_id="second"))
                second.start()
                second.join(1.0)
                assert second.is_alive(), f"the second load did not wait for the first: {second.result or second.error}"
        finally:
            engine.dispose()
        second.join(30)
        assert not second.is_alive() and second.error is None, second.error
        result: IngestResult = second.result  # type: ignore[assignment]
        assert (result.release_id, result.created, result.current, result.replaced) == ("second", True, True, "first")
        assert assert_one_chain(fresh_url, [("first", first.replaced), ("second", result.replaced)]) == [
            SHIPPED_ID,
            "first",
            "second",
        ]

    def test_a_rollback_while_a_load_is_being_stored_comes_after_it(self, fresh_url: str) -> None:
        ingest(fresh_url, variant(1), dataset=DATASET, release_id="bad")
        engine = make_engine(fresh_url)
        try:
            with transaction(engine) as session:
                newer = ingest_file(session, DATASET, variant(2), origin="newer.csv", release_id="newer")
                back = Background(lambda: ingest(fresh_url, SHIPPED, dataset=DATASET))
                back.start()
                back.join(1.0)
                assert back.is_alive(), f"the rollback did not wait for the load: {back.result or back.error}"
        finally:
            engine.dispose()
        back.join(30)
        assert back.error is None, back.error
        result: IngestResult = back.result  # type: ignore[assignment]
        assert (result.release_id, result.created, result.replaced) == (SHIPPED_ID, False, "newer")
        assert newer.replaced == "bad"
        releases = history(fresh_url)
        assert [r.release_id for r in releases] == [SHIPPED_ID, "newer", "bad"]

    def test_concurrent_uploads_of_one_dataset_form_one_history(self, databases: Any) -> None:
        url = databases.copy()
        settings = Settings(database_url=url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
        with TestClient(create_app(settings)) as client:

            def at_once(files: list[bytes]) -> list[Any]:
                start = threading.Barrier(len(files))

                def upload(data: bytes) -> Any:
                    start.wait(10)
                    return client.post(UPLOAD, content=data, headers=AUTH)

                threads = [Background(partial(upload, data)) for data in files]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
                assert all(t.error is None for t in threads), [t.error for t in threads]
                return [t.result for t in threads]

            # Four new releases at once: stored one after the other, each replacing the one before.
            responses = at_once([variant(n) for n in (1, 2, 3, 4)])
            assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
            chain = assert_one_chain(url, [(r.json()["release_id"], r.json()["replaced"]) for r in responses])
            listed = client.get(f"/v1/datasets/{DATASET}/releases").json()["data"]
            assert [r["release_id"] for r in listed if r["current"]] == [chain[-1]] == [listed[0]["release_id"]]
            # One new file three times at once: stored once; the other two find it stored and current.
            responses = at_once([variant(5)] * 3)
            assert sorted(r.status_code for r in responses) == [200, 200, 201], [r.text for r in responses]
            bodies = [r.json() for r in responses]
            assert len({b["release_id"] for b in bodies}) == 1
            assert sorted((b["created"], b["current"], b["replaced"]) for b in bodies) == [
                (False, True, None),
                (False, True, None),
                (True, True, chain[-1]),
            ]
            assert [r.release_id for r in history(url)][:2] == [bodies[0]["release_id"], chain[-1]]

    def test_a_load_that_waits_too_long_is_refused_and_writes_nothing(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(ingest_module, "LOCK_WAIT", 0.5)
        settings = Settings(database_url=fresh_url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
        engine = make_engine(fresh_url)
        try:
            with TestClient(create_app(settings)) as client:
                with transaction(engine) as session:
                    ingest_file(session, DATASET, variant(1), origin="first.csv", release_id="first")
                    response = client.post(UPLOAD, params={"release": "second"}, content=variant(2), headers=AUTH)
                assert response.status_code == 409, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                detail = response.json()["detail"]
                assert response.headers["retry-after"] and f"nothing of {DATASET!r} was stored" in detail, detail
                if fresh_url.startswith("sqlite"):  # one writer at a time: the holder may be any write
                    assert detail.startswith("another write to the database (SQLite takes one writer"), detail
                else:  # the advisory lock is the dataset's own
                    assert detail.startswith(f"another load of {DATASET!r} has been running for over 0.5 s"), detail
                assert [r.release_id for r in history(fresh_url)] == ["first", SHIPPED_ID]
                # the lock went with the first load's transaction: the same upload now goes through
                again = client.post(UPLOAD, params={"release": "second"}, content=variant(2), headers=AUTH)
                assert again.status_code == 201, again.text
                assert again.json()["replaced"] == "first"
        finally:
            engine.dispose()

    def test_two_cli_ingests_at_once(self, databases: Any, tmp_path: Path) -> None:
        url = databases.copy()
        env = {**os.environ, "TIVCAST_DATABASE_URL": url}
        paths = []
        for n in (1, 2):
            path = tmp_path / f"budget-{n}.csv"
            path.write_bytes(variant(n))
            paths.append(path)
        with held_back(url) as both_waiting:
            command = [sys.executable, "-m", "api.cli", "ingest", "--dataset", DATASET]
            processes = [
                subprocess.Popen(
                    [*command, str(path), "--release", path.stem],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for path in paths
            ]
            both_waiting(len(processes))
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        # Each run says which release it replaced: without the lock both would read the shipped release as
        # current and both say they replaced it.
        said = [re.match(r"loaded \S+ release (\S+) \(replaces (\S+)\): ", out) for out, _ in outputs]
        assert all(said), outputs
        loads = [(m.group(1), m.group(2)) for m in said if m]
        assert sorted(release for release, _ in loads) == ["budget-1", "budget-2"], outputs
        first, second = sorted(loads, key=lambda load: load[1] != SHIPPED_ID)
        assert first[1] == SHIPPED_ID and second[1] == first[0], f"the two runs do not chain: {outputs}"
        assert assert_one_chain(url, loads) == [SHIPPED_ID, first[0], second[0]]
        current = [r["release_id"] for r in releases_listed(url) if r["current"]]
        assert current == [second[0]], current


def releases_listed(url: str) -> list[dict[str, Any]]:
    """The dataset's releases as the API lists them (``current`` marks the one it serves)."""
    settings = Settings(database_url=url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
    with TestClient(create_app(settings)) as client:
        response = client.get(f"/v1/datasets/{DATASET}/releases")
        assert response.status_code == 200, response.text
        listed: list[dict[str, Any]] = response.json()["data"]
        return listed


def lock_timeout(connection: Any) -> str:
    return str(connection.exec_driver_sql("SHOW lock_timeout").scalar_one())


@pytest.mark.parametrize("databases", ["postgres"], indirect=True)  # PostgreSQL's lock_timeout: no SQLite run
class TestLockTimeout:
    """The dataset's lock waits up to LOCK_WAIT, then the caller's own PostgreSQL ``lock_timeout`` is back for the
    rest of its transaction (``SET LOCAL ... = DEFAULT`` gave it the server's default instead)."""

    @pytest.mark.parametrize("scope", ["SET", "SET LOCAL"])
    def test_a_load_leaves_the_callers_lock_timeout(self, fresh_url: str, scope: str) -> None:
        engine = make_engine(fresh_url)
        try:
            with engine.connect() as connection:
                default = lock_timeout(connection)
                assert default != "7s"
                connection.commit()
                connection.exec_driver_sql(f"{scope} lock_timeout = '7s'")  # in the transaction the load joins
                with Session(bind=connection) as session:
                    result = ingest_file(session, DATASET, variant(1), origin="t.csv")
                assert result.created and result.replaced == SHIPPED_ID
                assert lock_timeout(connection) == "7s"  # for the rest of the load's transaction
                connection.commit()
                # a session's setting outlives the transaction; a SET LOCAL ends with it
                assert lock_timeout(connection) == ("7s" if scope == "SET" else default)
                assert [r.release_id for r in history(fresh_url)][:2] == [result.release_id, SHIPPED_ID]
        finally:
            engine.dispose()

    def test_a_refused_wait_leaves_the_sessions_lock_timeout(self, fresh_url: str) -> None:
        engine = make_engine(fresh_url)
        try:
            with transaction(engine) as holder:
                ingest_file(holder, DATASET, variant(1), origin="first.csv", release_id="first")
                with engine.connect() as connection:
                    connection.exec_driver_sql("SET lock_timeout = '7s'")
                    connection.commit()
                    with Session(bind=connection) as session, pytest.raises(Conflict):
                        ingest_module.lock_dataset(session, DATASET, wait=0.2)
                    connection.rollback()
                    assert lock_timeout(connection) == "7s"
        finally:
            engine.dispose()


@contextmanager
def current_release_queries(engine: Engine) -> Iterator[list[str]]:
    """The statements run on ``engine`` that look up a dataset's current release (the catalogue's order)."""
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM release" in statement and "ORDER BY release.current_since" in statement:
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", seen)


class TestOneLookup:
    @pytest.mark.parametrize("case", ["new release", "rollback", "already current"])
    def test_an_ingest_looks_the_current_release_up_once(self, fresh_url: str, case: str) -> None:
        if case == "rollback":
            ingest(fresh_url, variant(1), dataset=DATASET)
        data = {"new release": variant(2), "rollback": SHIPPED, "already current": SHIPPED}[case]
        engine = make_engine(fresh_url)
        try:
            with current_release_queries(engine) as statements, transaction(engine) as session:
                ingest_file(session, DATASET, data, origin="t.csv")
            assert len(statements) == 1, statements
        finally:
            engine.dispose()


class Clock:
    """A wall clock for :func:`~api.datasets.ingest._stamp`: ``sleep`` moves it on (by ``short`` less the first
    time: ``time.sleep`` counts on the monotonic clock, which may run a little apart from the wall clock)."""

    def __init__(self, now: datetime, short: float = 0.0) -> None:
        self.moment, self.short, self.slept = now, short, []

    def now(self, tz: Any = None) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.moment += timedelta(seconds=seconds - self.short)
        self.short = 0.0


def replaced_since(moment: datetime, *, naive: bool = False) -> Release:
    """A current release that became current at ``moment`` (naive: as SQLite hands it back)."""
    since = moment.replace(tzinfo=None) if naive else moment
    fields = {"dataset_id": DATASET, "release_id": "old", "content_hash": "0" * 64, "row_count": 1, "origin": "t"}
    return Release(**fields, loaded_at=since, current_since=since)


def at(seconds: float) -> datetime:
    """``seconds`` past a whole second."""
    return datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC) + timedelta(seconds=seconds)


class TestStamp:
    """``current_since`` of a release becoming current: a later whole second than the release it replaces, and
    never later than the clock (Last-Modified must not be later than Date, RFC 9110 8.8.2.1)."""

    @pytest.mark.parametrize(
        ("replaced", "now", "short", "slept", "stamp"),
        [
            # within a second of the last change: wait for the next whole second (under a second)
            (at(0.7), at(0.9), 0.0, [0.1], at(1)),
            (at(0), at(0), 0.0, [1.0], at(1)),
            # the sleep ends a little early by the wall clock: wait the rest, the stamp is still a later second
            (at(0.5), at(0.6), 0.05, [0.4, 0.05], at(1)),
            # already in a later second: now, no waiting
            (at(0.7), at(1.2), 0.0, [], at(1.2)),
            # the clock went back past the replaced stamp by more than a second: just after it, without waiting
            (at(5.5), at(0.9), 0.0, [], at(6)),
        ],
        ids=["within-a-second", "on-the-second", "sleep-ends-early", "a-later-second", "clock-went-back"],
    )
    @pytest.mark.parametrize("naive", [False, True], ids=["aware", "naive"])
    def test_the_stamp(
        self,
        monkeypatch: pytest.MonkeyPatch,
        replaced: datetime,
        now: datetime,
        short: float,
        slept: list[float],
        stamp: datetime,
        naive: bool,
    ) -> None:
        clock = Clock(now, short)
        monkeypatch.setattr(ingest_module, "datetime", SimpleNamespace(now=clock.now))
        monkeypatch.setattr(ingest_module, "time", SimpleNamespace(sleep=clock.sleep))
        got = _stamp(replaced_since(replaced, naive=naive))
        assert clock.slept == pytest.approx(slept)
        assert got == stamp
        assert got.replace(microsecond=0) > replaced.replace(microsecond=0)
        if replaced < now + timedelta(seconds=1):  # not the clock going back: never ahead of the clock
            assert got <= clock.moment

    def test_a_first_release_is_stamped_now(self, monkeypatch: pytest.MonkeyPatch) -> None:
        clock = Clock(at(0.25))
        monkeypatch.setattr(ingest_module, "datetime", SimpleNamespace(now=clock.now))
        monkeypatch.setattr(ingest_module, "time", SimpleNamespace(sleep=clock.sleep))
        assert (_stamp(None), clock.slept) == (clock.moment, [])


class TestQuickSuccession:
    def test_loads_in_quick_succession_take_later_seconds_never_ahead_of_the_clock(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Last-Modified counts whole seconds, so each change becomes current in a later second than the one it
        replaces; and it must not be later than Date, so a change within a second of the last waits for the next
        second (under a second) rather than stamping itself ahead of the clock."""
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(seconds)

        monkeypatch.setattr(ingest_module, "time", SimpleNamespace(sleep=sleep), raising=False)  # absent: no waits
        loads = [variant(1), SHIPPED, variant(1)]  # a new release, then two rollbacks
        results, stamps = [], []
        for data in loads:
            results.append(ingest(fresh_url, data, dataset=DATASET))
            finished = datetime.now(UTC)
            current = history(fresh_url)[0]
            assert current.release_id == results[-1].release_id
            stamps.append(aware(current.modified))
            assert stamps[-1] <= finished, f"{results[-1].release_id} stamped {stamps[-1]}, ahead of {finished}"
        assert [r.replaced is not None for r in results] == [True] * 3
        assert [r.created for r in results] == [True, False, False]
        assert results[1].release_id == SHIPPED_ID and results[2].release_id == results[0].release_id
        seconds = [stamp.replace(microsecond=0) for stamp in stamps]
        assert all(a < b for a, b in zip(seconds, seconds[1:], strict=False)), stamps
        assert all(0 < s <= 1 for s in slept), slept

    def test_the_served_data_follow_quick_rollbacks(self, fresh_url: str) -> None:
        settings = Settings(database_url=fresh_url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
        path = f"/v1/datasets/{DATASET}/observations?country=JPN&start=2002&end=2002"
        with TestClient(create_app(settings)) as client:
            seen = []
            for n in (1, 0, 1):
                response = client.post(UPLOAD, content=variant(n) if n else SHIPPED, headers=AUTH)
                assert response.status_code in (200, 201), response.text
                answer = client.get(path)
                received = datetime.now(UTC)
                seen.append((answer.json()["data"][0]["value"], answer.headers["last-modified"]))
                assert parsedate_to_datetime(seen[-1][1]) <= received, "Last-Modified ahead of the clock"
        assert [value for value, _ in seen] == [49558, 49557, 49558]
        assert len({modified for _, modified in seen}) == 3  # each change moved Last-Modified on
