"""Security of the HTTP surface (OWASP API Security Top 10, 2023), in one place.

* API2 broken authentication: :func:`require_admin`. The admin routes take ``Authorization: Bearer <key>``
  or ``X-API-Key: <key>``, compared with :func:`hmac.compare_digest` (constant time). A missing or wrong key
  is a 401 with ``WWW-Authenticate: Bearer``. Without ``TIVCAST_ADMIN_API_KEY`` the routes answer 404 and
  are left out of the OpenAPI document: a server that cannot be administered says nothing about it.
* API4 unrestricted resource consumption: :class:`RateLimiter` (the ``limits`` library, moving window)
  counts ``POST /v1/forecasts`` and the admin calls per client: in Redis when the service runs on Redis
  (every API process shares the counters), in memory when embedded. Over the limit: 429 + ``Retry-After``.
  A counter store that fails lets the request through (fail open, logged; skipped while a breaker is open):
  the limiter must not turn a Redis hiccup into an outage, and never into a 500. GETs are not limited
  (dashboards poll; the cached answers cost next to nothing). Request bodies are capped by FastAPI's own
  ``max_body_size`` (set per router in ``create_app``), which counts the bytes as they arrive, so a chunked
  body is stopped as soon as it passes the limit; :class:`ProblemBodyLimit` gives its 413 the problem+json
  shape of every other error.
* API8 security misconfiguration: no CORS headers unless origins are configured; ``X-Forwarded-For`` is
  believed only from ``TIVCAST_TRUSTED_PROXIES`` (uvicorn's ``ProxyHeadersMiddleware``); an unexpected error
  never carries a traceback or a path (the 500 handler in ``api/errors.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import time
from typing import Annotated, Any

import redis.asyncio as aioredis
from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.datasets.schemas import ProblemDetails
from api.errors import PROBLEM_JSON, NotFound, TooManyRequests, Unauthorized
from api.settings import Settings
from api.web.responses import PROBLEM
from workers.breaker import CircuitBreaker, CircuitOpen

log = logging.getLogger(__name__)

CHALLENGE = 'Bearer realm="tivcast-admin"'
STORE_TIMEOUT = 0.25  # seconds a rate-limit check may wait on Redis before the request is let through
BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})  # a request has a body only with one
EXPOSED_HEADERS = ["ETag", "Location", "Content-Location", "Retry-After", "Link", "X-Total-Count"]


def _problem(description: str, header: str | None = None, about: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {"model": ProblemDetails, "description": description, "content": PROBLEM}
    if header is not None:
        response["headers"] = {header: {"description": about, "required": True, "schema": {"type": "string"}}}
    return response


# The errors this module adds to an operation, for its ``responses=`` (documented statuses are checked by the fuzz).
Responses = dict[int | str, dict[str, Any]]
TOO_LARGE: Responses = {413: _problem("The request body is over the size limit")}
LIMITED: Responses = {
    429: _problem("Too many requests from this client", "Retry-After", "Seconds until the next request may go")
}
UNAUTHORIZED: Responses = {
    401: _problem("The admin API key is missing or wrong", "WWW-Authenticate", "The Bearer challenge (RFC 6750)")
}

bearer_scheme = HTTPBearer(
    auto_error=False, scheme_name="AdminBearer", description="The admin API key: `Authorization: Bearer <key>`"
)
key_scheme = APIKeyHeader(
    name="X-API-Key", auto_error=False, scheme_name="AdminKey", description="The admin API key, as a header"
)


async def require_admin(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    header_key: Annotated[str | None, Depends(key_scheme)],
) -> None:
    """Let the request through only with the configured admin key (404 when none is configured)."""
    settings: Settings = request.app.state.tivcast.settings
    if settings.admin_api_key is None:
        raise NotFound("the admin API is disabled on this server (no TIVCAST_ADMIN_API_KEY)")
    given = bearer.credentials if bearer is not None else header_key
    if not given:
        raise Unauthorized("this route needs the admin API key (Authorization: Bearer <key>)", challenge=CHALLENGE)
    expected = settings.admin_api_key.get_secret_value().encode()
    # compare_digest on bytes: constant time for any input (on str it refuses non-ASCII instead of answering).
    if not hmac.compare_digest(given.encode(), expected):
        raise Unauthorized("the admin API key is not valid", challenge=f'{CHALLENGE}, error="invalid_token"')


class RateLimiter:
    """Per-client request budget, counted in Redis (shared by every API process) or in memory."""

    def __init__(self, rate: str | None, storage_url: str | None, *, prefix: str = "tivcast") -> None:
        self.item: RateLimitItem | None = parse(rate) if rate else None
        self._pool: aioredis.ConnectionPool | None = None
        if storage_url:
            # Our own pool, so shutdown can close it; short socket timeouts, and hit()'s deadline bounds each check.
            self._pool = aioredis.ConnectionPool.from_url(
                storage_url, socket_timeout=STORE_TIMEOUT, socket_connect_timeout=STORE_TIMEOUT
            )
            uri = "async+" + storage_url.split("://", 1)[0] + "://"
            self._storage: MemoryStorage | RedisStorage = RedisStorage(
                uri,
                implementation="redispy",
                key_prefix=f"{prefix}:ratelimit",
                connection_pool=self._pool,  # type: ignore[arg-type]  # limits types its options loosely
                wrap_exceptions=True,
            )
        else:
            self._storage = MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._breaker = CircuitBreaker(failures=1, reset_seconds=5.0)

    async def hit(self, scope: str, client: str) -> int | None:
        """Count one request; ``None`` when it may go ahead, else the seconds until it may (Retry-After)."""
        if self.item is None:
            return None
        item = self.item

        async def check() -> int | None:
            async with asyncio.timeout(STORE_TIMEOUT):
                if await self._limiter.hit(item, scope, client):
                    return None
                stats = await self._limiter.get_window_stats(item, scope, client)
            return max(1, math.ceil(stats.reset_time - time.time()))

        try:
            return await self._breaker.call(check, (Exception,))
        except CircuitOpen:
            return None
        except Exception as exc:  # any failure of the counter store: let the request through (module docstring)
            log.warning("rate limit store unavailable (%s); request allowed", type(exc).__name__)
            return None

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
        timer = getattr(self._storage, "timer", None)  # MemoryStorage's expiry task
        if timer is not None and not timer.done():
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer


def client_id(request: Request) -> str:
    """The peer address (already the forwarded client when the peer is a trusted proxy; see :func:`install`)."""
    return request.client.host if request.client else "unknown"


def rate_limited(scope: str) -> Any:
    """A dependency counting the request against the client's budget for ``scope``."""

    async def dependency(request: Request) -> None:
        limiter: RateLimiter = request.app.state.limiter
        retry_after = await limiter.hit(scope, client_id(request))
        if retry_after is not None:
            raise TooManyRequests(
                f"rate limit of {limiter.item} per client exceeded; retry in {retry_after} s",
                retry_after=retry_after,
            )

    return Depends(dependency)


class ProblemBodyLimit:
    """Pure ASGI middleware giving every 413 one problem+json body naming the limit. Starlette answers a body
    whose declared ``Content-Length`` is over the limit with its own text/plain 413, whatever the route said
    (``starlette/middleware/body_limit.py``); a chunked body that grows past it reaches our error handler."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(name in BODY_HEADERS for name, _ in scope["headers"]):
            await self.app(scope, receive, send)  # no body, so no 413 (most requests: every plain GET)
            return
        replaced = False

        async def send_problem(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                replaced = True
                body = _too_large(scope)
                headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 413, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            if replaced:  # the original body of the replaced response
                return
            await send(message)

        await self.app(scope, receive, send_problem)


def _too_large(scope: Scope) -> bytes:
    limit = scope.get("starlette.max_body_size")
    detail = "the request body is larger than this endpoint accepts"
    problem = {
        "type": "/problems/content-too-large",
        "title": "Content too large",
        "status": 413,
        "detail": f"{detail} ({limit} bytes)" if isinstance(limit, int) else detail,
        "instance": scope.get("path", ""),
    }
    return json.dumps(problem).encode()


def install(app: FastAPI, settings: Settings) -> None:
    """Add the security middleware (outermost last: proxy headers, then CORS, then the 413 renderer)."""
    app.add_middleware(ProblemBodyLimit)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type", "Idempotency-Key", "If-None-Match"],
            expose_headers=EXPOSED_HEADERS,
            max_age=600,
        )
    if settings.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
