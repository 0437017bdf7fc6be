"""Countries and other SIPRI entities."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from api.deps import STRICT, SnapshotDep, StateDep, respond
from api.http_cache import make_etag
from api.responses import ERRORS
from api.schemas import CountryListPublic, CountryPublic
from api.tables import Country

router = APIRouter(prefix="/v1/countries", tags=["countries"], dependencies=STRICT)
CountryCode = Annotated[str, Path(pattern=r"^[A-Za-z]{3}$", description="ISO3 code, e.g. JPN", examples=["JPN"])]


def _public(c: Country) -> CountryPublic:
    return CountryPublic(
        code=c.code, name=c.name, entity_type=c.entity_type, aliases=[a for a in c.aliases.split("|") if a]
    )


@router.get(
    "",
    summary="List countries",
    responses={200: {"model": CountryListPublic}, 304: {"description": "Not modified"}, **ERRORS},
)
async def list_countries(request: Request, state: StateDep, snapshot: SnapshotDep) -> Response:
    """Every country and entity known to tivcast (ISO3 codes; X** for SIPRI entities without one)."""

    def build() -> tuple[bytes, str, dict[str, str]]:
        data = [_public(c) for _, c in sorted(snapshot.countries.items())]
        return CountryListPublic(data=data, count=len(data)).model_dump_json().encode(), "application/json", {}

    return await respond(request, state, snapshot, make_etag("countries", snapshot.version), build)


@router.get(
    "/{code}",
    summary="Describe a country",
    responses={200: {"model": CountryPublic}, 304: {"description": "Not modified"}, **ERRORS},
)
async def get_country(code: CountryCode, request: Request, state: StateDep, snapshot: SnapshotDep) -> Response:
    """One country by ISO3 code."""
    country = snapshot.country(code)

    def build() -> tuple[bytes, str, dict[str, str]]:
        return _public(country).model_dump_json().encode(), "application/json", {}

    return await respond(request, state, snapshot, make_etag("country", country.code, snapshot.version), build)
