"""Shares of world arms exports."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from api.datasets import queries, shares
from api.datasets.schemas import ShareListPublic, ShareOmittedPublic, SharePublic
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
            "range is left out. A window holding a year whose denominator is the sum of the listed suppliers "
            "that leaves the country out (Belarus, 2024) is not served, as that yearly row is not: it is named in "
            "`omitted`. A range that holds no complete window is a 422.",
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
    that says so.

    **Unknown is not zero**: a year whose denominator is the sum of the listed suppliers says nothing of a
    supplier missing from that list (Belarus in 2024). Its yearly row is not served, and neither is a window
    holding that year (counting it as zero would serve a share SIPRI's data does not give): ``omitted`` names
    each such period with ``unknown_years`` and the reason, and a CSV says so in a ``note`` column on its first
    row (a row holding only the note when no other row is left). A client gets no number rather than a wrong
    one; ``end=2023`` gives Belarus's 2019-2023 window on SIPRI's own totals."""
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
        world_years = sorted(data.get(shares.WORLD, {}))
        if window > 1 and not shares.periods(world_years, start, end, window):
            raise InvalidParameter("window", _no_window(start, end, world_years, window))
        if window == 1:
            rows, omitted = shares.yearly(data, codes, first)
        else:
            rows, omitted = shares.windowed(data, codes, start, end, window)
        if as_ == "csv":
            return _csv(rows, omitted, chosen.release_id), CSV_TYPE, {}
        body = ShareListPublic(
            dataset=DATASET,
            release=chosen.release_id,
            version=chosen.content_hash,
            window=window,
            measure=MEASURE,
            data=rows,
            count=len(rows),
            omitted=omitted,
        )
        return body.model_dump_json().encode(), "application/json", {}

    # "shares-3": a window holding a year the country's value is unknown in is no longer served (it was counted as
    # zero), so an ETag of the old rows must not match.
    key = make_etag("shares-3", chosen.content_hash, asked, start, end, window, as_)
    return await respond(request, state, snapshot, key, build, modified=chosen.modified)


def _no_window(start: int | None, end: int | None, world_years: list[int], size: int) -> str:
    """Why the range holds no complete window, in the terms of the request (what was given, what defaulted)."""
    rule = f"windows are counted back from end (e.g. end=2024: 2020-2024), so ask for at least {size} years"
    if start is None and end is None:
        span = f"{world_years[0]}-{world_years[-1]}" if world_years else "no year"
        return f"the release has a denominator for {span} only: no complete {size}-year window; {rule}"
    if not world_years:  # one bound given, beyond every year with a denominator
        low = f"start={start}" if start is not None else "the data's first year"
        high = f"end={end}" if end is not None else "the data's last year"
        return f"the range from {low} to {high} holds no year with a denominator, so no {size}-year window; {rule}"
    low = f"start={start}" if start is not None else f"the first year with a denominator ({world_years[0]})"
    high = f"end={end}" if end is not None else f"the last year with a denominator ({world_years[-1]})"
    return f"the range from {low} to {high} holds no complete {size}-year window with a denominator; {rule}"


def _csv(rows: list[SharePublic], omitted: list[ShareOmittedPublic], release_id: str) -> bytes:
    """The rows as CSV; periods left out as unknown are named in a ``note`` column on the first row (an empty row
    holding only the note when nothing else is left), where ``pandas.read_csv`` shows it."""
    records = [r.model_dump() | {"release": release_id} for r in rows]
    if not omitted:
        return csv_bytes(COLUMNS, records)
    note = (
        "no share for " + ", ".join(f"{o.country} {o.period}" for o in omitted) + f": a supplier left out of a "
        f"year's sum of listed suppliers ({shares.LISTED}) has an unknown value there, not zero (JSON: omitted)"
    )
    return csv_bytes([*COLUMNS, "note"], [(records[0] if records else {}) | {"note": note}, *records[1:]])
