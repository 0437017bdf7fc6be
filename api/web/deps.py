"""Injected objects and reused parameters, each with an ``Annotated`` alias."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request, Response
from fastapi.dependencies.models import Dependant
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.datasets.catalog import Catalog, Snapshot
from api.datasets.release_store import ReleaseStore
from api.errors import InvalidParameter, TivcastError
from api.forecasts.inputs import InputsCache
from api.settings import Settings
from api.web.cache import Body, BodyCache, UrlCache, conditional
from api.web.negotiation import json_only
from workers.client import ForecastService

YEAR_MIN, YEAR_MAX = 1900, 2100


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    catalog: Catalog
    bodies: BodyCache
    urls: UrlCache
    inputs: InputsCache
    service: ForecastService
    releases: ReleaseStore = field(default_factory=ReleaseStore)  # observations of recent releases, in memory


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.tivcast
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_snapshot(state: StateDep) -> Snapshot:
    """The catalogue snapshot; only touches the database when the cached one is stale."""
    cached = state.catalog.cached()
    return cached if cached is not None else await run_in_threadpool(state.catalog.get)


SnapshotDep = Annotated[Snapshot, Depends(get_snapshot)]

DatasetId = Annotated[
    str, Path(description="Dataset id, e.g. arms-exports; see /v1/datasets", examples=["arms-exports"], max_length=64)
]
ReleaseQuery = Annotated[
    str | None,
    Query(description="A release id; default: the newest release", max_length=64, pattern=r"^[A-Za-z0-9._-]+$"),
]
StartYear = Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX, description="First year (inclusive)")]
EndYear = Annotated[int | None, Query(ge=YEAR_MIN, le=YEAR_MAX, description="Last year (inclusive)")]
CountryCodes = Annotated[
    str,
    Query(
        description="Comma-separated ISO3 codes, e.g. JPN,KOR,CHN, or `all` (the default on every data endpoint)",
        examples=["JPN,KOR"],
        max_length=2000,
    ),
]
ALL = "all"
CODE = re.compile(r"^[A-Za-z]{3}$")
AGGREGATES = frozenset({"region", "world_total"})  # entity types that are sums of countries, not countries


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_DECLARED: dict[int, frozenset[str]] = {}


async def strict_query(request: Request) -> None:
    """Unknown query parameters (a typo such as ``countries=``) and repeated ones (``country=JPN&country=KOR``)
    are a 422 naming them: neither is silently ignored, and the last one never silently wins."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    declared = _DECLARED.get(id(route))
    if declared is None:
        declared = _DECLARED[id(route)] = frozenset(_query_names(dependant))
    keys = [key for key, _ in request.query_params.multi_items()]
    errors = [
        {
            "field": key,
            "message": f"unknown query parameter; this endpoint takes {', '.join(sorted(declared)) or 'none'}",
        }
        for key in sorted(set(keys) - declared)
    ]
    errors += [
        {"field": key, "message": "given more than once; send one value (lists are comma-separated, e.g. JPN,KOR)"}
        for key in sorted({k for k in keys if keys.count(k) > 1} & declared)
    ]
    if errors:
        raise QueryShape(errors)


class QueryShape(TivcastError):
    status, title, slug = 422, "Invalid parameter", "invalid-parameter"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)


STRICT = [Depends(strict_query)]
JSON_ONLY = [Depends(json_only)]  # routes that send only JSON: 406 when Accept allows neither JSON nor problem+json


def check_years(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and start > end:
        raise InvalidParameter("start", f"start ({start}) is after end ({end})")


def country_list(raw: str | None, snapshot: Snapshot, *, field: str = "country") -> list[str]:
    """Parse, de-duplicate and check a comma-separated list; an unknown code is a 404 naming it.
    ``all`` (or nothing) is the empty list: every country."""
    if raw is None or not raw.strip() or raw.strip().lower() == ALL:
        return []
    codes: list[str] = []
    for part in raw.split(","):
        code = part.strip()
        if code.lower() == ALL:
            raise InvalidParameter(field, "'all' cannot be combined with country codes")
        if not CODE.match(code):
            raise InvalidParameter(field, f"{code!r} is not a three-letter country code")
        code = snapshot.country(code).code
        if code not in codes:
            codes.append(code)
    return codes


async def respond(
    request: Request,
    state: AppState,
    snapshot: Snapshot,
    etag: str,
    build: Callable[[], Body],
    *,
    modified: datetime | None = None,
    offload: bool = True,
) -> Response:
    """A data response: 304, or the cached or freshly built body, remembered for replay at this data version.
    ``Last-Modified`` is ``modified`` (the load time of the release answered from), by default the newest
    load of any release."""
    return await conditional(
        request,
        etag,
        state.bodies,
        build,
        max_age=state.settings.cache_max_age,
        version=snapshot.version,
        urls=state.urls,
        last_modified=modified or snapshot.modified,
        offload=offload,
    )
