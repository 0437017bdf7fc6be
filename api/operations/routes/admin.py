"""Admin routes: upload a dataset release, warm or purge the caches. All need the admin API key
(``api/operations/security.py``); without a configured key they answer 404 and are left out of OpenAPI."""

from __future__ import annotations

import re
from datetime import date
from pathlib import PureWindowsPath
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from api.datasets.ingest import IngestResult, ingest_file, parse_day
from api.datasets.release_store import ReleaseStore
from api.datasets.schemas import IngestPublic, ProblemDetails, PurgePublic, WarmPublic
from api.db import transaction
from api.errors import Conflict, DependencyUnavailable, InvalidParameter, UnsupportedMediaType
from api.forecasts.inputs import InputsCache
from api.forecasts.warm import publish_warm_set, warm_specs
from api.operations.security import LIMITED, TOO_LARGE, UNAUTHORIZED, rate_limited, require_admin
from api.web.cache import BodyCache, UrlCache
from api.web.deps import STRICT, AppState, DatasetId, StateDep
from api.web.responses import ERRORS, PROBLEM

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    # The budget is counted before the key is checked, so guessing keys is rate limited too. Unknown or repeated
    # query parameters are a 422 naming them (STRICT, as on the data routes), checked after the key.
    dependencies=[rate_limited("admin"), Depends(require_admin), *STRICT],
    responses={
        **UNAUTHORIZED,
        **ERRORS,
        404: {"model": ProblemDetails, "description": "Admin API disabled, or unknown dataset", "content": PROBLEM},
        **LIMITED,
    },
)
RAW_TYPES = ("application/octet-stream", "text/csv", "text/plain")
UPLOAD_TYPES = (*RAW_TYPES, "multipart/form-data")  # a 415 names them all (and sends them as Accept-Post)
NewRelease = Annotated[
    str | None,
    Query(
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        description="Id of the new release; default: from the file (SIPRI's generation date) or its content hash",
    ),
]
# The raw body is documented as application/octet-stream (a file's bytes; what generated clients can send):
# text/csv and text/plain are accepted the same way (RAW_TYPES), as the description says.
UPLOAD_BODY = {
    "required": True,
    "description": "The file: tivcast's long CSV or SIPRI's CSV export, as the raw body (Content-Type "
    "application/octet-stream, text/csv or text/plain) or the multipart field `file`",
    "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
                "required": ["file"],
                "additionalProperties": False,
            }
        },
    },
}


@router.post(
    "/datasets/{dataset_id}/releases",
    summary="Upload a release of a dataset",
    status_code=201,
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        200: {
            "model": IngestPublic,
            "description": "The same content is already stored: no rows were written. If another release was "
            "current, this one is current again (a rollback: current true, replaced names the other)",
        },
        409: {
            "model": ProblemDetails,
            "description": "The release id is taken by other content, the file would shrink the dataset "
            "sharply without replace=true, or another load still held the lock after 30 s (with Retry-After; on "
            "PostgreSQL a load of this dataset, on SQLite any write to the database); nothing was stored",
            "content": PROBLEM,
        },
        **TOO_LARGE,
        415: {
            "model": ProblemDetails,
            "description": "Neither a raw body (application/octet-stream, text/csv, text/plain) nor multipart; "
            "the problem and Accept-Post name the accepted types",
            "content": PROBLEM,
            "headers": {
                "Accept-Post": {"description": "The media types the upload reads", "schema": {"type": "string"}}
            },
        },
    },
)
async def upload_release(
    dataset_id: DatasetId,
    request: Request,
    response: Response,
    state: StateDep,
    background: BackgroundTasks,
    release: NewRelease = None,
    retrieved: Annotated[
        str | None,
        Query(
            max_length=10,
            description="When the file was retrieved from its source: a date, YYYY-MM-DD",
            examples=["2025-04-01"],
            json_schema_extra={"format": "date"},
        ),
    ] = None,
    note: Annotated[str | None, Query(max_length=500, description="Free-text provenance note")] = None,
    replace: Annotated[
        bool,
        Query(description="Confirm a release with fewer than half the current release's rows (it replaces it)"),
    ] = False,
) -> IngestPublic:
    """Validate the whole file, then store it as a new release in one transaction (all rows or none), exactly
    as ``tivcast ingest`` does. 201 with the new release; 200 when identical content is already stored; 422
    naming the line and column of the first problem. The new release is served at once and the warm set is
    recomputed for it. Content already stored that is not the current release becomes current again (a rollback:
    200, ``current`` true, ``replaced`` the release it replaces). A release replaces the whole dataset: one much
    smaller than the current release is a 409 unless ``replace=true``."""
    day = parse_day(retrieved) if retrieved is not None else None
    if retrieved is not None and day is None:
        raise InvalidParameter("retrieved", f"must be YYYY-MM-DD (a real date), not {retrieved!r}")
    data, origin = await _read_upload(request)
    result = await run_in_threadpool(_store, state.engine, dataset_id, data, origin, release, day, note, replace)
    if result.changed:
        state.catalog.invalidate()
        if state.settings.warm_on_start:
            background.add_task(_warm, state, request.app.state.warm_countries)
    response.status_code = 201 if result.created else 200
    return IngestPublic(
        dataset=result.dataset_id,
        release_id=result.release_id,
        content_hash=result.content_hash,
        row_count=result.row_count,
        created=result.created,
        current=result.current,
        replaced=result.replaced,
        links={"releases": f"/v1/datasets/{dataset_id}/releases", "dataset": f"/v1/datasets/{dataset_id}"},
    )


async def _read_upload(request: Request) -> tuple[bytes, str]:
    """The file's bytes and a safe name for it (the body was capped at the upload limit while it arrived)."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "multipart/form-data":
        try:
            async with request.form(max_files=1, max_fields=1) as form:
                upload = form.get("file")
                if not isinstance(upload, UploadFile):
                    raise InvalidParameter("file", "send the CSV as the multipart field 'file'")
                return await upload.read(), _safe_name(upload.filename)
        except HTTPException as exc:  # Starlette's 400 for a malformed multipart body
            if exc.status_code != 400:
                raise
            raise InvalidParameter("file", f"malformed multipart body: {exc.detail}") from None
    if media_type in RAW_TYPES:
        return await request.body(), "upload.csv"
    raise UnsupportedMediaType(
        media_type,
        UPLOAD_TYPES,
        "send the file as the raw body (application/octet-stream, text/csv or text/plain) or as the multipart "
        "field 'file'; nothing was stored",
    )


def _safe_name(filename: str | None) -> str:
    """The base name only, in a small alphabet: it is stored as the release's origin and shown back."""
    base = PureWindowsPath(filename or "").name  # splits on both / and \
    return re.sub(r"[^A-Za-z0-9._-]", "_", base)[:100] or "upload.csv"


def _store(
    engine: Engine,
    dataset_id: str,
    data: bytes,
    origin: str,
    release: str | None,
    retrieved: date | None,
    note: str | None,
    replace: bool,
) -> IngestResult:
    for attempt in (1, 2):
        try:
            with transaction(engine) as session:
                return ingest_file(
                    session,
                    dataset_id,
                    data,
                    origin=origin,
                    release_id=release,
                    retrieved=retrieved,
                    note=note,
                    replace=replace,
                )
        except IntegrityError:
            # The same upload committed by another request between our check and our insert: the retry finds it.
            if attempt == 2:
                raise Conflict("another upload of this dataset is being stored; try again") from None
    raise AssertionError("unreachable")


async def _warm(state: AppState, countries: tuple[str, ...]) -> int:
    snapshot = await run_in_threadpool(state.catalog.get)
    specs = await run_in_threadpool(warm_specs, state.engine, snapshot, state.inputs, countries)
    return await publish_warm_set(state.service, specs)


@router.post(
    "/cache/warm",
    summary="Compute the built-in scenarios of the watched countries",
    status_code=202,
    responses={202: {"model": WarmPublic, "description": "Published; the missing forecasts are being computed"}},
)
async def warm_cache(request: Request, state: StateDep) -> WarmPublic:
    """Publish the warm set (every built-in scenario of the watched countries at the current data version);
    the forecast service computes whatever is missing. 503 when the service is away."""
    countries: tuple[str, ...] = request.app.state.warm_countries
    published = await _warm(state, countries)
    if published < 0:
        raise DependencyUnavailable("the forecast service is unavailable; the warm set was not published")
    return WarmPublic(published=published, countries=list(countries))


@router.post("/cache/purge", summary="Empty the API's in-process caches", response_model=PurgePublic)
async def purge_cache(state: StateDep) -> Any:
    """Empty this process's caches: serialised data responses, the URL replay cache, forecast inputs, the
    catalogue of releases and the forecast results held in memory. Results in Redis are left alone: a result
    is stored under the hash of everything it depends on, so it can never be stale, and dropping it would
    only cost a recomputation. Other API processes keep their own memory."""
    state.bodies = BodyCache(state.settings.body_cache_entries)
    state.urls = UrlCache(state.settings.body_cache_entries)
    state.inputs = InputsCache()
    state.releases = ReleaseStore()
    state.catalog.invalidate()
    dropped = state.service.forget_memory()
    return PurgePublic(
        purged=["bodies", "urls", "inputs", "releases", "catalog", "results"],
        results_dropped=dropped,
        note="this process only; results in Redis are content-addressed and never stale",
    )
