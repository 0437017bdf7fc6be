"""The application factory: one place decides the mode and owns the connections."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from api.datasets.catalog import Catalog
from api.datasets.observations import ObservationsFastPath
from api.datasets.routes import bulk, countries, datasets, policy, shares, table
from api.datasets.schemas import TIV_NOTE
from api.datasets.shipped import seed
from api.db import make_engine
from api.errors import add_exception_handlers
from api.forecasts.inputs import InputsCache
from api.forecasts.routes import forecasts, scenarios
from api.forecasts.warm import publish_warm_set, warm_specs
from api.migrations import upgrade
from api.operations.metrics import instrument
from api.operations.metrics import router as metrics_router
from api.operations.routes import admin, dashboard, docs, health, problems
from api.operations.security import RateLimiter, install
from api.settings import Settings, get_settings
from api.web.cache import BodyCache, FastPath, UrlCache, register_state
from api.web.deps import AppState
from api.web.openapi_headers import declare_response_headers
from api.web.semantics import HeadAndOptions
from workers.client import make_service
from workers.settings import WorkerSettings, get_worker_settings

log = logging.getLogger(__name__)

DESCRIPTION = f"""
Open data on arms exports and defence budgets, with provenance, and scenario forecasts of
a country's share of global arms exports — Japan first.

{TIV_NOTE}

Errors are `application/problem+json` (RFC 9457). Data responses carry an `ETag` and
`Cache-Control`; send `If-None-Match` to get `304 Not Modified`.

Data credit: information from the SIPRI Arms Transfers Database and the SIPRI Military
Expenditure Database; Japan Ministry of Defense and Ministry of Finance. tivcast's own
calculations (for example shares against 2024's sum of listed suppliers) are not SIPRI's.
"""


def prepare_database(engine: Engine, load_shipped: bool, attempts: int = 3) -> None:
    """Migrate the schema to head and load the shipped data. Several API processes may start at once:
    on PostgreSQL the migrations wait on an advisory lock; otherwise the loser of a race hits an existing
    table or a unique constraint, and its retry finds the winner's work (both steps are idempotent)."""
    for attempt in range(1, attempts + 1):
        try:
            upgrade(engine)
            for result in seed(engine) if load_shipped else []:
                if result.created:
                    log.info("loaded %s release %s (%d rows)", result.dataset_id, result.release_id, result.row_count)
            return
        except (IntegrityError, ProgrammingError, OperationalError):
            if attempt == attempts:
                raise
            log.info("database being prepared by another process; retrying")
            time.sleep(0.5 * attempt)


async def _keep_warm(state: AppState, countries: tuple[str, ...], every: float, stop: asyncio.Event) -> None:
    """Publish the warm set at start-up and whenever the data version changes (an ingest, here or
    from the CLI in another process); retried on the next tick while the forecast service is away.
    Runs until ``stop`` is set, finishing the check in progress (see the lifespan)."""
    published: str | None = None
    while not stop.is_set():
        try:
            snapshot = await run_in_threadpool(state.catalog.get)
            if snapshot.version != published:
                specs = await run_in_threadpool(warm_specs, state.engine, snapshot, state.inputs, countries)
                submitted = await publish_warm_set(state.service, specs)
                if submitted >= 0:  # -1: service away, try again next tick
                    published = snapshot.version
                log.info("warm set: %d forecasts published (-1: service away)", submitted)
        except Exception:  # the loop must outlive any single failure (database restart, ...)
            log.exception("warm set: check failed; retrying")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def create_app(settings: Settings | None = None, worker_settings: WorkerSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    worker_settings = worker_settings or get_worker_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await run_in_threadpool(prepare_database, engine, settings.seed_on_start)
        catalog = Catalog(engine, settings.version_ttl)
        service = make_service(worker_settings)
        limiter = RateLimiter(
            settings.rate_limit,
            # Never the state instance unless it is the only one: counters must not take the room of accepted jobs.
            settings.rate_limit_storage_url or worker_settings.cache_redis_url or worker_settings.redis_url,
            prefix=worker_settings.key_prefix,
        )
        app.state.limiter, app.state.warm_countries = limiter, worker_settings.warm_countries
        app.state.tivcast = AppState(
            settings=settings,
            engine=engine,
            catalog=catalog,
            bodies=BodyCache(settings.body_cache_entries),
            urls=UrlCache(settings.body_cache_entries),
            inputs=InputsCache(),
            service=service,
        )
        stop = asyncio.Event()
        warm = (
            asyncio.create_task(
                _keep_warm(app.state.tivcast, worker_settings.warm_countries, settings.warm_check_seconds, stop)
            )
            if settings.warm_on_start
            else None
        )
        register_state(app, app.state.tivcast)  # for the fast paths (api.web.cache.app_state)
        try:
            yield
        finally:
            if warm is not None:
                # Stop the loop and let a check running in a thread finish: cancelling does not stop the thread,
                # and a connection it hands back after dispose() stays open until garbage collection.
                stop.set()
                if not (await asyncio.wait([warm], timeout=30))[0]:
                    warm.cancel()
                await asyncio.gather(warm, return_exceptions=True)
            await service.aclose()
            await limiter.aclose()
            await health.finish_checks(engine)  # a /readyz database check that outlived its deadline
            engine.dispose()

    # /docs and /redoc are api/operations/routes/docs.py: FastAPI's own load their assets from a CDN.
    # Metrics are Prometheus (api/operations/metrics.py): FastAPI's OpenTelemetry bridge is off (tivcast configures no
    # OpenTelemetry SDK, so it never had anything to report to), which spares its per-request provider checks.
    app = FastAPI(
        title="tivcast",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    add_exception_handlers(app)
    app.add_middleware(ObservationsFastPath)  # observation pages without routing (api/datasets/observations.py)
    # Replays (FastPath) and HEAD/OPTIONS (outside the replays: HEAD is replayed like GET) need none of FastAPI's
    # own middleware (ServerErrorMiddleware and the rest), so by default they run before it: a cached read
    # then costs little more than the bytes. CORS and trusted-proxy middleware must see every request before
    # them, so with either configured they keep their place inside.
    plain = not (settings.cors_origins or settings.trusted_proxies)
    early: list[Callable[[ASGIApp], ASGIApp]] = [HeadAndOptions, FastPath] if plain else []
    if not early:
        app.add_middleware(FastPath)
        app.add_middleware(HeadAndOptions)
    install(app, settings)  # api/operations/security.py: 413 as problem+json, CORS, trusted proxies
    # outermost of all: request id, metrics, access log
    instrument(app, access_log=settings.access_log, inside=early)
    app.include_router(health.router)  # probes and /metrics: no body, no rate limit, no auth
    app.include_router(metrics_router)
    for module in (datasets, bulk, table, countries, shares, policy, scenarios, forecasts, dashboard, docs, problems):
        # Only POST /v1/forecasts reads a body: its router gets the limit (413), the GET-only ones need none.
        limit = settings.max_body_bytes if module is forecasts else None
        app.include_router(module.router, max_body_size=limit)
    app.include_router(
        admin.router, max_body_size=settings.max_upload_bytes, include_in_schema=settings.admin_api_key is not None
    )
    document_page_sizes(app, settings)
    return app


def document_page_sizes(app: FastAPI, settings: Settings) -> None:
    """OpenAPI states this server's page sizes (``limit``: maximum and default), as configured, and the headers
    of every response (api/web/openapi_headers.py)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    for parameter in operation.get("parameters", []):
                        if parameter.get("name") == "limit" and parameter.get("in") == "query":
                            for branch in [parameter["schema"], *parameter["schema"].get("anyOf", [])]:
                                if branch.get("type") == "integer":
                                    branch["maximum"] = settings.page_size_max
                            parameter["schema"]["default"] = settings.page_size_default
            declare_response_headers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
