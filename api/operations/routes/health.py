"""Probes: ``/healthz`` (the process answers) and ``/readyz`` (it can do its work now).

``/readyz`` checks, concurrently and each within ``ready_timeout`` seconds: the database
(``SELECT 1``), Redis (``PING`` through the forecast service's breaker and deadline) and the
workers (live heartbeats). It answers 200 when all pass and 503 with ``Retry-After`` when any
fails, with one entry per component either way; a check that breaks in an unexpected way is
reported as failed, never as a 500. In embedded mode Redis and the workers are part of the
process and report ``embedded``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.web.deps import AppState
from workers.client import ForecastService, Unavailable

router = APIRouter(tags=["operations"])
log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}
RETRY_AFTER = 5
PASSING = frozenset({"ok", "embedded"})
# A database check that outlives its deadline keeps running in its thread; the next probe waits for
# that one instead of starting another, so a hung database cannot pile up threads.
_database_checks: weakref.WeakKeyDictionary[Engine, asyncio.Future[None]] = weakref.WeakKeyDictionary()


async def finish_checks(engine: Engine, timeout: float = 10.0) -> None:
    """Before ``engine`` is disposed: wait for its database check if one is still running in its thread.

    A connection checked out during ``Engine.dispose()`` is not closed by it: returned afterwards, it stays
    open in the discarded pool until garbage collection closes it (psycopg's "deleted while still open"
    ResourceWarning). Waiting lets the check hand its connection back first, so dispose() closes it.
    """
    running = _database_checks.pop(engine, None)
    if running is not None and not running.done() and running.get_loop() is asyncio.get_running_loop():
        await asyncio.wait([running], timeout=timeout)


class HealthPublic(BaseModel):
    status: Literal["ok"]


class CheckPublic(BaseModel):
    """One component's check."""

    model_config = ConfigDict(extra="allow")
    status: str = Field(description="ok, embedded (part of this process) or fail")
    latency_ms: float
    error: str | None = Field(default=None, description="What failed")
    online: int | None = Field(default=None, description="Workers with a live heartbeat (the workers check)")


class ReadyPublic(BaseModel):
    status: Literal["ready", "not ready"]
    mode: str = Field(description="embedded or redis")
    checks: dict[str, CheckPublic] = Field(description="database, redis and workers")


@router.get("/healthz", summary="Liveness", response_description="The process is up", response_model=HealthPublic)
async def healthz() -> JSONResponse:
    """200 while the process runs and answers HTTP; checks nothing else (see ``/readyz``)."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


READY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Ready: every component passed", "model": ReadyPublic},
    503: {
        "description": "Not ready: at least one component failed; see its entry. Sent with Retry-After.",
        "model": ReadyPublic,
    },
}


@router.get("/readyz", summary="Readiness", responses=READY_RESPONSES)
async def readyz(request: Request) -> JSONResponse:
    """Whether this process can serve every endpoint now: database, Redis and at least one worker,
    each with its status and latency."""
    state: AppState = request.app.state.tivcast
    timeout = state.settings.ready_timeout
    service = state.service
    names = ("database", "redis", "workers")
    results = await asyncio.gather(
        _timed(lambda: _database(state.engine), timeout),
        _timed(lambda: _redis(service), timeout),
        _timed(lambda: _workers(service), timeout),
    )
    checks = dict(zip(names, results, strict=True))
    ready = all(check["status"] in PASSING for check in checks.values())
    body = {"status": "ready" if ready else "not ready", "mode": service.mode, "checks": checks}
    if ready:
        return JSONResponse(body, headers=NO_STORE)
    return JSONResponse(body, status_code=503, headers={**NO_STORE, "Retry-After": str(RETRY_AFTER)})


async def _timed(check: Callable[[], Awaitable[dict[str, Any]]], timeout: float) -> dict[str, Any]:
    """Run one check within ``timeout``: its fields, plus ``status`` and ``latency_ms``."""
    start = time.perf_counter()
    try:
        async with asyncio.timeout(timeout):
            result = {"status": "ok", **await check()}
    except Unavailable as exc:
        result = {"status": "fail", "error": exc.detail}
    except TimeoutError:
        result = {"status": "fail", "error": f"no answer within {timeout} s"}
    except Exception as exc:  # a probe reports what failed; it never answers 500
        log.warning("readiness check failed: %r", exc)
        result = {"status": "fail", "error": type(exc).__name__}
    result["latency_ms"] = round((time.perf_counter() - start) * 1e3, 2)
    return result


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _database(engine: Engine) -> dict[str, Any]:
    running = _database_checks.get(engine)
    if running is None or running.done() or running.get_loop() is not asyncio.get_running_loop():
        running = asyncio.ensure_future(asyncio.to_thread(_select_one, engine))
        running.add_done_callback(lambda done: done.cancelled() or done.exception())  # retrieved: no warning
        _database_checks[engine] = running
    await asyncio.shield(running)
    return {}


async def _redis(service: ForecastService) -> dict[str, Any]:
    if service.mode == "embedded":
        return {"status": "embedded"}
    await service.ping()
    return {}


async def _workers(service: ForecastService) -> dict[str, Any]:
    online = await service.workers_online()
    if service.mode == "embedded":
        return {"status": "embedded", "online": online}
    if online == 0:
        ttl = service.settings.heartbeat_ttl
        return {"status": "fail", "online": 0, "error": f"no worker has sent a heartbeat in the last {ttl} s"}
    return {"online": online}
