"""Migrations: they build the schema the models describe, on SQLite and PostgreSQL; the drift check
catches a model the migrations lack; upgrades are idempotent, reversible, safe to run concurrently
and adopt a database built before migrations existed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

from api.db import make_engine
from api.migrations import alembic_config, current, head, upgrade
from tests.conftest import Databases
from tests.services import ROOT


def drift(url: str, metadata: sa.MetaData) -> list[object]:
    """Differences between the database at ``url`` and ``metadata`` (empty: they agree)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))
    finally:
        engine.dispose()


class TestModelsAndMigrationsAgree:
    def test_the_migrated_database_matches_the_models(self, databases: Databases) -> None:
        # databases builds its template through the migrations (tests/conftest.py), as production does
        url = databases.copy()
        assert drift(url, SQLModel.metadata) == []
        engine = make_engine(url)
        assert current(engine) == head()
        engine.dispose()

    def test_a_model_change_without_a_migration_is_reported(self, databases: Databases) -> None:
        changed = sa.MetaData()
        for table in SQLModel.metadata.tables.values():
            table.to_metadata(changed)
        changed.tables["country"].append_column(sa.Column("population", sa.Integer(), nullable=True))
        sa.Table("forecast_archive", changed, sa.Column("key", sa.String(64), primary_key=True))
        differences = drift(databases.copy(), changed)
        assert {diff[0] for diff in differences if isinstance(diff, tuple)} == {"add_column", "add_table"}
        assert "population" in repr(differences) and "forecast_archive" in repr(differences)

    def test_one_linear_history(self) -> None:
        scripts = ScriptDirectory.from_config(alembic_config())
        assert len(scripts.get_heads()) == 1
        assert scripts.get_base() == "0001"


class TestUpgrade:
    def test_upgrade_is_idempotent_and_downgrade_removes_everything(self, databases: Databases) -> None:
        engine = make_engine(databases.empty())
        try:
            upgrade(engine)
            upgrade(engine)
            assert current(engine) == head()
            assert set(SQLModel.metadata.tables) <= set(inspect(engine).get_table_names())
            with engine.begin() as connection:
                command.downgrade(alembic_config(connection), "base")
            assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
            upgrade(engine)
            assert current(engine) == head()
        finally:
            engine.dispose()

    def test_a_database_built_before_migrations_is_adopted_with_its_rows(self, databases: Databases) -> None:
        engine = make_engine(databases.empty())
        try:
            SQLModel.metadata.create_all(engine)  # how tivcast built databases before migrations
            with engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO country (code, name, entity_type, aliases) "
                                           "VALUES ('JPN', 'Japan', 'state', '')"))
            upgrade(engine)
            assert current(engine) == head()
            with engine.connect() as connection:
                assert connection.execute(sa.text("SELECT name FROM country")).scalar_one() == "Japan"
        finally:
            engine.dispose()


@pytest.mark.postgres
def test_tivcast_db_upgrade_from_several_processes_at_once(empty_postgres: Callable[[], str]) -> None:
    """Several containers may run ``tivcast db upgrade`` at once: the advisory lock lets one build the
    schema and the others find it done."""
    url = empty_postgres()
    env = {**os.environ, "TIVCAST_DATABASE_URL": url}
    command_line = [sys.executable, "-m", "api.cli", "db", "upgrade"]
    processes = [
        subprocess.Popen(command_line, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=60)[0].decode() for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert sum("(was not migrated)" in output for output in outputs) == 1, outputs
    assert all(f"database at revision {head()}" in output for output in outputs)
    check = subprocess.run([sys.executable, "-m", "api.cli", "db", "current"], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and f"database: {head()}" in check.stdout
    assert drift(url, SQLModel.metadata) == []


class TestCurrentSince:
    """0002 adds ``release.current_since`` as NULL on the releases already stored: they keep the order they were
    served in (the newest id is current), and a rollback to one of them works."""

    def test_releases_stored_before_0002_keep_their_current_release_and_can_be_rolled_back(
        self, databases: Databases
    ) -> None:
        from sqlmodel import Session

        from api.datasets.catalog import Catalog
        from api.datasets.ingest import ingest_file
        from api.db import transaction

        shipped = (ROOT / "api" / "data" / "arms-exports.csv").read_bytes()
        revised = shipped.replace(b"\nJPN,2023,13,,", b"\nJPN,2023,14,,")
        engine = make_engine(databases.copy())
        try:
            with transaction(engine) as session:
                ingest_file(session, "arms-exports", revised, origin="revised.csv", release_id="revised")
            with engine.begin() as connection:  # as 0002 leaves the rows of an older database
                connection.execute(sa.text("UPDATE release SET current_since = NULL"))

            def current() -> str:
                return Catalog(engine, ttl=0).get().release("arms-exports").release_id

            assert current() == "revised"  # the newest id, as before 0002
            with transaction(engine) as session:
                result = ingest_file(session, "arms-exports", shipped, origin="arms-exports.csv")
            assert (result.created, result.current, result.replaced) == (False, True, "revised")
            assert current() == result.release_id
            with Session(engine) as session:
                nulls = session.exec(sa.text("SELECT count(*) FROM release WHERE current_since IS NULL")).one()
            assert nulls[0] > 0  # the other datasets' releases were left alone
        finally:
            engine.dispose()
