"""Start-up: several API processes preparing one new database at once all come up with the same data."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlmodel import Session

from api.app import prepare_database
from api.datasets.ingest import database_checksum
from api.db import make_engine
from tests.conftest import Databases


def test_concurrent_start_ups_seed_once(databases: Databases) -> None:
    url = databases.empty()
    engines = [make_engine(url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda e: prepare_database(e, True), engines))
        with Session(engines[0]) as session:
            once = database_checksum(session)
        prepare_database(engines[0], True)
        with Session(engines[0]) as session:
            assert database_checksum(session) == once
        reference = make_engine(databases.copy())
        with Session(reference) as session:
            assert database_checksum(session).split("|")[1] == once.split("|")[1]  # same row counts as a seed
        reference.dispose()
    finally:
        for engine in engines:
            engine.dispose()
