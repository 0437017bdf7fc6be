"""Conditional responses: ETag from (data version, query), 304 on If-None-Match, and an
in-process LRU of serialised bodies keyed by that ETag (valid forever: releases are immutable)."""

from __future__ import annotations

import hashlib
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from functools import lru_cache
from typing import Any

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.web.negotiation import JSON_TYPES, acceptable

Body = tuple[bytes, str, dict[str, str]]
RESULT_PATH = re.compile(r"^/v1/forecasts/[0-9a-f]{64}$")
ROUTE_KEY = "tivcast.route"  # FastPath names the route template it answered for here (api.operations.metrics labels)
RESULT_ROUTE = "/v1/forecasts/{key}"
TRIED = "tivcast.replay_tried"  # the scope of a GET that FastPath.answer has looked up
IMMUTABLE = b"public, max-age=31536000, immutable"  # content, media type, extra headers


class BodyCache:
    def __init__(self, max_entries: int = 1024) -> None:
        self._entries: OrderedDict[str, Body] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> Body | None:
        with self._lock:
            body = self._entries.get(key)
            if body is not None:
                self._entries.move_to_end(key)
            return body

    def put(self, key: str, body: Body) -> None:
        if self._max == 0:
            return
        with self._lock:
            self._entries[key] = body
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def make_etag(*parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(header: bytes, etag: bytes) -> bool:
    """An ``If-None-Match`` value names ``etag`` (weak or strong) or is ``*``."""
    candidates = {tag.strip().removeprefix(b"W/") for tag in header.split(b",")}
    return etag in candidates or b"*" in candidates


def matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    return header is not None and etag_matches(header.encode("latin-1"), etag.encode())


_DATE: tuple[int, bytes] = (0, b"")


def date_header() -> tuple[bytes, bytes]:
    """The ``Date`` header of a response starting now (RFC 9110 6.6.1), formatted once per second.

    The application sends it, not uvicorn (``tivcast serve`` runs uvicorn with ``date_header=False``): uvicorn
    formats its ``Date`` on a 0.1 s tick every tenth tick, so it lags the clock by up to a second or more, and a
    response right after a release change would then carry a ``Last-Modified`` later than its ``Date``, which
    RFC 9110 8.8.2.1 forbids (``Last-Modified`` is the release's ``current_since``, never later than now)."""
    global _DATE
    now = int(time.time())
    if _DATE[0] != now:
        _DATE = (now, formatdate(now, usegmt=True).encode("ascii"))
    return b"date", _DATE[1]


@lru_cache(maxsize=256)  # a release's load time, formatted for every answer from it
def http_date(moment: datetime) -> str:
    """An IMF-fixdate (``Tue, 01 Dec 2026 09:00:00 GMT``), to whole seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored UTC (SQLite drops the zone)
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def not_modified_since(header: str | bytes | None, last_modified: str | bytes | None) -> bool:
    """If-Modified-Since at or after Last-Modified (only consulted without If-None-Match, RFC 9110 §13.1.3)."""
    if not header or not last_modified:
        return False
    try:
        since = parsedate_to_datetime(header.decode() if isinstance(header, bytes) else header)
        modified = parsedate_to_datetime(last_modified.decode() if isinstance(last_modified, bytes) else last_modified)
    except (TypeError, ValueError):
        return False  # an unparsable date is ignored, as the RFC says
    # Every HTTP-date is GMT; the obsolete asctime form ("Wed Dec  2 15:14:27 2026") carries no zone, and a
    # recipient must accept it (RFC 9110 §5.6.7).
    since, modified = (d if d.tzinfo is not None else d.replace(tzinfo=UTC) for d in (since, modified))
    return modified <= since


async def conditional(
    request: Request,
    etag: str,
    cache: BodyCache,
    build: Callable[[], Body],
    *,
    max_age: int,
    version: str,
    urls: UrlCache | None = None,
    last_modified: datetime | None = None,
    offload: bool = True,
) -> Response:
    """Answer 304, a cached body, or build the body off the event loop and cache it.

    ``version`` is the catalogue version the answer was computed against; the URL cache
    replays the answer only while the catalogue still has that version. ``last_modified`` (the
    release's load time) becomes ``Last-Modified``, and ``If-Modified-Since`` is honoured when the
    request has no ``If-None-Match``."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", "Vary": "Accept"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified)
    if matches(request, etag) or (
        "if-none-match" not in request.headers
        and not_modified_since(request.headers.get("if-modified-since"), headers.get("Last-Modified"))
    ):
        return Response(status_code=304, headers=headers)
    body = cache.get(etag)
    if body is None:
        # ``offload=False``: ``build`` only touches memory (no I/O), cheaper than a hop to a worker thread
        body = await run_in_threadpool(build) if offload else build()
        cache.put(etag, body)
    content, media_type, extra = body
    response = Response(content, media_type=media_type, headers={**headers, **extra})
    if urls is not None:
        urls.remember(request.scope, version, etag, response)
    return response


@dataclass(frozen=True, slots=True)
class Replay:
    version: str
    etag: bytes
    headers: list[tuple[bytes, bytes]]
    not_modified: list[tuple[bytes, bytes]]
    body: bytes
    route: str = ""  # template of the route that built the answer (for metrics)


RequestKey = tuple[str, bytes, bytes, str, bytes]


def _request_key(scope: Scope) -> RequestKey:
    """What a cached answer depends on: path, query and ``Accept``, and the scheme and host its links are
    built from (``next``, ``self`` and ``Link`` name the URL the client used)."""
    accept = host = b""
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value
        elif name == b"host":
            host = value
    return scope["path"], scope["query_string"], accept, str(scope.get("scheme", "http")), host


# id(app) -> (a weak reference to the app, its current AppState): a plain dict lookup per request
_STATES: dict[int, tuple[weakref.ref[Any], Any]] = {}


def register_state(app: Any, state: Any) -> None:
    """Make ``state`` the AppState :func:`app_state` finds for ``app`` (the lifespan calls it, next to setting
    ``app.state.tivcast``; a later lifespan of the same app replaces it). The entry goes with the app."""
    key = id(app)

    def forget(ref: weakref.ref[Any]) -> None:
        if _STATES.get(key, (None,))[0] is ref:
            del _STATES[key]

    _STATES[key] = (weakref.ref(app, forget), state)


def app_state(scope: Scope) -> Any:
    """The application's current ``AppState`` (None until its lifespan registers one), for pure ASGI middleware.

    ``app.state.tivcast`` holds the same object, but reading it goes through Starlette's ``State.__getattr__``,
    which raises and catches an ``AttributeError`` on every call, a measurable part of a replayed read."""
    app = scope["app"]
    entry = _STATES.get(id(app))
    return entry[1] if entry is not None and entry[0]() is app else None


class UrlCache:
    """Answers repeated GETs of the same URL before routing, while the data version is unchanged.

    Parsing and validating a dozen query parameters costs more than building the bytes
    once they are cached, so the second identical request skips routing altogether.
    Only successful answers of the data routes are remembered (see ``conditional``)."""

    def __init__(self, max_entries: int = 4096) -> None:
        self._entries: OrderedDict[RequestKey, Replay] = OrderedDict()
        self._max = max_entries

    def remember(self, scope: Scope, version: str, etag: str, response: Response) -> None:
        if self._max == 0:
            return
        key = _request_key(scope)
        headers = [(k, v) for k, v in response.raw_headers]
        keep = {b"etag", b"cache-control", b"vary", b"last-modified"}
        self._entries[key] = Replay(
            version,
            etag.encode(),
            headers,
            [h for h in headers if h[0] in keep],
            bytes(response.body),
            str(getattr(scope.get("route"), "path", scope.get(ROUTE_KEY, ""))),  # a route, or a fast path
        )
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def lookup(self, scope: Scope, version: str) -> Replay | None:
        replay = self._entries.get(_request_key(scope))
        return replay if replay is not None and replay.version == version else None


class FastPath:
    """Pure ASGI middleware serving :class:`UrlCache` hits (and their 304s) without routing.

    The outermost middleware may call :meth:`answer` itself (see :class:`api.operations.metrics.Instrument`); a GET
    it tried is not looked up again here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and TRIED not in scope:
            if await self.answer(scope, send) is not None:
                return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope, send: Send, extra: tuple[tuple[bytes, bytes], ...] = ()) -> int | None:
        """Answer a GET from memory, with ``extra`` headers: the status sent, or None when nothing was sent."""
        scope[TRIED] = True
        if RESULT_PATH.match(scope["path"]):
            status = await self._result(scope, send, extra)
            if status is not None:
                scope[ROUTE_KEY] = RESULT_ROUTE
            return status
        replay = self._replay(scope)
        if replay is None:
            return None
        scope[ROUTE_KEY] = replay.route
        return await self._send(scope, replay, send, extra)

    @staticmethod
    async def _result(scope: Scope, send: Send, extra: tuple[tuple[bytes, bytes], ...]) -> int | None:
        """A content key's result: 304 on a matching If-None-Match without any lookup (a key's content
        never changes), else the bytes if this process holds them in memory. None: let the route answer,
        as it does any request with a query string (the route takes none: a 422) or an Accept that allows
        no JSON (a 406)."""
        if scope["query_string"]:
            return None
        for name, value in scope["headers"]:
            if name == b"accept" and not acceptable(value.decode("latin-1"), JSON_TYPES):
                return None
        key = scope["path"].rsplit("/", 1)[1]
        etag = f'"{key}"'.encode()
        headers = [(b"etag", etag), (b"cache-control", IMMUTABLE)]
        for name, value in scope["headers"]:
            if name == b"if-none-match" and etag_matches(value, etag):
                return await _not_modified(send, [*headers, *extra])
        state = app_state(scope)
        body = state.service.peek(key) if state is not None else None
        if body is None:
            return None
        headers += [
            (b"content-location", f"/v1/forecasts/{key}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *extra,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return 200

    @staticmethod
    def _replay(scope: Scope) -> Replay | None:
        state = app_state(scope)
        if state is None:
            return None
        snapshot = state.catalog.cached()
        return state.urls.lookup(scope, snapshot.version) if snapshot is not None else None

    @staticmethod
    async def _send(scope: Scope, replay: Replay, send: Send, extra: tuple[tuple[bytes, bytes], ...]) -> int:
        since = None
        for name, value in scope["headers"]:
            if name == b"if-none-match":  # it decides alone: If-Modified-Since is then ignored
                if etag_matches(value, replay.etag):
                    return await _not_modified(send, [*replay.not_modified, *extra])
                since = None
                break
            if name == b"if-modified-since":
                since = value
        if since is not None:
            modified = next((v for k, v in replay.not_modified if k == b"last-modified"), None)
            if not_modified_since(since, modified):
                return await _not_modified(send, [*replay.not_modified, *extra])
        await send({"type": "http.response.start", "status": 200, "headers": [*replay.headers, *extra]})
        await send({"type": "http.response.body", "body": replay.body})
        return 200


async def _not_modified(send: Send, headers: list[tuple[bytes, bytes]]) -> int:
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
    return 304
