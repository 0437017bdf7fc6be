"""Shares of world arms exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from api.datasets import queries, shares
from api.datasets.schemas import ShareListPublic
from api.errors import InvalidParameter
from api.web.cache import make_etag
from api.web.deps import (
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
from api.web.negotiation import CSV_TYPE, FormatQuery, choose, csv_bytes
from api.web.responses import data_responses

router = APIRouter(prefix="/v1/arms-exports", tags=["arms exports"], dependencies=STRICT)
DATASET = "arms-exports"
COLUMNS = ["country", "period", "start", "end", "share", "tiv", "world_tiv", "world_basis", "years_with_data",
           "flag", "source_releases", "release"]  # fmt: skip
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
    window: Annotated[
        int,
        Query(
            description="1: yearly shares. 5: SIPRI-style five-year totals over complete windows counted back "
            "from `end` (default: the last year with a denominator, SIPRI's world total or, for 2024, the sum "
            "of the suppliers SIPRI lists, a lower bound): with end=2024 (the default) the windows are "
            "2020-2024 (world_basis `mixed`), 2015-2019, ... down to `start`; a window is given only when all "
            "its years lie in [start, end] and have a denominator, so a partial window at the start of the "
            "range is left out. A range that holds no complete window is a 422.",
            examples=[1],
            json_schema_extra={"enum": [1, 5]},
        ),
    ] = 1,
    release: ReleaseQuery = None,
    format: FormatQuery = None,
) -> Response:
    """Each country's share of world exports in percent, with the TIV and world total it came from.

    2024 shares use the sum of the suppliers SIPRI lists for 2024 (no world total was published);
    ``world_basis`` says which denominator each share used (``mixed`` for a window spanning both).

    **Years without deliveries**: SIPRI leaves a cell empty when it identified no deliveries. From a
    country's first reported year on (its first row in the release, even a ``0``), such a year is a row
    with ``tiv`` 0 and ``share`` 0, flagged ``absent_read_as_zero`` and with ``years_with_data`` 0, so a
    client can tell it from a reported value; years before the first reported year have no row, nor does a
    year whose denominator is the sum of the listed suppliers (2024) for a supplier missing from that list
    (unknown, not zero). A reported value keeps its own ``flag``: ``lt_0.5m`` is SIPRI's ``0``, deliveries
    under 0.5 million TIV, not zero. ``country=all`` includes these rows for every supplier.

    **Windows** (``window=5``): complete five-year periods counted back from ``end`` (default: the last
    year with a denominator, 2024 with its sum of listed suppliers, so the last window is 2020-2024 with
    ``world_basis`` ``mixed``; ``end=2023`` keeps to SIPRI's own world totals), e.g. ``start=2010&end=2024``
    gives 2010-2014, 2015-2019 and 2020-2024, and ``start=2012&end=2024`` gives 2015-2019 and 2020-2024
    (2012-2014 is not a complete window). Years without a value for a country count as zero in its total,
    as SIPRI's own totals do, ``years_with_data`` says how many had one, and ``flag`` carries the flags of
    its years (``absent_read_as_zero`` when a year had none). A range holding no complete window is a 422
    that says so."""
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
            first = queries.first_years(session, chosen, codes) if window == 1 else {}
        if window > 1 and not shares.periods(sorted(data.get(shares.WORLD, {})), start, end, window):
            raise InvalidParameter(
                "window",
                f"the range start={start if start is not None else 'first year'}, "
                f"end={end if end is not None else 'last year'} holds no complete {window}-year window with a world "
                f"total; windows are counted back from end (e.g. end=2024: 2020-2024), so ask for at least "
                f"{window} years",
            )
        rows = shares.yearly(data, codes, first) if window == 1 else shares.windowed(data, codes, start, end, window)
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

    # "shares-2": the rows gained years without deliveries and a flag, so an ETag of the old rows must not match.
    key = make_etag("shares-2", chosen.content_hash, asked, start, end, window, as_)
    return await respond(request, state, snapshot, key, build, modified=chosen.loaded_at)
