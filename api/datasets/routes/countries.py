"""Countries and other SIPRI entities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.datasets.catalog import Snapshot
from api.datasets.schemas import CountryListPublic, CountryPublic
from api.datasets.tables import Country
from api.web.cache import make_etag
from api.web.deps import STRICT, SnapshotDep, StateDep, respond
from api.web.negotiation import CSV_TYPE, FormatQuery, choose, csv_bytes
from api.web.responses import CSV_CONTENT, ERRORS, data_responses

router = APIRouter(prefix="/v1/countries", tags=["countries"], dependencies=STRICT)
COLUMNS = ["code", "name", "entity_type", "aliases"]
CountryCode = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", description="ISO3 code, e.g. JPN", examples=["JPN"])]


def countries_content(snapshot: Snapshot) -> str:
    """A digest of every country's row: what the country list (and a data package's countries.csv) is made of."""
    return make_etag(
        *(f"{c.code}\x1e{c.name}\x1e{c.entity_type}\x1e{c.aliases}" for _, c in sorted(snapshot.countries.items()))
    )


def countries_modified(snapshot: Snapshot) -> datetime | None:
    """``Last-Modified`` of the country answers: the last load of a shipped release. Countries are written only
    when the shipped package is seeded (a file loaded later must use known codes), so loading a file, into any
    dataset, changes neither them nor this date."""
    shipped = [r.loaded_at for releases in snapshot.releases.values() for r in releases if r.origin == "shipped"]
    return max(shipped) if shipped else snapshot.modified


def _public(c: Country) -> CountryPublic:
    return CountryPublic(
        code=c.code, name=c.name, entity_type=c.entity_type, aliases=[a for a in c.aliases.split("|") if a]
    )


@router.get(
    "",
    summary="List countries",
    responses={
        200: {"model": CountryListPublic, "content": CSV_CONTENT},
        304: {"description": "Not modified"},
        **ERRORS,
    },
)
async def list_countries(
    request: Request, state: StateDep, snapshot: SnapshotDep, format: FormatQuery = None
) -> Response:
    """Every country and entity known to tivcast (ISO3 codes; X** for SIPRI entities without one)."""
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        data = [_public(c) for _, c in sorted(snapshot.countries.items())]
        if as_ == "csv":
            return csv_bytes(COLUMNS, (c.model_dump() for c in data)), CSV_TYPE, {}
        return CountryListPublic(data=data, count=len(data)).model_dump_json().encode(), "application/json", {}

    key = make_etag("countries", countries_content(snapshot), as_)  # the list names no dataset: none changes it
    return await respond(request, state, snapshot, key, build, modified=countries_modified(snapshot))


@router.get(
    "/{code}",
    summary="Describe a country",
    responses=data_responses(CountryPublic),
)
async def get_country(
    code: CountryCode, request: Request, state: StateDep, snapshot: SnapshotDep, format: FormatQuery = None
) -> Response:
    """One country by ISO3 code."""
    country = snapshot.country(code)
    as_ = choose(request, format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        if as_ == "csv":
            return csv_bytes(COLUMNS, [_public(country).model_dump()]), CSV_TYPE, {}
        return _public(country).model_dump_json().encode(), "application/json", {}

    key = make_etag("country", country.code, country.name, country.entity_type, country.aliases, as_)
    return await respond(request, state, snapshot, key, build, modified=countries_modified(snapshot))
