"""Conditional responses: ETag from (data version, query), 304 on If-None-Match, and an
in-process LRU of serialised bodies keyed by that ETag (valid forever: releases are immutable)."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

Body = tuple[bytes, str, dict[str, str]]  # content, media type, extra headers


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


def matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


async def conditional(
    request: Request, etag: str, cache: BodyCache, build: Callable[[], Body], *, max_age: int
) -> Response:
    """Answer 304, a cached body, or build the body off the event loop and cache it."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", "Vary": "Accept"}
    if matches(request, etag):
        return Response(status_code=304, headers=headers)
    body = cache.get(etag)
    if body is None:
        body = await run_in_threadpool(build)
        cache.put(etag, body)
    content, media_type, extra = body
    return Response(content, media_type=media_type, headers={**headers, **extra})
