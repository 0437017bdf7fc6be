"""Several series datasets in one table: the same countries and years side by side (long or wide)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from api.datasets.catalog import Snapshot
from api.datasets.ingest import RELEASE_ID
from api.datasets.observations import series_rows, wrong_kind
from api.datasets.tables import Release
from api.errors import InvalidParameter
from api.web.cache import make_etag
from api.web.deps import (
    ALL,
    STRICT,
    AppState,
    CountryCodes,
    EndYear,
    SnapshotDep,
    StartYear,
    StateDep,
    check_years,
    country_list,
    respond,
)
from api.web.negotiation import CSV_TYPE, FormatQuery, choose, csv_bytes
from api.web.responses import data_responses

router = APIRouter(prefix="/v1", tags=["datasets"], dependencies=STRICT)
MAX_DATASETS = 8
LONG_COLUMNS = ["dataset", "country_code", "country_name", "year", "value", "unit", "flag", "source_release", "release"]


class ColumnPublic(BaseModel):
    dataset: str = Field(examples=["arms-exports"])
    title: str
    unit: str | None = Field(examples=["TIV_million"])
    unit_label: str | None
    release: str = Field(
        description="The release the values come from: the dataset's current one, or the one pinned with "
        "release=<dataset>:<release>"
    )
    version: str = Field(description="Content hash of that release")


class TablePublic(BaseModel):
    shape: Literal["long", "wide"]
    columns: list[ColumnPublic] = Field(description="Each dataset's unit and release, in the order asked")
    data: list[dict[str, Any]] = Field(
        description="long: one row per dataset, country and year (dataset, country, country_name, year, value, "
        "flag, source_release). wide: one row per country and year (country, country_name, year), with one value "
        "per dataset under the dataset's id (null where that dataset has no value: nothing is filled in) and that "
        "value's flag under `<dataset>__flag` (e.g. lt_0.5m, sum_of_listed_suppliers; null: no flag or no value). "
        "The wide CSV adds `<dataset>__unit` and `<dataset>__release` columns, the same on every row, so a saved "
        "file names its units and releases"
    )
    count: int


@router.get("/observations", summary="Several datasets in one table", responses=data_responses(TablePublic))
async def table(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    dataset: Annotated[
        str,
        Query(
            description=f"Comma-separated series datasets (at most {MAX_DATASETS}), e.g. "
            "arms-exports,milex-constant-usd",
            max_length=600,
        ),
    ],
    country: CountryCodes = ALL,
    start: StartYear = None,
    end: EndYear = None,
    shape: Annotated[
        Literal["long", "wide"], Query(
            description="long (a row per value) or wide (a row per country and year, a column per dataset: "
            "OWID-style)"
        )
    ] = "long",
    release: Annotated[
        str | None,
        Query(
            description="Pin datasets to releases, to reproduce a table: comma-separated `<dataset>:<release>` "
            "(e.g. arms-exports:sipri-at-2024_2025); a dataset not named is read at its current release. Naming a "
            "dataset that is not in `dataset`, or one twice, is a 422; an unknown release is a 404, as on "
            "/v1/datasets/{id}/observations. Each column's `release` (JSON) or `<dataset>__release` (wide CSV) "
            "gives the value that pins the table as served.",
            max_length=1000,
            examples=["arms-exports:sipri-at-2024_2025"],
        ),
    ] = None,
    format: FormatQuery = None,
) -> Response:
    """Arms exports and military expenditure (or any series datasets) for the same countries and years as one
    table, each column with its unit and release (``columns``); CSV with ``format=csv`` or ``Accept``. Every
    dataset is read at its current release unless ``release=<dataset>:<release>,...`` pins it.

    Wide rows carry each value's flag in ``<dataset>__flag`` (``lt_0.5m``: SIPRI's 0, under 0.5 million TIV;
    ``sum_of_listed_suppliers``: the 2024 world total is a lower bound), in JSON and CSV. The wide CSV also has
    ``<dataset>__unit`` and ``<dataset>__release`` columns after the flags, so a file read with
    ``pandas.read_csv`` (which sees no JSON ``columns``) keeps its units and releases; the long CSV has them on
    every row."""
    check_years(start, end)
    ids = _datasets(dataset, snapshot)
    codes = country_list(country, snapshot)
    as_ = choose(request, format)
    pinned = _pins(release, ids)
    releases = [snapshot.release(d, pinned.get(d)) for d in ids]

    def build() -> tuple[bytes, str, dict[str, str]]:
        columns = [
            ColumnPublic(
                dataset=d,
                title=snapshot.dataset(d).title,
                unit=snapshot.dataset(d).unit,
                unit_label=snapshot.dataset(d).unit_label,
                release=r.release_id,
                version=r.content_hash,
            )
            for d, r in zip(ids, releases, strict=True)
        ]
        long = _long(state, snapshot, ids, releases, codes, start, end)
        data = long if shape == "long" else _wide(long, ids)
        headers = {"X-Total-Count": str(len(data))}
        if as_ == "csv":
            if shape == "long":
                units = {c.dataset: c for c in columns}
                rows = (
                    r | {"country_code": r["country"], "unit": units[r["dataset"]].unit,
                         "release": units[r["dataset"]].release}
                    for r in data
                )  # fmt: skip
                return csv_bytes(LONG_COLUMNS, rows), CSV_TYPE, headers
            described = {f"{c.dataset}__unit": c.unit for c in columns} | {
                f"{c.dataset}__release": c.release for c in columns
            }
            wide = ["country_code", "country_name", "year", *ids, *(f"{d}__flag" for d in ids), *described]
            rows = (r | {"country_code": r["country"]} | described for r in data)
            return csv_bytes(wide, rows), CSV_TYPE, headers
        body = TablePublic(shape=shape, columns=columns, data=data, count=len(data))
        return body.model_dump_json().encode(), "application/json", headers

    # "table-2": wide rows gained the flag of each value, so an ETag of the old body must not match.
    key = make_etag("table-2", [r.content_hash for r in releases], ids, codes, start, end, shape, as_)
    return await respond(request, state, snapshot, key, build, modified=max(r.modified for r in releases))


def _datasets(raw: str, snapshot: Snapshot) -> list[str]:
    """The distinct names, in the order given; the count is checked before any name is looked up."""
    ids = list(dict.fromkeys(name for part in raw.split(",") if (name := part.strip())))
    if not ids:
        raise InvalidParameter("dataset", "name at least one series dataset, e.g. dataset=arms-exports")
    if len(ids) > MAX_DATASETS:
        raise InvalidParameter("dataset", f"at most {MAX_DATASETS} datasets in one call ({len(ids)} given)")
    for name in ids:
        kind = snapshot.dataset(name).kind
        if kind != "series":
            raise InvalidParameter("dataset", f"{wrong_kind(name, kind, 'a series')} (only series can be combined)")
    return ids


def _pins(raw: str | None, ids: list[str]) -> dict[str, str]:
    """``release=<dataset>:<release>,...`` as {dataset: release}; each dataset must be one of the query's, once."""
    pins: dict[str, str] = {}
    for part in (raw or "").split(","):
        if not (item := part.strip()):
            continue
        name, colon, release_id = (p.strip() for p in item.partition(":"))
        if not colon or not name or not RELEASE_ID.fullmatch(release_id):
            raise InvalidParameter("release", f"{item!r} is not <dataset>:<release>, e.g. arms-exports:sipri-at-2025")
        if name not in ids:
            raise InvalidParameter(
                "release", f"{name!r} is not among the datasets asked for ({', '.join(ids)}); pin only those"
            )
        if name in pins:
            raise InvalidParameter("release", f"{name!r} is pinned twice; give one release per dataset")
        pins[name] = release_id
    if raw is not None and not pins:
        raise InvalidParameter("release", "name at least one <dataset>:<release>, or leave release out")
    return pins


def _long(
    state: AppState,
    snapshot: Snapshot,
    ids: list[str],
    releases: list[Release],
    codes: list[str],
    start: int | None,
    end: int | None,
) -> list[dict[str, Any]]:
    out = []
    for dataset_id, release in zip(ids, releases, strict=True):
        rows = series_rows(state, snapshot, dataset_id, release)
        for _, first, stop in rows.ranges(codes, start, end, None):
            for index in range(first, stop):
                code, year = rows.keys[index]
                value, flag, source = rows.values[index]
                name = snapshot.countries[code].name if code in snapshot.countries else code
                out.append(
                    {"dataset": dataset_id, "country": code, "country_name": name, "year": year, "value": value,
                     "flag": flag, "source_release": source}
                )  # fmt: skip
    return out


def _wide(long: list[dict[str, Any]], ids: list[str]) -> list[dict[str, Any]]:
    table: dict[tuple[str, int], dict[str, Any]] = {}
    for row in long:
        cell = table.setdefault(
            (row["country"], row["year"]),
            {"country": row["country"], "country_name": row["country_name"], "year": row["year"]}
            | dict.fromkeys(ids)
            | dict.fromkeys(f"{d}__flag" for d in ids),
        )
        cell[row["dataset"]] = row["value"]
        cell[f"{row['dataset']}__flag"] = row["flag"]
    return [table[key] for key in sorted(table)]
