"""The ``tivcast`` command line: thin commands over the same functions the API uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.datasets.ingest import ingest_file, parse_day
from api.datasets.shipped import seed
from api.db import create_schema, make_engine, transaction
from api.errors import TivcastError
from api.forecasts.cli import forecast as forecast_command
from api.migrations.cli import app as db_app
from api.settings import get_settings
from workers.cli import beat as beat_command
from workers.cli import flower as flower_command
from workers.cli import worker as worker_command

app = typer.Typer(help="tivcast: arms-export data API and forecasts.", no_args_is_help=True)
app.command()(worker_command)
app.command()(beat_command)
app.command(name="flower")(flower_command)
app.command(name="forecast")(forecast_command)
app.add_typer(db_app, name="db")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Run the API (embedded default: SQLite file, no other services). Logs are JSON lines on stderr."""
    import uvicorn

    from api.operations.log_config import uvicorn_log_config
    from api.operations.metrics import prepare_multiprocess
    from workers.settings import WorkerSettings

    if workers > 1 and WorkerSettings().redis_url is None:
        # Embedded mode keeps jobs and results in the process that accepted them: behind several processes a
        # client polling a 202's job URL would reach another one and get a 404 for a job that is running.
        typer.echo(
            f"error: --workers {workers} needs TIVCAST_REDIS_URL: embedded mode keeps forecast jobs in the process "
            "that accepted them, so another process would answer 404 for them; run one process, or set "
            "TIVCAST_REDIS_URL (and start tivcast worker)",
            err=True,
        )
        raise typer.Exit(2)

    prepare_multiprocess(workers)  # several processes: /metrics sums their counters
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        log_config=uvicorn_log_config("info"),
        access_log=False,  # tivcast.access logs each request, with its request id (api/operations/metrics.py)
        proxy_headers=False,  # X-Forwarded-For is trusted only from TIVCAST_TRUSTED_PROXIES (operations/security.py)
        date_header=False,  # the app sends Date, exact to the second (api.web.cache.date_header)
    )


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV file to load")],
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset id, e.g. arms-exports")],
    release: Annotated[str | None, typer.Option(help="Release id (default: from the file)")] = None,
    retrieved: Annotated[str | None, typer.Option(help="Retrieval date, YYYY-MM-DD")] = None,
    note: Annotated[str | None, typer.Option(help="Free-text provenance note")] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Confirm a release much smaller than the current one (it replaces it)")
    ] = False,
) -> None:
    """Load a file as a new release of a dataset, atomically: all rows or none. A release replaces the whole
    dataset; one with fewer than half the current release's rows is refused without --replace. A file whose
    content is already stored as an older release makes that release current again (a rollback)."""
    day = parse_day(retrieved) if retrieved is not None else None
    if day is None and retrieved is not None:  # "" too: as retrieved= over HTTP
        typer.echo(f"error: --retrieved must be YYYY-MM-DD (a real date), not {retrieved!r}", err=True)
        raise typer.Exit(2)
    engine = make_engine(get_settings().database_url)
    create_schema(engine)
    seed(engine)
    try:
        with transaction(engine) as session:
            result = ingest_file(
                session,
                dataset,
                file.read_bytes(),
                origin=file.name,
                release_id=release,
                retrieved=day,
                note=note,
                replace=replace,
            )
    except TivcastError as exc:
        typer.echo(f"error: {file.name}: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    summary = f"{result.row_count} rows, version {result.content_hash[:16]}"
    name = f"{result.dataset_id} release {result.release_id}"
    if result.created:
        replaces = f" (replaces {result.replaced})" if result.replaced is not None else ""
        typer.echo(f"loaded {name}{replaces}: {summary}")
    elif result.replaced is not None:
        typer.echo(
            f"current again: {name} (identical content was already stored; replaces {result.replaced}): {summary}"
        )
    else:
        typer.echo(f"unchanged: identical to {name}, already the current release: {summary}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
