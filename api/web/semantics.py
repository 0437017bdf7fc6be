"""HEAD and OPTIONS for every route, answered the same way everywhere (RFC 9110 §9.3.2, §9.3.7).

* ``HEAD`` is a ``GET`` whose body is dropped: the same status and headers (``Content-Length``,
  ``ETag``, ``Last-Modified``, ...), so caches and download tools can check a URL cheaply. It goes
  through the URL replay cache and the routes exactly as the ``GET`` would.
* ``OPTIONS`` answers ``204`` with ``Allow`` naming the methods of the matching routes (``HEAD``
  and ``OPTIONS`` included), or ``404`` for a path no route serves. A CORS preflight (with
  ``Access-Control-Request-Method``) is left to the CORS middleware when one is configured.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import full_allow
from api.web.cache import ROUTE_KEY


class HeadAndOptions:
    """Pure ASGI middleware; sits outside the URL replay cache so both see HEAD as GET."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "HEAD":
            await self._head(scope, receive, send)
        elif method == "OPTIONS" and not any(name == b"access-control-request-method" for name, _ in scope["headers"]):
            await self._options(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def bodiless(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # a streamed body: send nothing until its end
                message = {"type": "http.response.body", "body": b""}
            await send(message)

        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, bodiless)
        finally:  # the route that answered, for the metrics' and the access log's route label
            for key in ("route", ROUTE_KEY):
                if key in inner:
                    scope[key] = inner[key]

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Ask the router: a path it serves with other methods answers 405 with ``Allow``; that becomes a
        204 with ``Allow`` (plus HEAD for a GET route, and OPTIONS). Anything else (a 404) is passed on."""
        start: Message | None = None

        async def translate(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                if message["status"] != 405:
                    await send(message)
                return
            assert start is not None
            if start["status"] != 405:
                await send(message)
                return
            if message.get("more_body", False):
                return
            allowed = next((v.decode() for k, v in start.get("headers", []) if k.lower() == b"allow"), "")
            allow = full_allow(allowed).encode()
            await send({"type": "http.response.start", "status": 204, "headers": [(b"allow", allow)]})
            await send({"type": "http.response.body", "body": b""})

        await self.app(scope, receive, translate)
