"""Bulk downloads: a whole release as one streamed CSV, and a release as a Frictionless data package.

The CSV has the dataset's own columns (its Frictionless schema: for a series
``country_code,year,value,flag,source_release``), so a downloaded series file can be loaded again with
``tivcast ingest`` and gives the same content hash. No page cap applies; rows are streamed in batches.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlmodel import Session

from api.datasets import queries
from api.datasets.catalog import Snapshot
from api.datasets.packaging import fit_schema, read_columns, series_coverage, vocabularies
from api.datasets.routes.countries import countries_content, countries_modified
from api.datasets.routes.datasets import dataset_content, release_content
from api.datasets.shipped import descriptor as shipped_package
from api.datasets.tables import Release
from api.web.cache import http_date, make_etag, matches, not_modified_since
from api.web.deps import STRICT, AppState, DatasetId, ReleaseQuery, SnapshotDep, StateDep, respond
from api.web.negotiation import CSV_TYPE, acceptable, cell, require
from api.web.responses import ERRORS, dataset_public, describes, release_public

router = APIRouter(prefix="/v1/datasets", tags=["datasets"], dependencies=STRICT)
ZIP = "application/zip"
# A zip is an octet stream. Declared beside application/zip (and sent when Accept asks for it and not for a zip)
# because generated clients type only what they know: openapi-python-client reads application/octet-stream as a
# file and omits an application/zip response with a warning.
OCTET = "application/octet-stream"
BINARY = {"schema": {"type": "string", "format": "binary"}}
COUNTRIES = "countries"
COUNTRY_COLUMNS = ["code", "name", "entity_type", "aliases"]


def columns_of(snapshot: Snapshot, dataset_id: str) -> list[str]:
    fields = snapshot.descriptors[dataset_id].get("schema", {}).get("fields", [])
    return [f["name"] for f in fields]


def _line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([cell(v) for v in values])
    return out.getvalue()


def stream_rows(state: AppState, snapshot: Snapshot, dataset_id: str, release: Release) -> Iterator[bytes]:
    """The header, then the rows in chunks of about 64 KiB (Starlette runs this generator off the event loop)."""
    kind = snapshot.dataset(dataset_id).kind
    columns = columns_of(snapshot, dataset_id)
    yield _line(columns).encode()
    chunk: list[str] = []
    size = 0
    with Session(state.engine) as session:
        for values in queries.release_rows(session, kind, release, columns):
            line = _line(values)
            chunk.append(line)
            size += len(line)
            if size >= 65536:
                yield "".join(chunk).encode()
                chunk, size = [], 0
    if chunk:
        yield "".join(chunk).encode()


def _filename(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(parts))


@router.get(
    "/{dataset_id}/download",
    summary="Download a whole release as CSV",
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "Every row of the release"},
        304: {"description": "Not modified"},
        **ERRORS,
        406: {**ERRORS[406], "description": "Accept does not allow text/csv"},
    },
    response_class=Response,
)
async def download(
    dataset_id: DatasetId, request: Request, state: StateDep, snapshot: SnapshotDep, release: ReleaseQuery = None
) -> Response:
    """Every row of a release (default: the current one) as one CSV in the dataset's own columns, streamed,
    with no page cap: what World Bank and OWID call a bulk download. ``ETag`` is the release's content."""
    require(request, "text/csv")
    chosen = snapshot.release(dataset_id, release)
    etag = make_etag("bulk", dataset_id, chosen.content_hash)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={state.settings.cache_max_age}",
        "Content-Disposition": f'attachment; filename="{_filename(dataset_id, chosen.release_id)}.csv"',
        "X-Release": chosen.release_id,
        "X-Total-Count": str(chosen.row_count),
        "Last-Modified": http_date(chosen.modified),
    }
    if matches(request, etag) or (
        "if-none-match" not in request.headers
        and not_modified_since(request.headers.get("if-modified-since"), headers["Last-Modified"])
    ):
        return Response(status_code=304, headers=headers)
    return StreamingResponse(stream_rows(state, snapshot, dataset_id, chosen), media_type=CSV_TYPE, headers=headers)


def _resource(
    name: str,
    data: bytes,
    base: dict[str, Any],
    *,
    shipped: bool,
    release_id: str,
    labels: dict[str, str],
    columns: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The resource descriptor of one CSV of the package: the dataset's, with a schema fitted to the rows shipped
    (:func:`~api.datasets.packaging.fit_schema`) and, as ``tivcast``, the vocabularies its field descriptions
    name (not the rest of the shipped resource's ``tivcast``: that is about the shipped release)."""
    columns = read_columns(data) if columns is None else columns  # the CSV's cells, by column
    resource = {k: v for k, v in base.items() if k not in ("tivcast", "path", "bytes", "hash", "schema")}
    schema = fit_schema(base.get("schema", {}), columns)
    vocabulary = vocabularies(
        schema["fields"], base.get("tivcast", {}), columns, shipped=shipped, release_id=release_id, labels=labels
    )
    return resource | {
        "name": name,
        "path": f"{name}.csv",
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": len(data),
        "hash": f"sha256:{hashlib.sha256(data).hexdigest()}",
        "schema": schema,
        **({"tivcast": vocabulary} if vocabulary else {}),
    }


def build_package(state: AppState, snapshot: Snapshot, dataset_id: str, release: Release) -> bytes:
    """A zip holding ``datapackage.json`` and the CSVs it describes (the release, and the countries its codes
    refer to), valid against the Frictionless Data Package specification: each schema is the dataset's, fitted to
    the rows shipped (a column a loaded release leaves empty is not ``required``), and each resource's ``tivcast``
    holds the vocabularies its field descriptions name (``tivcast.flags``, ``tivcast.release.source_releases``,
    ``tivcast.entity_types``)."""
    data = b"".join(stream_rows(state, snapshot, dataset_id, release))
    with Session(state.engine) as session:
        public = dataset_public(session, snapshot, dataset_id, release)
    package = shipped_package()
    labels: dict[str, str] = package.get("tivcast", {}).get("release_labels", {})
    shipped_countries = next(r for r in package["resources"] if r["name"] == COUNTRIES)
    countries = _line(COUNTRY_COLUMNS) + "".join(
        _line([c.code, c.name, c.entity_type, c.aliases]) for _, c in sorted(snapshot.countries.items())
    )
    described = snapshot.descriptors[dataset_id]
    shipped = describes(described, release)
    cells = read_columns(data)
    resource = _resource(
        dataset_id, data, described, shipped=shipped, release_id=release.release_id, labels=labels, columns=cells
    )
    resource["sources"] = [s.model_dump(exclude_none=True) for s in public.sources]
    resource["description"] = public.description  # a loaded release's own, not the shipped descriptor's
    descriptor = {
        "profile": "tabular-data-package",
        "name": _filename("tivcast", dataset_id, release.release_id).lower().replace("_", "-"),
        "title": f"{public.title} (release {release.release_id})",
        "description": public.description,
        "created": release.loaded_at.isoformat(),
        "licenses": resource.get("licenses") or package.get("licenses", []),
        "sources": resource["sources"],
        "resources": [
            resource,
            # the countries are always the shipped list (a loaded file may only use known codes)
            _resource(COUNTRIES, countries.encode(), shipped_countries, shipped=True, release_id="", labels=labels),
        ],
        "tivcast": {
            # what the release is, not the server's state (whether it is served by default, and since when): a
            # pinned release's package stays the same bytes when another release is loaded or it is rolled back to
            "release": release_public(release, current=public.release.current).model_dump(
                mode="json", exclude={"current", "current_since"}),
            "unit": public.unit,
            "unit_label": public.unit_label,
            "measure": public.measure,
            "citation": public.citation,
            "terms": public.terms,
            "gaps": public.gaps,
            "caveats": public.caveats,
        },
    }
    if snapshot.dataset(dataset_id).kind == "series":  # the gap notes point to tivcast.coverage.by_country
        descriptor["tivcast"]["coverage"] = series_coverage(cells)
    out = io.BytesIO()
    # Each entry dated by the release's load, not the clock: the same release gives the same bytes at every build,
    # as its (strong) ETag says.
    stamp = release.loaded_at.timetuple()[:6]
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            ("datapackage.json", json.dumps(descriptor, ensure_ascii=False, indent=2)),
            (f"{dataset_id}.csv", data),
            (f"{COUNTRIES}.csv", countries),
        ):
            entry = zipfile.ZipInfo(name, date_time=stamp)
            entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(entry, content)
    return out.getvalue()


@router.get(
    "/{dataset_id}/datapackage",
    summary="A release as a Frictionless data package (zip)",
    responses={
        200: {
            "content": {ZIP: BINARY, OCTET: BINARY},
            "description": f"The package, a zip: sent as {ZIP}, or as {OCTET} when Accept allows that and not {ZIP}",
        },
        304: {"description": "Not modified"},
        **ERRORS,
        406: {**ERRORS[406], "description": f"Accept allows neither {ZIP} nor {OCTET}"},
    },
    response_class=Response,
)
async def datapackage(
    dataset_id: DatasetId, request: Request, state: StateDep, snapshot: SnapshotDep, release: ReleaseQuery = None
) -> Response:
    """A zip with ``datapackage.json`` (Frictionless Data Package: schema, sources, licence, the release's
    provenance) and the CSVs it describes: the whole release and the countries its codes refer to. Sent as
    ``application/zip``; an ``Accept`` that allows ``application/octet-stream`` and not a zip gets the same bytes
    labelled so."""
    require(request, ZIP, OCTET)
    media = ZIP if acceptable(request.headers.get("accept", ""), [ZIP]) else OCTET
    chosen = snapshot.release(dataset_id, release)
    name = _filename(dataset_id, chosen.release_id)

    def build() -> tuple[bytes, str, dict[str, str]]:
        headers = {"Content-Disposition": f'attachment; filename="{name}.zip"', "X-Release": chosen.release_id}
        return build_package(state, snapshot, dataset_id, chosen), media, headers

    # What the bytes are made of: the release, the dataset's descriptor and the countries; never the catalogue's
    # version, which moves when any other dataset is loaded. Last-Modified moves with each: the release's, or the
    # last shipped load (when countries and descriptors are written), whichever is later.
    key = make_etag(
        "datapackage", *dataset_content(snapshot.dataset(dataset_id)), *release_content(chosen),
        countries_content(snapshot), media,
    )  # fmt: skip
    modified = max(filter(None, (chosen.modified, countries_modified(snapshot))))
    return await respond(request, state, snapshot, key, build, modified=modified)
