"""Datasets, their releases, observations and records."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from api import queries
from api.catalog import Snapshot
from api.deps import (
    ALL,
    STRICT,
    AppState,
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
from api.release_store import Cursor, Direction, Page, Render, SeriesRows, page, query_fingerprint
from api.responses import CSV_CONTENT, ERRORS, data_responses, dataset_public, release_public
from api.schemas import (
    DatasetListPublic,
    DatasetPublic,
    FieldPublic,
    ObservationListPublic,
    ObservationPublic,
    RecordListPublic,
    ReleaseListPublic,
)
from api.tables import Release

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

    key = make_etag("dataset", dataset_id, snapshot.version, as_)
    return await respond(request, state, snapshot, key, build, modified=snapshot.release(dataset_id).loaded_at)


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
    return await respond(request, state, snapshot, key, build, modified=releases[0].loaded_at if releases else None)


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
    bound to its query (a cursor from another query is a 422). ``count`` is the total over all pages."""
    check_years(start, end)
    dataset = snapshot.dataset(dataset_id)
    if dataset.kind != "series":
        raise InvalidParameter("dataset_id", f"{dataset_id!r} is a {dataset.kind} dataset; use /records")
    codes = country_list(country, snapshot)
    size = limit or state.settings.page_size_default
    if size > state.settings.page_size_max:
        raise InvalidParameter("limit", f"must be at most {state.settings.page_size_max}")
    fingerprint = query_fingerprint(codes, start, end, mrv)
    position = Cursor.decode(cursor) if cursor is not None else None
    if position is not None:
        if position.query != fingerprint:
            raise InvalidParameter(
                "cursor",
                "belongs to another query (other countries, years or mrv); "
                "use the links of this query's pages, or start again without a cursor",
            )
        if release is not None and release != position.release:
            raise InvalidParameter("cursor", f"belongs to release {position.release!r}, not {release!r}")
        release = position.release  # pinned: the release the first page came from
    chosen = snapshot.release(dataset_id, release)
    as_csv = choose(request, format) == "csv"
    key = make_etag("obs", chosen.content_hash, codes, start, end, mrv, size, cursor, as_csv)

    def build() -> tuple[bytes, str, dict[str, str]]:
        rows = series_rows(state, snapshot, dataset_id, chosen)
        cut = page(rows, rows.ranges(codes, start, end, mrv), size, position)
        links = _links(request, chosen.release_id, fingerprint, cut)
        headers = {"X-Total-Count": str(cut.total), "Link": ", ".join(f'<{u}>; rel="{r}"' for r, u in links.items())}
        next_cursor = links["next"].rsplit("cursor=", 1)[1] if "next" in links else None
        if as_csv:
            note = None
            if cut.total > len(cut.rows):
                bulk = f"{request.base_url}v1/datasets/{dataset_id}/download?release={chosen.release_id}"
                note = (
                    f"partial: one page of {cut.total} rows; next page: {links.get('next', 'none')}; "
                    f"the whole release as one CSV: {bulk}"
                )
            return _csv_page([rows.csv[i] for i in cut.rows], note), CSV_TYPE, headers
        envelope = (
            ObservationListPublic(
                dataset=dataset_id,
                release=chosen.release_id,
                version=chosen.content_hash,
                unit=dataset.unit,
                data=[],
                count=cut.total,
                limit=size,
                next_cursor=next_cursor,
                links=links,
            )
            .model_dump_json()
            .encode()
        )
        data = b'"data":[' + b",".join(rows.json[i] for i in cut.rows) + b"]"
        return envelope.replace(b'"data":[]', data, 1), JSON, headers

    in_memory = state.releases.get(chosen, _names_version(snapshot)) is not None
    return await respond(request, state, snapshot, key, build, modified=chosen.loaded_at, offload=not in_memory)


def series_rows(state: AppState, snapshot: Snapshot, dataset_id: str, release: Release) -> SeriesRows:
    """The release's rows from memory, read and rendered on first use (call off the event loop)."""
    version = _names_version(snapshot)
    unit = snapshot.dataset(dataset_id).unit
    return state.releases.get(release, version) or state.releases.load(
        state.engine, release, version, _renderer(snapshot, unit, release.release_id)
    )


def _names_version(snapshot: Snapshot) -> str:
    return str(len(snapshot.countries))  # country names only change when the seed adds countries


def _renderer(snapshot: Snapshot, unit: str | None, release_id: str) -> Render:
    """Renders one stored row as the JSON object and the CSV line the API sends for it."""

    def render(code: str, year: int, value: float, flag: str | None, source: str | None) -> tuple[bytes, bytes]:
        name = snapshot.countries[code].name if code in snapshot.countries else code
        public = ObservationPublic(
            country=code, country_name=name, year=year, value=value, flag=flag, source_release=source
        )
        line = csv_bytes(
            OBSERVATION_COLUMNS, [public.model_dump() | {"country_code": code, "unit": unit, "release": release_id}]
        )
        return public.model_dump_json().encode(), line.split(b"\n", 1)[1]

    return render


def _links(request: Request, release_id: str, fingerprint: str, cut: Page) -> dict[str, str]:
    """first, prev, next and last, each pinned to the release (and the query) the page came from."""
    # The query string is built once (Starlette's URL helpers re-split and re-encode it per link).
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "release")]
    base = str(request.url.replace(query=urlencode([*kept, ("release", release_id)])))
    links = {"first": base}

    def at(direction: Direction, key: tuple[str, int] | None = None) -> str:
        return f"{base}&{urlencode({'cursor': Cursor(release_id, fingerprint, direction, key).encode()})}"

    if cut.prev_key is not None:
        links["prev"] = at("prev", cut.prev_key)
    if cut.next_key is not None:
        links["next"] = at("next", cut.next_key)
    if cut.total > len(cut.rows):
        links["last"] = at("last")
    return links


OBSERVATION_COLUMNS = ["country_code", "country_name", "year", "value", "unit", "flag", "source_release", "release"]


def _csv_page(lines: list[bytes], note: str | None) -> bytes:
    """One page as CSV. A partial page (more rows exist) says so where ``pandas.read_csv`` shows it, in a
    ``note`` column on its first row: a ``Link`` header is invisible to such readers."""
    if note is None:
        return csv_bytes(OBSERVATION_COLUMNS, []) + b"".join(lines)
    cell = csv_bytes(["note"], [{"note": note}]).split(b"\n", 1)[1].rstrip(b"\n")
    out = [csv_bytes([*OBSERVATION_COLUMNS, "note"], [])]
    if not lines:
        return out[0] + b"," * len(OBSERVATION_COLUMNS) + cell + b"\n"
    out.append(lines[0].rstrip(b"\n") + b"," + cell + b"\n")
    out.extend(line.rstrip(b"\n") + b",\n" for line in lines[1:])
    return b"".join(out)


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
                data=data,  # type: ignore[arg-type]
                count=len(data),
            )
        )

    key = make_etag("records", chosen.content_hash, as_)
    return await respond(request, state, snapshot, key, build, modified=chosen.loaded_at)
