"""``tivcast db``: the schema's migrations (the API also runs them at start-up)."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.exc import SQLAlchemyError

from api.db import make_engine
from api.migrations import current, head, upgrade
from api.settings import get_settings

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision")] = "head",
) -> None:
    """Migrate TIVCAST_DATABASE_URL to the newest schema (or to REVISION); safe to run from several hosts."""
    engine = make_engine(get_settings().database_url)
    try:
        before, after = upgrade(engine, revision)
    except SQLAlchemyError as exc:
        typer.echo(f"error: migration failed: {type(exc).__name__}: {exc.args[0] if exc.args else exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    typer.echo(f"database at revision {after}" + ("" if before == after else f" (was {before or 'not migrated'})"))


@app.command("current")
def current_command() -> None:
    """Print the database's revision and the newest shipped; exit 1 when they differ."""
    engine = make_engine(get_settings().database_url)
    try:
        at = current(engine)
    finally:
        engine.dispose()
    newest = head()
    typer.echo(f"database: {at or 'not migrated'}; newest: {newest}")
    if at != newest:
        raise typer.Exit(1)
