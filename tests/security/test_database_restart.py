"""The connection pool survives a PostgreSQL restart: dead pooled connections are replaced (pool_pre_ping)."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import POSTGRES_ADMIN, Databases
from tests.security.conftest import serve


def kill_connections(database: str) -> int:
    """What a restart does to every open connection of ``database``: the server ends them."""
    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        killed = conn.execute(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db"), {"db": database}
        ).scalar_one()
    engine.dispose()
    return int(killed)


@pytest.mark.postgres
@pytest.mark.parametrize("databases", ["postgres"], indirect=True)
def test_requests_after_the_server_dropped_every_connection_succeed(databases: Databases) -> None:
    url = databases.copy()
    # version_ttl=0: every request reads the catalogue, so every request takes a pooled connection.
    with serve(url, version_ttl=0, body_cache_entries=0) as client:
        before = client.get("/v1/datasets/arms-exports/releases")
        assert before.status_code == 200
        assert kill_connections(url.rsplit("/", 1)[1]) >= 1
        for _ in range(3):
            after = client.get("/v1/datasets/arms-exports/releases")
            assert after.status_code == 200, after.text
            assert after.json() == before.json()
