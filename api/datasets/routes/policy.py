"""Japan's arms-export policy timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session, select

from api.datasets import queries
from api.datasets.schemas import PolicyEventListPublic, PolicyEventPublic
from api.datasets.tables import PolicyEvent, Release
from api.errors import InvalidParameter
from api.web.cache import make_etag
from api.web.deps import STRICT, AppState, EndYear, ReleaseQuery, SnapshotDep, StartYear, StateDep, check_years, respond
from api.web.negotiation import CSV_TYPE, FormatQuery, choose, csv_bytes
from api.web.responses import CSV_CONTENT, ERRORS

_CATEGORIES: dict[str, frozenset[str]] = {}  # release content hash -> its categories (releases are immutable)


def categories(state: AppState, release: Release) -> frozenset[str]:
    known = _CATEGORIES.get(release.content_hash)
    if known is None:
        with Session(state.engine) as session:
            found = session.exec(select(PolicyEvent.category).where(PolicyEvent.release_pk == release.id).distinct())
            known = _CATEGORIES[release.content_hash] = frozenset(found.all())
    return known


router = APIRouter(prefix="/v1/policy-events", tags=["policy"], dependencies=STRICT)
DATASET = "policy-events"
COLUMNS = ["date", "date_precision", "category", "title", "regime", "verified", "sources", "note", "release"]


@router.get(
    "",
    summary="Japan's arms-export policy events",
    responses={
        200: {"model": PolicyEventListPublic, "content": CSV_CONTENT},
        304: {"description": "Not modified"},
        **ERRORS,
    },
)
async def list_policy_events(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    start: StartYear = None,
    end: EndYear = None,
    category: Annotated[str | None, Query(max_length=40, description="e.g. policy, exception, export_deal")] = None,
    release: ReleaseQuery = None,
    format: FormatQuery = None,
) -> Response:
    """Dated events, each with the export regime it opens (if any) and its sources."""
    check_years(start, end)
    chosen = snapshot.release(DATASET, release)
    as_ = choose(request, format)
    if category is not None:
        known = categories(state, chosen)
        if category not in known:
            raise InvalidParameter("category", f"unknown category {category!r}; known: {', '.join(sorted(known))}")

    def build() -> tuple[bytes, str, dict[str, str]]:
        with Session(state.engine) as session:
            events = queries.policy_events(session, chosen, category, start, end)
        data = [
            PolicyEventPublic(
                date=e.date,
                date_precision=e.date_precision,
                category=e.category,
                title=e.title,
                regime=e.regime,
                verified=e.verified,
                sources=[s for s in e.sources.split("|") if s],
                note=e.note,
            )
            for e in events
        ]
        if as_ == "csv":
            extra = {"release": chosen.release_id}
            return csv_bytes(COLUMNS, (e.model_dump() | extra for e in data)), CSV_TYPE, {}
        body = PolicyEventListPublic(
            dataset=DATASET, release=chosen.release_id, version=chosen.content_hash, data=data, count=len(data)
        )
        return body.model_dump_json().encode(), "application/json", {}

    key = make_etag("events", chosen.content_hash, start, end, category, as_)
    return await respond(request, state, snapshot, key, build, modified=chosen.modified)
