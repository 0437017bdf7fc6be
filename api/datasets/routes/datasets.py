"""Datasets, their releases, observations and records."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from api.datasets import observations, queries
from api.datasets.catalog import Snapshot
from api.datasets.observations import ObservationQuery
from api.datasets.schemas import (
    DatasetListPublic,
    DatasetPublic,
    FieldPublic,
    ObservationListPublic,
    RecordListPublic,
    ReleaseListPublic,
)
from api.datasets.tables import Dataset, Release
from api.errors import InvalidParameter
from api.web.cache import make_etag
from api.web.deps import (
    ALL,
    STRICT,
    CountryCodes,
    DatasetId,
    EndYear,
    ReleaseQuery,
    SnapshotDep,
    StartYear,
    StateDep,
    respond,
)
from api.web.negotiation import CSV_TYPE, Format, FormatQuery, choose, csv_bytes
from api.web.responses import CSV_CONTENT, ERRORS, data_responses, dataset_public, release_public

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], dependencies=STRICT)
JSON = "application/json"


DATASET_COLUMNS = [
    "id", "kind", "title", "unit", "unit_label", "version", "release_id", "published", "retrieved",
    "start", "end", "countries", "citation", "terms",
]  # fmt: skip
RELEASE_COLUMNS = ["dataset", "release_id", "content_hash", "row_count", "retrieved", "published", "origin",
                   "loaded_at", "current_since", "current"]  # fmt: skip


def dataset_content(dataset: Dataset) -> tuple[object, ...]:
    """What an answer about the dataset takes from its own row: title, description, unit and descriptor (the
    provenance, the schema). The parts of an ETag: it changes with them, and with nothing else's."""
    return (dataset.id, dataset.kind, dataset.title, dataset.description, dataset.unit, dataset.unit_label,
            dataset.descriptor)  # fmt: skip


def release_content(release: Release) -> tuple[object, ...]:
    """What a release says of itself (immutable), not when it last became current."""
    return (release.id, release.release_id, release.content_hash, release.row_count, release.retrieved,
            release.published, release.origin, release.note, release.loaded_at.isoformat())  # fmt: skip


def release_state(release: Release) -> tuple[object, ...]:
    """:func:`release_content` and when the release last became current (``current_since``, served too)."""
    return *release_content(release), release.modified.isoformat()


def dataset_etag(snapshot: Snapshot, dataset_id: str, as_: Format) -> str:
    """``GET /v1/datasets/{id}``: the dataset's row and its current release, so that loading another dataset
    leaves it (and its Last-Modified, the release's) alone."""
    dataset, release = snapshot.dataset(dataset_id), snapshot.release(dataset_id)
    return make_etag("dataset", *dataset_content(dataset), *release_state(release), as_)


def releases_etag(dataset_id: str, releases: list[Release], as_: Format) -> str:
    """``GET /v1/datasets/{id}/releases``: the dataset's releases in order, each with when it became current. Any
    change to the list makes a release current, which moves Last-Modified (the current one's) with it."""
    return make_etag("releases", dataset_id, *(release_state(r) for r in releases), as_)


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

    key = dataset_etag(snapshot, dataset_id, as_)
    return await respond(request, state, snapshot, key, build, modified=snapshot.release(dataset_id).modified)


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
    """Every load of the dataset, the current one first (then by when each was last current), with content hashes
    and dates."""
    releases = snapshot.releases.get(snapshot.dataset(dataset_id).id, [])
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        data = [release_public(r, current=i == 0) for i, r in enumerate(releases)]
        if as_ == "csv":
            return csv_bytes(RELEASE_COLUMNS, [r.model_dump() | {"dataset": dataset_id} for r in data]), CSV_TYPE, {}
        return _json(ReleaseListPublic(dataset=dataset_id, data=data, count=len(data)))

    key = releases_etag(dataset_id, releases, as_)
    return await respond(request, state, snapshot, key, build, modified=releases[0].modified if releases else None)


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

    Keyset pagination: follow ``links`` (or the ``Link`` header): ``first``, ``prev``, ``next``, ``last``.
    Every link names the release the first page came from, so paging never mixes releases; a cursor is
    bound to its dataset and query (a cursor from another query, another dataset's included, is a 422).
    ``count`` is the total over all pages."""
    query = ObservationQuery(dataset_id, country, start, end, mrv, release, limit, cursor, format)
    return await observations.answer(request, state, snapshot, query)


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
        raise InvalidParameter("dataset_id", observations.wrong_kind(dataset_id, dataset.kind, "a table"))
    chosen = snapshot.release(dataset_id, release)
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        schema = snapshot.descriptors[dataset_id].get("schema", {}).get("fields", [])
        with Session(state.engine) as session:
            data = queries.records(session, chosen, schema)
        if as_ == "csv":
            fields = [f["name"] for f in schema]
            columns = [*(fields or sorted({k for row in data for k in row})), "release"]
            return csv_bytes(columns, (row | {"release": chosen.release_id} for row in data)), CSV_TYPE, {}
        return _json(
            RecordListPublic(
                dataset=dataset_id,
                release=chosen.release_id,
                version=chosen.content_hash,
                fields=[FieldPublic(**{k: f.get(k) for k in ("name", "type", "description")}) for f in schema],
                data=data,
                count=len(data),
            )
        )

    key = make_etag("records", chosen.content_hash, as_)
    return await respond(request, state, snapshot, key, build, modified=chosen.modified)
