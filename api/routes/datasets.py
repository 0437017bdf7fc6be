"""Datasets, their releases, observations and records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from api import queries
from api.catalog import Snapshot
from api.deps import (
    ALL,
    STRICT,
    CountryCodes,
    DatasetId,
    EndYear,
    ReleaseQuery,
    SnapshotDep,
    StartYear,
    StateDep,
    check_years,
    country_list,
    respond,
)
from api.errors import InvalidParameter
from api.http_cache import make_etag
from api.negotiation import CSV_TYPE, Format, FormatQuery, choose, csv_bytes
from api.responses import CSV_CONTENT, ERRORS, data_responses, dataset_public, release_public
from api.schemas import (
    DatasetListPublic,
    DatasetPublic,
    ObservationListPublic,
    ObservationPublic,
    RecordListPublic,
    ReleaseListPublic,
)

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], dependencies=STRICT)
JSON = "application/json"


DATASET_COLUMNS = [
    "id", "kind", "title", "unit", "unit_label", "version", "release_id", "published", "retrieved",
    "start", "end", "countries", "citation", "terms",
]  # fmt: skip
RELEASE_COLUMNS = ["dataset", "release_id", "content_hash", "row_count", "retrieved", "published", "origin",
                   "loaded_at", "current"]  # fmt: skip


def _json(model: Any) -> tuple[bytes, str, dict[str, str]]:
    return model.model_dump_json().encode(), JSON, {}


def _dataset_row(d: DatasetPublic) -> dict[str, Any]:
    coverage = d.coverage
    return d.model_dump() | {
        "release_id": d.release.release_id,
        "published": d.release.published,
        "retrieved": d.release.retrieved,
        "start": coverage.start if coverage else None,
        "end": coverage.end if coverage else None,
        "countries": coverage.countries if coverage else None,
    }


def _datasets(as_: Format, data: list[DatasetPublic], model: Any) -> tuple[bytes, str, dict[str, str]]:
    if as_ == "csv":
        return csv_bytes(DATASET_COLUMNS, [_dataset_row(d) for d in data]), CSV_TYPE, {}
    return _json(model)


@router.get(
    "",
    summary="List datasets",
    responses={
        200: {"model": DatasetListPublic, "content": CSV_CONTENT},
        304: {"description": "Not modified"},
        **ERRORS,
    },
)
async def list_datasets(
    request: Request, state: StateDep, snapshot: SnapshotDep, format: FormatQuery = None
) -> Response:
    """Every dataset with its provenance, current release, version and coverage (JSON, or CSV: one row each)."""
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        with Session(state.engine) as session:
            data = [dataset_public(session, snapshot, d) for d in sorted(snapshot.datasets)]
        return _datasets(as_, data, DatasetListPublic(data=data, count=len(data)))

    return await respond(request, state, snapshot, make_etag("datasets", snapshot.version, as_), build)


@router.get(
    "/{dataset_id}",
    summary="Describe a dataset",
    responses=data_responses(DatasetPublic),
)
async def get_dataset(
    dataset_id: DatasetId, request: Request, state: StateDep, snapshot: SnapshotDep, format: FormatQuery = None
) -> Response:
    """Metadata, provenance (publisher, source, release, terms, citation), coverage and version."""
    snapshot.dataset(dataset_id)
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        with Session(state.engine) as session:
            dataset = dataset_public(session, snapshot, dataset_id)
        return _datasets(as_, [dataset], dataset)

    return await respond(request, state, snapshot, make_etag("dataset", dataset_id, snapshot.version, as_), build)


@router.get(
    "/{dataset_id}/releases",
    summary="List a dataset's releases",
    responses={
        200: {"model": ReleaseListPublic, "content": CSV_CONTENT},
        304: {"description": "Not modified"},
        **ERRORS,
    },
)
async def list_releases(
    dataset_id: DatasetId, request: Request, state: StateDep, snapshot: SnapshotDep, format: FormatQuery = None
) -> Response:
    """Every load of the dataset, newest first, with content hashes and dates."""
    releases = snapshot.releases.get(snapshot.dataset(dataset_id).id, [])
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        data = [release_public(r, current=i == 0) for i, r in enumerate(releases)]
        if as_ == "csv":
            return csv_bytes(RELEASE_COLUMNS, [r.model_dump() | {"dataset": dataset_id} for r in data]), CSV_TYPE, {}
        return _json(ReleaseListPublic(dataset=dataset_id, data=data, count=len(data)))

    key = make_etag("releases", dataset_id, snapshot.version, as_)
    return await respond(request, state, snapshot, key, build)


@router.get(
    "/{dataset_id}/observations",
    summary="Get observations",
    responses={
        200: {"model": ObservationListPublic, "content": CSV_CONTENT},
        304: {"description": "Not modified"},
        **ERRORS,
    },
)
async def list_observations(
    dataset_id: DatasetId,
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    country: CountryCodes = ALL,
    start: StartYear = None,
    end: EndYear = None,
    mrv: Annotated[int | None, Query(ge=1, le=200, description="The N most recent values per country")] = None,
    release: ReleaseQuery = None,
    limit: Annotated[
        int | None, Query(ge=1, description="Page size (the maximum is the server's page_size_max)")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="From the previous page's next link")] = None,
    format: FormatQuery = None,
) -> Response:
    """Values by country and year; JSON by default, CSV with ``Accept: text/csv`` or ``format=csv``.

    Keyset pagination: follow the ``Link: <...>; rel="next"`` header (or ``links.next``)."""
    check_years(start, end)
    dataset = snapshot.dataset(dataset_id)
    if dataset.kind != "series":
        raise InvalidParameter("dataset_id", f"{dataset_id!r} is a {dataset.kind} dataset; use /records")
    chosen = snapshot.release(dataset_id, release)
    codes = country_list(country, snapshot)
    size = limit or state.settings.page_size_default
    if size > state.settings.page_size_max:
        raise InvalidParameter("limit", f"must be at most {state.settings.page_size_max}")
    if cursor is not None:
        queries.decode_cursor(cursor)
    as_csv = choose(request, format) == "csv"
    key = make_etag("obs", chosen.content_hash, codes, start, end, mrv, size, cursor, as_csv)

    def build() -> tuple[bytes, str, dict[str, str]]:
        with Session(state.engine) as session:
            page = queries.observations(session, chosen, codes, start, end, mrv, size, cursor)
        links = _links(request, page.next_cursor)
        headers = {"X-Total-Count": str(page.total)}
        if links:
            headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        data = [_observation(snapshot, o) for o in page.rows]
        if as_csv:
            note = None
            if page.next_cursor or cursor is not None:
                bulk = f"{request.base_url}v1/datasets/{dataset_id}/download?release={chosen.release_id}"
                note = (
                    f"partial: one page of {page.total} rows; next page: {links.get('next', 'none')}; "
                    f"the whole release as one CSV: {bulk}"
                )
            return _csv(data, dataset.unit, chosen.release_id, note), CSV_TYPE, headers
        body = ObservationListPublic(
            dataset=dataset_id,
            release=chosen.release_id,
            version=chosen.content_hash,
            unit=dataset.unit,
            data=data,
            count=page.total,
            limit=size,
            next_cursor=page.next_cursor,
            links=links,
        )
        return body.model_dump_json().encode(), JSON, headers

    return await respond(request, state, snapshot, key, build)


def _observation(snapshot: Snapshot, o: Any) -> ObservationPublic:
    name = snapshot.countries[o.country_code].name if o.country_code in snapshot.countries else o.country_code
    return ObservationPublic(
        country=o.country_code,
        country_name=name,
        year=o.year,
        value=o.value,
        flag=o.flag,
        source_release=o.source_release,
    )


def _links(request: Request, next_cursor: str | None) -> dict[str, str]:
    links = {"first": str(request.url.remove_query_params("cursor"))}
    if next_cursor:
        links["next"] = str(request.url.include_query_params(cursor=next_cursor))
    return links


OBSERVATION_COLUMNS = ["country_code", "country_name", "year", "value", "unit", "flag", "source_release", "release"]


def _csv(rows: list[ObservationPublic], unit: str | None, release: str, note: str | None = None) -> bytes:
    """One page as CSV. A partial page (more pages exist) says so where ``pandas.read_csv`` shows it, in a
    ``note`` column on its first row: a ``Link`` header is invisible to such readers."""
    extra = {"unit": unit, "release": release}
    records = [r.model_dump() | {"country_code": r.country} | extra for r in rows]
    if note is None:
        return csv_bytes(OBSERVATION_COLUMNS, records)
    if records:
        records[0]["note"] = note
    return csv_bytes([*OBSERVATION_COLUMNS, "note"], records or [{"note": note}])


@router.get(
    "/{dataset_id}/records",
    summary="Get the rows of a table dataset",
    responses={
        200: {"model": RecordListPublic, "content": CSV_CONTENT},
        304: {"description": "Not modified"},
        **ERRORS,
    },
)
async def list_records(
    dataset_id: DatasetId,
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    release: ReleaseQuery = None,
    format: FormatQuery = None,
) -> Response:
    """The rows of a table dataset (e.g. japan-export-deals, japan-buildup-plan), as published."""
    dataset = snapshot.dataset(dataset_id)
    if dataset.kind not in ("table", "regimes"):
        raise InvalidParameter("dataset_id", f"{dataset_id!r} is a {dataset.kind} dataset, not a table")
    chosen = snapshot.release(dataset_id, release)
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        with Session(state.engine) as session:
            data = queries.records(session, chosen)
        if as_ == "csv":
            fields = [f["name"] for f in snapshot.descriptors[dataset_id].get("schema", {}).get("fields", [])]
            columns = [*(fields or sorted({k for row in data for k in row})), "release"]
            return csv_bytes(columns, (row | {"release": chosen.release_id} for row in data)), CSV_TYPE, {}
        return _json(
            RecordListPublic(
                dataset=dataset_id, release=chosen.release_id, version=chosen.content_hash, data=data, count=len(data)
            )
        )

    return await respond(request, state, snapshot, make_etag("records", chosen.content_hash, as_), build)
