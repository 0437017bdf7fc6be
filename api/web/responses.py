"""Builders of response objects shared by several routes, and the documented error responses."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api.datasets import queries
from api.datasets.catalog import Snapshot
from api.datasets.schemas import TIV_NOTE, Coverage, DatasetPublic, ProblemDetails, ReleasePublic, SourcePublic
from api.datasets.tables import Release

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
CSV_CONTENT = {"text/csv": {"schema": {"type": "string"}}}  # the same rows as CSV (Accept: text/csv or format=csv)
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetails, "description": "Unknown dataset, release or country", "content": PROBLEM},
    406: {
        "model": ProblemDetails,
        "description": "Accept allows neither application/json nor text/csv",
        "content": PROBLEM,
    },
    422: {"model": ProblemDetails, "description": "Invalid parameter (the field is named)", "content": PROBLEM},
    503: {
        "model": ProblemDetails,
        "description": "The database is unavailable; retry after Retry-After",
        "content": PROBLEM,
    },
}


def data_responses(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a data GET: the model as JSON or the rows as CSV, 304, and the errors."""
    return {200: {"model": model, "content": CSV_CONTENT}, 304: {"description": "Not modified"}, **ERRORS}


def release_public(release: Release, *, current: bool) -> ReleasePublic:
    return ReleasePublic(
        release_id=release.release_id,
        content_hash=release.content_hash,
        row_count=release.row_count,
        retrieved=release.retrieved,
        published=release.published,
        origin=release.origin,
        loaded_at=release.loaded_at.isoformat(),
        current_since=release.modified.isoformat(),
        current=current,
    )


def dataset_public(
    session: Session, snapshot: Snapshot, dataset_id: str, release: Release | None = None
) -> DatasetPublic:
    """The dataset as served at ``release`` (default: the current one), with that release's provenance."""
    dataset = snapshot.dataset(dataset_id)
    described = snapshot.descriptors[dataset_id]
    meta: dict[str, Any] = described.get("tivcast", {})
    release = release or snapshot.release(dataset_id)
    coverage = None
    if dataset.kind == "series":
        codes, start, end = queries.coverage(session, release)
        coverage = Coverage(countries=codes, start=start, end=end)
    measure = meta.get("measure")
    if dataset.unit and "TIV" in dataset.unit.upper() and (not measure or "volume" not in measure.lower()):
        measure = f"{measure} {TIV_NOTE}".strip() if measure else TIV_NOTE
    citation, gaps, caveats = meta.get("citation"), _list(meta.get("gaps")), _list(meta.get("caveats"))
    sources = [
        SourcePublic(
            **{k: s.get(k) for k in SourcePublic.model_fields if k in s}
            | {"version": s.get("version") or s.get("release")}
        )
        for s in described.get("sources", [])
    ]
    description = dataset.description
    if not describes(described, release):
        # The shipped descriptor's description, citation, gaps, caveats and sources are about the shipped release
        # only (its vintages, its supplier selection, its calculated 2024 world total).
        citation, gaps, caveats, sources = loaded_provenance(dataset.title, described, release)
        description = loaded_description(dataset_id, described, release, coverage)
    base = f"/v1/datasets/{dataset_id}"
    links = {
        "self": base,
        "releases": f"{base}/releases",
        "download": f"{base}/download",  # the whole release as one CSV
        "datapackage": f"{base}/datapackage",  # Frictionless data package (zip: descriptor + CSVs)
    }
    links["data"] = (
        f"{base}/observations"
        if dataset.kind == "series"
        else ("/v1/policy-events" if dataset.kind == "events" else f"{base}/records")
    )
    return DatasetPublic(
        id=dataset.id,
        kind=dataset.kind,
        title=dataset.title,
        description=description,
        unit=dataset.unit,
        unit_label=dataset.unit_label,
        measure=measure,
        version=release.content_hash,
        release=release_public(release, current=release.id == snapshot.release(dataset_id).id),
        coverage=coverage,
        citation=citation,
        terms=_text(meta.get("terms")),
        gaps=gaps,
        caveats=caveats,
        sources=sources,
        links=links,
    )


def describes(descriptor: dict[str, Any], release: Release) -> bool:
    """Does the shipped descriptor describe this release (the one shipped in the package)?"""
    shipped = descriptor.get("tivcast", {}).get("release", {}).get("id") or "shipped"
    return release.origin == "shipped" and release.release_id == shipped


def loaded_description(
    dataset_id: str, descriptor: dict[str, Any], release: Release, coverage: Coverage | None
) -> str:
    """The description of a release loaded by an operator: what the release itself says (id, published date,
    file, coverage), never the shipped release's facts."""
    generated = f", data generated {release.published}" if release.published else ""
    if coverage is not None and coverage.start is not None:
        covers = (
            f"{len(coverage.countries)} countries and aggregates, {coverage.start}-{coverage.end}, "
            f"{release.row_count} values"
        )
    else:
        covers = f"{release.row_count} rows"
    shipped = descriptor.get("tivcast", {}).get("release", {}).get("id") or "shipped"
    return (
        f"{dataset_id}, release {release.release_id!r}{generated}: loaded into tivcast from the file "
        f"{release.origin!r} on {release.loaded_at.date().isoformat()}; it covers {covers}. The description of "
        f"the shipped release ({shipped!r}) does not apply to it; see measure for what a value means, and "
        "citation, gaps and sources for this release."
    )


def loaded_provenance(
    title: str, descriptor: dict[str, Any], release: Release
) -> tuple[str, list[str], list[str], list[SourcePublic]]:
    """Citation, gaps, caveats and sources of a release loaded by an operator (``tivcast ingest`` or an upload):
    what tivcast knows of it, and a plain statement that the shipped release's notes do not apply."""
    publishers = sorted({s["publisher"] for s in descriptor.get("sources", []) if s.get("publisher")})
    publisher = "; ".join(publishers) or "the publisher"
    generated = f" (data generated {release.published})" if release.published else ""
    credit = descriptor.get("tivcast", {}).get("credit")  # the credit the publisher's terms require, word for word
    citation = (
        (f"{credit}. " if credit else "")
        + f"{title}, {publisher}: release {release.release_id!r}{generated}, loaded into tivcast from the file "
        f"{release.origin!r} on {release.loaded_at.date().isoformat()}. Credit the publisher as its "
        "terms require; tivcast's calculations are not the publisher's."
    )
    shipped = descriptor.get("tivcast", {}).get("release", {}).get("id") or "shipped"
    gaps = [
        f"Release {release.release_id!r} was loaded from {release.origin!r}; the gap notes of the shipped release "
        f"({shipped!r}) do not apply to it, and tivcast has not reviewed this file's gaps. An empty cell is "
        "no row (no value), never a zero."
    ]
    caveats = [release.note] if release.note else []
    source = SourcePublic(
        title=f"{release.origin} (loaded as release {release.release_id})",
        publisher=publisher if publishers else None,
        version=release.release_id,
        retrieved=release.retrieved.isoformat() if release.retrieved else None,
        note=release.note,
    )
    return citation, gaps, caveats, [source]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(map(str, value))


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
