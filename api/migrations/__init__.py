"""The schema's history: Alembic migrations shipped inside the package, run by ``tivcast db upgrade``
and by the API at start-up (:func:`upgrade`).

* ``env.py`` compares against ``SQLModel.metadata`` (every table of :mod:`api.datasets.tables`), so
  ``alembic.autogenerate`` drafts the next revision and the test suite fails when the models and the
  migrations disagree (``tests/ops/test_migrations.py``).
* Several API processes may start at once: on PostgreSQL the whole upgrade runs in one transaction
  under an advisory lock, so the second process waits and then finds the schema at head; on SQLite
  the loser of a race fails and :func:`api.app.prepare_database` retries it.
* A database built before the migrations existed (``create_all``: tables but no ``alembic_version``)
  is stamped at the baseline revision first, then upgraded like any other.

New revision (from the repository root, against a PostgreSQL database at the current head; then
review the file it writes under ``versions/``; the test suite's drift check tells when one is due)::

    python -c "from api.migrations import revision; revision('postgresql+psycopg://...', 'what changed', '0002')"
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import Engine

__all__ = ["BASELINE", "alembic_config", "current", "head", "revision", "upgrade"]

HERE = Path(__file__).resolve().parent
BASELINE = "0001"  # the schema create_all built before migrations existed
LOCK_ID = 0x7469_7663  # pg_advisory_xact_lock key ("tivc"): one upgrade at a time per database
# Alembic installs the running environment as module globals (``alembic.context``): two threads of one
# process must not run it at once.
_in_process = threading.Lock()


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic configuration for the shipped scripts, bound to ``connection`` (or ``url``)."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision shipped."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "no migrations shipped"
    return revision


def current(engine: Engine) -> str | None:
    """The revision the database is at (``None``: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the database to ``revision``: one transaction, serialised by an advisory lock on PostgreSQL.
    Returns the revisions before and after (``None``: an empty database)."""
    with _in_process, engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
        before = MigrationContext.configure(connection).get_current_revision()
        config = alembic_config(connection)
        tables = set(inspect(connection).get_table_names())
        if "alembic_version" not in tables and "dataset" in tables:
            command.stamp(config, BASELINE)  # built by create_all before migrations: adopt it
        command.upgrade(config, revision)
        return before, MigrationContext.configure(connection).get_current_revision()


def revision(url: str, message: str, rev_id: str | None = None) -> None:
    """Draft a new revision from the difference between the models and the database at ``url``
    (a development tool; revisions are numbered ``0001``, ``0002``, ...)."""
    command.revision(alembic_config(url=url), message=message, autogenerate=True, rev_id=rev_id)
