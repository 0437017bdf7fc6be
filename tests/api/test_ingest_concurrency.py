"""Ingests of one dataset are serialised, on SQLite and PostgreSQL: two loads at once (two admin uploads, two
``tivcast ingest`` runs, an upload while another is being stored) happen one after the other, the second building
on the first: exactly one current release, each release replacing the one before it, ``current_since`` in that
order, and never a 500. Loads in quick succession keep that order without waiting for the clock."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.app import create_app
from api.datasets import ingest as ingest_module
from api.datasets.ingest import IngestResult, ingest_file
from api.datasets.shipped import descriptor
from api.datasets.tables import Release
from api.db import make_engine, transaction
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

    def since(release: Release) -> datetime:
        moment = release.modified
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return sorted(releases, key=since, reverse=True)


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
                assert response.headers["retry-after"] and DATASET in response.json()["detail"]
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
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "api.cli", "ingest", str(path), "--dataset", DATASET, "--release", path.stem],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for path in paths
        ]
        outputs = [p.communicate(timeout=120) for p in processes]
        assert [p.returncode for p in processes] == [0, 0], outputs
        assert all(out.startswith("loaded ") for out, _ in outputs), outputs
        releases = history(url)
        assert [r.release_id for r in releases][2:] == [SHIPPED_ID]
        assert {r.release_id for r in releases[:2]} == {"budget-1", "budget-2"}
        assert releases[0].modified > releases[1].modified > releases[2].modified


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


class TestQuickSuccession:
    def test_loads_in_quick_succession_keep_their_order_without_waiting(self, fresh_url: str) -> None:
        """Last-Modified counts whole seconds, so each change becomes current at least a second after the one it
        replaces; the load must not sleep for it (it holds the dataset's lock)."""
        loads = [variant(1), variant(2), SHIPPED, variant(1), SHIPPED]  # two rollbacks among them
        began = time.perf_counter()
        results = [ingest(fresh_url, data, dataset=DATASET) for data in loads]
        took = time.perf_counter() - began
        assert [r.replaced is not None for r in results] == [True] * 5
        assert [r.created for r in results] == [True, True, False, False, False]
        releases = history(fresh_url)
        assert releases[0].release_id == SHIPPED_ID == results[-1].release_id
        stamps = sorted(r.modified for r in releases)
        assert all(
            (b.replace(microsecond=0) - a.replace(microsecond=0)).total_seconds() >= 1
            for a, b in zip(stamps, stamps[1:], strict=False)
        )
        # Waiting for the next second before each change would take three seconds or more for these five.
        assert took < 2.5, f"five loads took {took:.2f} s"

    def test_the_served_data_follow_quick_rollbacks(self, fresh_url: str) -> None:
        settings = Settings(database_url=fresh_url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
        path = f"/v1/datasets/{DATASET}/observations?country=JPN&start=2002&end=2002"
        with TestClient(create_app(settings)) as client:
            seen = []
            for n in (1, 2, 0, 1, 0):
                response = client.post(UPLOAD, content=variant(n) if n else SHIPPED, headers=AUTH)
                assert response.status_code in (200, 201), response.text
                answer = client.get(path)
                seen.append((answer.json()["data"][0]["value"], answer.headers["last-modified"]))
        assert [value for value, _ in seen] == [49558, 49559, 49557, 49558, 49557]
        assert len({modified for _, modified in seen}) == 5  # each change moved Last-Modified on
