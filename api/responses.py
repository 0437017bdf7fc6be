"""Builders of response objects shared by several routes, and the documented error responses."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from api import queries
from api.catalog import Snapshot
from api.schemas import TIV_NOTE, Coverage, DatasetPublic, ProblemDetails, ReleasePublic, SourcePublic
from api.tables import Release

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetails, "description": "Unknown dataset, release or country", "content": PROBLEM},
    422: {"model": ProblemDetails, "description": "Invalid parameter (the field is named)", "content": PROBLEM},
    503: {
        "model": ProblemDetails,
        "description": "The database is unavailable; retry after Retry-After",
        "content": PROBLEM,
    },
}


def release_public(release: Release, *, current: bool) -> ReleasePublic:
    return ReleasePublic(
        release_id=release.release_id,
        content_hash=release.content_hash,
        row_count=release.row_count,
        retrieved=release.retrieved,
        published=release.published,
        origin=release.origin,
        loaded_at=release.loaded_at.isoformat(),
        current=current,
    )


def dataset_public(session: Session, snapshot: Snapshot, dataset_id: str) -> DatasetPublic:
    dataset = snapshot.dataset(dataset_id)
    meta: dict[str, Any] = snapshot.descriptors[dataset_id].get("tivcast", {})
    release = snapshot.release(dataset_id)
    coverage = None
    if dataset.kind == "series":
        codes, start, end = queries.coverage(session, release)
        coverage = Coverage(countries=codes, start=start, end=end)
    measure = meta.get("measure")
    if dataset.unit and "TIV" in dataset.unit.upper() and (not measure or "volume" not in measure.lower()):
        measure = f"{measure} {TIV_NOTE}".strip() if measure else TIV_NOTE
    sources = [
        SourcePublic(
            **{k: s.get(k) for k in SourcePublic.model_fields if k in s}
            | {"version": s.get("version") or s.get("release")}
        )
        for s in snapshot.descriptors[dataset_id].get("sources", [])
    ]
    base = f"/v1/datasets/{dataset_id}"
    links = {"self": base, "releases": f"{base}/releases"}
    links["data"] = (
        f"{base}/observations"
        if dataset.kind == "series"
        else ("/v1/policy-events" if dataset.kind == "events" else f"{base}/records")
    )
    return DatasetPublic(
        id=dataset.id,
        kind=dataset.kind,
        title=dataset.title,
        description=dataset.description,
        unit=dataset.unit,
        unit_label=dataset.unit_label,
        measure=measure,
        version=release.content_hash,
        release=release_public(release, current=True),
        coverage=coverage,
        citation=meta.get("citation"),
        terms=_text(meta.get("terms")),
        gaps=_list(meta.get("gaps")),
        caveats=_list(meta.get("caveats")),
        sources=sources,
        links=links,
    )


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(map(str, value))


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]
