"""``tivcast forecast``: one forecast computed in this process, by the API's own path.

The inputs come from the database exactly as the API builds them (``build_inputs`` at the current
releases), the job spec and its content key from ``workers.requests.forecast_job``, and the result from
``workers.compute.run``, the function every worker runs. ``workers.compute`` (and so Prophet) is
imported by name, as the embedded service does: the ``api`` package never imports the model stack.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.app import prepare_database
from api.datasets.catalog import Catalog
from api.db import make_engine
from api.errors import TivcastError
from api.forecasts.inputs import build_inputs
from api.settings import get_settings
from forecasting import ForecastingError
from workers.requests import JobSpec, forecast_job


def forecast(
    country: Annotated[str, typer.Option(help="ISO3 code of the exporter, e.g. JPN")],
    scenario: Annotated[str, typer.Option(help="A built-in scenario (see GET /v1/scenarios)")] = "baseline",
    scenario_file: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="A custom scenario as JSON (overrides --scenario)"),
    ] = None,
    horizon: Annotated[int, typer.Option(min=1, max=30, help="Years ahead")] = 10,
    measure: Annotated[str, typer.Option(help="share (percent of world exports) or tiv")] = "share",
    interval_width: Annotated[float, typer.Option(min=0.01, max=0.99, help="e.g. 0.8 for 80 %")] = 0.8,
    plot: Annotated[Path | None, typer.Option(dir_okay=False, help="Write a fan chart to this PNG file")] = None,
) -> None:
    """Forecast a country's arms exports under a scenario: a table of point and interval by year."""
    chosen: Any = json.loads(scenario_file.read_text()) if scenario_file else scenario
    body = {
        "target": {"country": country.upper(), "measure": measure},
        "scenario": chosen,
        "horizon": horizon,
        "interval_width": interval_width,
    }
    try:
        spec = _spec(body)
        compute = importlib.import_module("workers.compute")  # by name: see the module docstring
        result = json.loads(compute.run(spec.payload)[0])
    except (TivcastError, ForecastingError) as exc:
        typer.echo(f"error: {_error_text(exc)}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render_table(result))
    if plot is not None:
        fan_chart(result, plot)
        typer.echo(f"fan chart written to {plot}")


def _error_text(exc: TivcastError | ForecastingError) -> str:
    """The error as the API's problem document gives it: the field as sent, then what is wrong."""
    detail = str(getattr(exc, "detail", None) or exc)
    fields = [str(e["field"]) for e in getattr(exc, "errors", None) or [] if e.get("field")]
    field = getattr(exc, "field", None) or (fields[0] if fields else None)
    return detail if not field or detail.startswith(f"{field}:") else f"{field}: {detail}"


def _spec(body: dict[str, Any]) -> JobSpec:
    engine = make_engine(get_settings().database_url)
    try:
        prepare_database(engine, load_shipped=True)
        snapshot = Catalog(engine, ttl=0).get()
        return forecast_job(body, build_inputs(engine, snapshot, body["target"]["country"]))
    finally:
        engine.dispose()


def _interval_keys(result: dict[str, Any]) -> tuple[str, str]:
    row = result["forecast"][0]
    lo = next(k for k in row if k.startswith("lo-"))
    return lo, "hi-" + lo.removeprefix("lo-")


def render_table(result: dict[str, Any]) -> str:
    """The forecast as aligned text: a title, then year, point and interval bounds."""
    lo, hi = _interval_keys(result)
    target, name = result["target"], result["scenario"]["name"]
    width = lo.removeprefix("lo-")
    lines = [
        f"{target['country']} {target['measure']} ({target['unit']}), scenario {name!r}, {width} % interval",
        f"key {result['key'][:16]}…  data {result['data_version']}  model {result['model_version']}",
        "",
        f"{'year':>6}  {'point':>10}  {lo:>10}  {hi:>10}",
    ]
    for row in result["forecast"]:
        lines.append(f"{row['year']:>6}  {row['point']:>10.3f}  {row[lo]:>10.3f}  {row[hi]:>10.3f}")
    return "\n".join(lines)


def fan_chart(result: dict[str, Any], path: Path) -> None:
    """History, forecast and its interval, as a PNG (matplotlib: the ``plot`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only, no display
        from matplotlib import pyplot as plt
    except ImportError:
        typer.echo("error: --plot needs matplotlib: pip install 'tivcast[plot]'", err=True)
        raise typer.Exit(2) from None
    lo, hi = _interval_keys(result)
    history = [(p["year"], p["value"]) for p in result["history"] if p["value"] is not None]
    rows = result["forecast"]
    years = [r["year"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=120)
    ax.plot([y for y, _ in history], [v for _, v in history], color="black", lw=1.4, label="history")
    if history:  # join the last observed year to the first forecast year
        years_joined, points = [history[-1][0], *years], [history[-1][1], *(r["point"] for r in rows)]
    else:
        years_joined, points = years, [r["point"] for r in rows]
    ax.plot(years_joined, points, color="tab:blue", lw=1.8, label="forecast")
    label = f"{lo.removeprefix('lo-')} % interval"
    ax.fill_between(years, [r[lo] for r in rows], [r[hi] for r in rows], color="tab:blue", alpha=0.25, label=label)
    target = result["target"]
    ax.set_title(f"{target['country']}: {result['scenario']['name']} scenario")
    ax.set_ylabel(target["unit"])
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
