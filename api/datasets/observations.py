"""``GET /v1/datasets/{id}/observations``: the answer, shared by the route and its ASGI fast path.

A client cycling through many distinct queries misses every response cache, and then FastAPI's own
machinery costs more than the answer: routing through every route, then solving the route's
dependencies and validating a dozen query parameters one by one. The rows themselves are in memory
(:mod:`api.datasets.release_store`). So :class:`ObservationsFastPath` answers the common case before routing:
a GET whose query it can read with certainty (only parameters the route declares, each at most once,
each plainly valid: digits in range, a known format, strings within their length). It then calls the
same :func:`answer` as the route, and the route answers everything else. Any error — a query shape it
does not accept, or a :class:`~api.errors.TivcastError` from :func:`answer` (an unknown country, a
foreign cursor, ...) — is left to the route, so every error keeps the one problem+json rendering and
every validation message stays FastAPI's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import Request, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.datasets.catalog import Snapshot
from api.datasets.release_store import Cursor, Direction, Page, Render, SeriesRows, page, query_fingerprint
from api.datasets.schemas import ObservationListPublic, ObservationPublic
from api.datasets.tables import Release
from api.errors import InvalidParameter, TivcastError
from api.web.cache import ROUTE_KEY, app_state, make_etag
from api.web.deps import ALL, YEAR_MAX, YEAR_MIN, AppState, check_years, country_list, get_snapshot, respond
from api.web.negotiation import CSV_TYPE, Format, choose, csv_bytes

JSON = "application/json"
ROUTE = "/v1/datasets/{dataset_id}/observations"
OBSERVATION_COLUMNS = ["country_code", "country_name", "year", "value", "unit", "flag", "source_release", "release"]


@dataclass(frozen=True, slots=True)
class ObservationQuery:
    """The route's parameters, validated."""

    dataset_id: str
    country: str = ALL
    start: int | None = None
    end: int | None = None
    mrv: int | None = None
    release: str | None = None
    limit: int | None = None
    cursor: str | None = None
    format: Format | None = None


async def answer(request: Request, state: AppState, snapshot: Snapshot, query: ObservationQuery) -> Response:
    """The page (JSON or CSV) the query asks for, or a 304; raises :class:`TivcastError` for a bad query."""
    check_years(query.start, query.end)
    dataset_id, start, end, mrv, release = query.dataset_id, query.start, query.end, query.mrv, query.release
    dataset = snapshot.dataset(dataset_id)
    if dataset.kind != "series":
        raise InvalidParameter("dataset_id", wrong_kind(dataset_id, dataset.kind, "a series"))
    codes = country_list(query.country, snapshot)
    size = query.limit or state.settings.page_size_default
    if size > state.settings.page_size_max:
        raise InvalidParameter("limit", f"must be at most {state.settings.page_size_max}")
    fingerprint = query_fingerprint(ROUTE, dataset_id, codes, start, end, mrv)
    position = Cursor.decode(query.cursor) if query.cursor is not None else None
    if position is not None:
        if position.query != fingerprint:
            raise InvalidParameter(
                "cursor",
                "belongs to another query (another dataset, other countries, years or mrv); "
                "use the links of this query's pages, or start again without a cursor",
            )
        if release is not None and release != position.release:
            raise InvalidParameter("cursor", f"belongs to release {position.release!r}, not {release!r}")
        release = position.release  # pinned: the release the first page came from
    chosen = snapshot.release(dataset_id, release)
    as_csv = choose(request, query.format) == "csv"
    # The links of a CSV page always ask for CSV (a reader such as pandas.read_csv sends no Accept); a JSON
    # page's links repeat the request's format= if it had one. So the links depend on the representation and
    # on format=, never on Accept alone.
    link_format = "csv" if as_csv else query.format
    # The page's links (Link, next, bulk) name the scheme and host the client used: part of the representation.
    base = f"{request.url.scheme}://{request.url.netloc}"
    key = make_etag("obs", base, chosen.content_hash, codes, start, end, mrv, size, query.cursor, as_csv, link_format)

    def build() -> tuple[bytes, str, dict[str, str]]:
        rows = series_rows(state, snapshot, dataset_id, chosen)
        ranges = rows.ranges(codes, start, end, mrv)
        cut = page(rows, ranges, size, position)
        links = _links(request, chosen.release_id, fingerprint, cut, link_format)
        headers = {"X-Total-Count": str(cut.total), "Link": ", ".join(f'<{u}>; rel="{r}"' for r, u in links.items())}
        next_cursor = links["next"].rsplit("cursor=", 1)[1] if "next" in links else None
        if as_csv:
            note = None
            if cut.total > len(cut.rows):
                bulk = f"{request.base_url}v1/datasets/{dataset_id}/download?release={chosen.release_id}"
                note = (
                    f"partial: {_span(ranges, cut)}; next page: {links.get('next', 'none')}; "
                    f"the whole release as one CSV: {bulk}"
                )
            return _csv_page([rows.csv[i] for i in cut.rows], note), CSV_TYPE, headers
        envelope = (
            ObservationListPublic(
                dataset=dataset_id,
                release=chosen.release_id,
                version=chosen.content_hash,
                unit=dataset.unit,
                data=[],
                count=cut.total,
                limit=size,
                next_cursor=next_cursor,
                links=links,
            )
            .model_dump_json()
            .encode()
        )
        data = b'"data":[' + b",".join(rows.json[i] for i in cut.rows) + b"]"
        return envelope.replace(b'"data":[]', data, 1), JSON, headers

    in_memory = state.releases.get(chosen, _names_version(snapshot)) is not None
    return await respond(request, state, snapshot, key, build, modified=chosen.modified, offload=not in_memory)


def rows_at(dataset_id: str, kind: str) -> str:
    """The route that serves the rows of a dataset of this kind."""
    if kind == "series":
        return f"/v1/datasets/{dataset_id}/observations"
    if kind == "events":
        return "/v1/policy-events"
    if kind == "countries":
        return "/v1/countries"
    return f"/v1/datasets/{dataset_id}/records"


def wrong_kind(dataset_id: str, kind: str, wanted: str) -> str:
    """The message of a route asked for a dataset of another kind: what it is, and where its rows are."""
    article = "an" if kind[:1] in "aeiou" else "a"
    return f"{dataset_id!r} is {article} {kind} dataset, not {wanted}; its rows are at {rows_at(dataset_id, kind)}"


def series_rows(state: AppState, snapshot: Snapshot, dataset_id: str, release: Release) -> SeriesRows:
    """The release's rows from memory, read and rendered on first use (call off the event loop)."""
    version = _names_version(snapshot)
    unit = snapshot.dataset(dataset_id).unit
    return state.releases.get(release, version) or state.releases.load(
        state.engine, release, version, _renderer(snapshot, unit, release.release_id)
    )


def _names_version(snapshot: Snapshot) -> str:
    return str(len(snapshot.countries))  # country names only change when the seed adds countries


def _renderer(snapshot: Snapshot, unit: str | None, release_id: str) -> Render:
    """Renders one stored row as the JSON object and the CSV line the API sends for it."""

    def render(code: str, year: int, value: float, flag: str | None, source: str | None) -> tuple[bytes, bytes]:
        name = snapshot.countries[code].name if code in snapshot.countries else code
        public = ObservationPublic(
            country=code, country_name=name, year=year, value=value, flag=flag, source_release=source
        )
        line = csv_bytes(
            OBSERVATION_COLUMNS, [public.model_dump() | {"country_code": code, "unit": unit, "release": release_id}]
        )
        return public.model_dump_json().encode(), line.split(b"\n", 1)[1]

    return render


def _links(
    request: Request, release_id: str, fingerprint: str, cut: Page, link_format: Format | None
) -> dict[str, str]:
    """first, prev, next and last, each pinned to the release (and the query) the page came from, and asking
    for ``link_format`` (None: no ``format=``, as the request had none)."""
    # The query string is built once (Starlette's URL helpers re-split and re-encode it per link).
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("cursor", "release", "format")]
    if link_format is not None:
        kept.append(("format", link_format))
    base = _with_query(request, urlencode([*kept, ("release", release_id)]))
    links = {"first": base}

    def at(direction: Direction, key: tuple[str, int] | None = None) -> str:
        return f"{base}&{urlencode({'cursor': Cursor(release_id, fingerprint, direction, key).encode()})}"

    if cut.prev_key is not None:
        links["prev"] = at("prev", cut.prev_key)
    if cut.next_key is not None:
        links["next"] = at("next", cut.next_key)
    if cut.total > len(cut.rows):
        links["last"] = at("last")
    return links


MARK = "\x00"  # stands for the query in a URL template; no request URL holds it (servers refuse it in headers)
_templates: dict[tuple[object, ...], tuple[str, str]] = {}


def _with_query(request: Request, query: str) -> str:
    """``str(request.url.replace(query=query))``, with the URL split and joined once per (scheme, host, path)
    rather than for every request: the same text, cut where the query goes."""
    if not query:
        return str(request.url.replace(query=query))  # no "?" at all
    scope = request.scope
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    server = scope.get("server")
    key = (scope.get("scheme"), host, tuple(server) if server else None, scope.get("root_path"), scope["path"])
    parts = _templates.get(key)
    if parts is None:
        template = str(request.url.replace(query=MARK))
        if template.count(MARK) != 1:
            return str(request.url.replace(query=query))
        before, after = template.split(MARK)
        parts = before, after
        if len(_templates) >= 1024:
            _templates.clear()
        _templates[key] = parts
    return f"{parts[0]}{query}{parts[1]}"


def _span(ranges: list[tuple[str, int, int]], cut: Page) -> str:
    """Which of the query's rows a page holds, counted from 1: "rows 11-20 of 80"."""
    if not cut.rows:
        return f"no rows of {cut.total} on this page"
    seen = 0
    for _, first, stop in ranges:  # the page's first row, counted over the ranges the page was cut from
        if first <= cut.rows[0] < stop:
            seen += cut.rows[0] - first
            break
        seen += stop - first
    return f"rows {seen + 1}-{seen + len(cut.rows)} of {cut.total}"


def _csv_page(lines: list[bytes], note: str | None) -> bytes:
    """One page as CSV. A partial page (more rows exist) says so where ``pandas.read_csv`` shows it, in a
    ``note`` column on its first row: a ``Link`` header is invisible to such readers."""
    if note is None:
        return csv_bytes(OBSERVATION_COLUMNS, []) + b"".join(lines)
    cell = csv_bytes(["note"], [{"note": note}]).split(b"\n", 1)[1].rstrip(b"\n")
    out = [csv_bytes([*OBSERVATION_COLUMNS, "note"], [])]
    if not lines:
        return out[0] + b"," * len(OBSERVATION_COLUMNS) + cell + b"\n"
    out.append(lines[0].rstrip(b"\n") + b"," + cell + b"\n")
    out.extend(line.rstrip(b"\n") + b",\n" for line in lines[1:])
    return b"".join(out)


# The fast path. Each reader returns the value the route's validation would give, or None when it cannot
# tell at a glance (then the route reads the query, and answers or refuses it).
PATH = re.compile(r"/v1/datasets/([A-Za-z0-9._-]{1,64})/observations")
NUMBER = re.compile(r"[1-9][0-9]{0,8}")
RELEASE = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _number(text: str, low: int, high: int | None = None) -> int | None:
    if not NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if value >= low and (high is None or value <= high) else None


def read_query(dataset_id: str, items: list[tuple[str, str]]) -> ObservationQuery | None:
    """The query the route would validate ``items`` into, when that is certain; else None."""
    values: dict[str, object] = {}
    for key, text in items:
        if key in values:
            return None  # repeated: the route's 422
        if key == "country" and len(text) <= 2000:
            value: object = text
        elif key in ("start", "end"):
            value = _number(text, YEAR_MIN, YEAR_MAX)
        elif key == "mrv":
            value = _number(text, 1, 200)
        elif key == "limit":
            value = _number(text, 1)
        elif key == "release" and RELEASE.fullmatch(text):
            value = text
        elif key == "cursor" and len(text) <= 200:
            value = text
        elif key == "format" and text.lower() in ("json", "csv"):
            value = text.lower()  # any case, as the route's FormatQuery
        else:
            return None  # unknown, or not plainly valid: the route's 422
        if value is None:
            return None
        values[key] = value
    return ObservationQuery(dataset_id, **values)  # type: ignore[arg-type]


class ObservationsFastPath:
    """Pure ASGI middleware: answers the observation queries :func:`read_query` can read without routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            match = PATH.fullmatch(scope["path"])
            state: AppState | None = app_state(scope) if match else None
            if match and state is not None and await self._answer(scope, receive, send, state, match.group(1)):
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(scope: Scope, receive: Receive, send: Send, state: AppState, dataset_id: str) -> bool:
        request = Request(scope, receive)
        query = read_query(dataset_id, request.query_params.multi_items())
        if query is None:
            return False
        snapshot = await get_snapshot(state)
        scope[ROUTE_KEY] = ROUTE  # the metrics' route label, and the replay cache's
        try:
            response = await answer(request, state, snapshot, query)
        except TivcastError:
            del scope[ROUTE_KEY]
            return False  # the route raises it again, through the one error handler
        await response(scope, receive, send)
        return True
