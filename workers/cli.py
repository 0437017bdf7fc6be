"""``tivcast worker`` and ``tivcast beat``: thin commands over Celery's own entry points.

The Celery app is imported inside the commands, so mounting these commands
in the ``tivcast`` CLI costs the API nothing (and never imports the model).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Annotated

import typer

from workers.scratch import TempRoot, root_for
from workers.settings import get_worker_settings

__all__ = ["app", "beat", "worker"]

app = typer.Typer(help="Forecast workers (Celery on Redis).", no_args_is_help=True)


def _require_redis() -> None:
    if not get_worker_settings().redis_url:
        typer.echo(
            "error: set TIVCAST_REDIS_URL (workers need Redis; without it the API runs forecasts itself)", err=True
        )
        raise typer.Exit(2)


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Processes (default: one per CPU)")] = None,
    loglevel: Annotated[str, typer.Option(help="Log level")] = "info",
    hostname: Annotated[str | None, typer.Option(help="Node name, e.g. w1@%h (unique per worker)")] = None,
) -> None:
    """Run a Celery worker (prefork pool) on the forecast queue."""
    _require_redis()
    # The worker's own temporary root, before anything (the model stack) is imported: see workers.scratch.
    from celery.utils.nodenames import default_nodename, host_format

    TempRoot(root_for(host_format(default_nodename(hostname or "")))).prepare()
    from workers.celery_app import app as celery

    argv = [
        "worker",
        "--pool",
        "prefork",
        "-Q",
        get_worker_settings().queue,
        "--loglevel",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]
    if concurrency is not None:
        argv += ["--concurrency", str(concurrency)]
    if hostname is not None:
        argv += ["--hostname", hostname]
    celery.worker_main(argv)


@app.command()
def beat(
    loglevel: Annotated[str, typer.Option(help="Log level")] = "info",
    schedule: Annotated[Path, typer.Option(help="Beat's schedule file")] = Path("celerybeat-schedule"),
) -> None:
    """Run Celery beat: the periodic warm-cache sweep (run exactly one)."""
    _require_redis()
    from workers.celery_app import app as celery

    celery.start(["beat", "--loglevel", loglevel, "--schedule", str(schedule)])


if __name__ == "__main__":  # python -m workers.cli worker (what the tests run)
    app()


@app.command()
def flower(
    port: Annotated[int, typer.Option(help="Port of the Flower web UI")] = 5555,
    address: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
) -> None:
    """Run Flower, Celery's monitoring UI, on the same broker and key prefix (needs the `flower` extra)."""
    _require_redis()
    if importlib.util.find_spec("flower") is None:  # an optional extra: a hint, not a traceback
        typer.echo("error: Flower is not installed: pip install 'tivcast[flower]'", err=True)
        raise typer.Exit(2) from None
    from workers.celery_app import app as celery

    celery.start(["flower", f"--port={port}", f"--address={address}"])
