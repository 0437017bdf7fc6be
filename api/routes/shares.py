"""Shares of world arms exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from api import queries, shares
from api.deps import (
    AGGREGATES,
    ALL,
    STRICT,
    CountryCodes,
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
from api.negotiation import CSV_TYPE, FormatQuery, choose, csv_bytes
from api.responses import data_responses
from api.schemas import ShareListPublic

router = APIRouter(prefix="/v1/arms-exports", tags=["arms exports"], dependencies=STRICT)
DATASET = "arms-exports"
COLUMNS = ["country", "period", "start", "end", "share", "tiv", "world_tiv", "world_basis", "years_with_data",
           "source_releases", "release"]  # fmt: skip
MEASURE = "Percent of world arms exports, in SIPRI trend-indicator values (volume, not money)."


@router.get(
    "/shares",
    summary="Shares of world arms exports",
    responses=data_responses(ShareListPublic),
)
async def get_shares(
    request: Request,
    state: StateDep,
    snapshot: SnapshotDep,
    country: CountryCodes = ALL,
    start: StartYear = None,
    end: EndYear = None,
    window: Annotated[int, Query(description="1: yearly; 5: SIPRI-style five-year totals", examples=[1])] = 1,
    release: ReleaseQuery = None,
    format: FormatQuery = None,
) -> Response:
    """Each country's share of world exports in percent, with the TIV and world total it came from.

    2024 shares use the sum of the suppliers SIPRI lists for 2024 (no world total was published);
    ``world_basis`` says which denominator each share used."""
    check_years(start, end)
    if window not in (1, 5):
        raise InvalidParameter("window", f"must be 1 (yearly) or 5 (five-year totals), got {window}")
    asked = country_list(country, snapshot)
    as_ = choose(request, format)
    chosen = snapshot.release(DATASET, release)

    def build() -> tuple[bytes, str, dict[str, str]]:
        with Session(state.engine) as session:
            codes = asked or [
                c
                for c in queries.coverage(session, chosen)[0]
                if c not in snapshot.countries or snapshot.countries[c].entity_type not in AGGREGATES
            ]
            data = queries.series(session, chosen, [*codes, shares.WORLD], start, end)
        rows = shares.yearly(data, codes) if window == 1 else shares.windowed(data, codes, start, end, window)
        if as_ == "csv":
            extra = {"release": chosen.release_id}
            return csv_bytes(COLUMNS, (r.model_dump() | extra for r in rows)), CSV_TYPE, {}
        body = ShareListPublic(
            dataset=DATASET,
            release=chosen.release_id,
            version=chosen.content_hash,
            window=window,
            measure=MEASURE,
            data=rows,
            count=len(rows),
        )
        return body.model_dump_json().encode(), "application/json", {}

    key = make_etag("shares", chosen.content_hash, asked, start, end, window, as_)
    return await respond(request, state, snapshot, key, build, modified=chosen.loaded_at)
