"""The application factory: one place decides the mode and owns the connections."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.catalog import Catalog
from api.db import create_schema, make_engine
from api.deps import AppState
from api.errors import add_exception_handlers
from api.http_cache import BodyCache, FastPath, UrlCache
from api.routes import countries, datasets, policy, shares
from api.schemas import TIV_NOTE
from api.settings import Settings, get_settings
from api.shipped import seed

log = logging.getLogger(__name__)

DESCRIPTION = f"""
Open data on arms exports and defence budgets, with provenance, and (soon) scenario forecasts of
a country's share of global arms exports — Japan first.

{TIV_NOTE}

Errors are `application/problem+json` (RFC 9457). Data responses carry an `ETag` and
`Cache-Control`; send `If-None-Match` to get `304 Not Modified`.

Data credit: information from the SIPRI Arms Transfers Database and the SIPRI Military
Expenditure Database; Japan Ministry of Defense and Ministry of Finance. tivcast's own
calculations (for example shares against 2024's sum of listed suppliers) are not SIPRI's.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await run_in_threadpool(create_schema, engine)
        if settings.seed_on_start:
            loaded = await run_in_threadpool(seed, engine)
            for result in loaded:
                if result.created:
                    log.info("loaded %s release %s (%d rows)", result.dataset_id, result.release_id, result.row_count)
        catalog = Catalog(engine, settings.version_ttl)
        app.state.tivcast = AppState(
            settings=settings,
            engine=engine,
            catalog=catalog,
            bodies=BodyCache(settings.body_cache_entries),
            urls=UrlCache(settings.body_cache_entries),
        )
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="tivcast", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    add_exception_handlers(app)
    app.add_middleware(FastPath)
    for module in (datasets, countries, shares, policy):
        app.include_router(module.router)
    return app
