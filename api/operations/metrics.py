"""``/metrics`` (Prometheus text format) and the middleware that measures every request.

Series, and where each comes from:

| series | source |
| --- | --- |
| ``tivcast_http_requests_total{method,route,status}`` | :class:`Instrument`, this process |
| ``tivcast_http_request_duration_seconds{method,route}`` | :class:`Instrument`, this process |
| ``tivcast_result_cache_lookups_total{layer,result}`` | :mod:`workers.cache`, this process |
| ``tivcast_jobs_total{outcome}``, ``tivcast_job_duration_seconds{outcome}`` | the workers, via Redis, at scrape time |
| ``tivcast_queue_depth{queue}``, ``tivcast_workers_online`` | Redis, read at scrape time |
| ``tivcast_forecast_service_up{mode}`` | 1 when the scrape could read the above |

``route`` is the route's template (``/v1/datasets/{dataset_id}``), never the raw path, so the number
of series stays fixed; a path no route matched is ``unmatched``. Requests answered by
:class:`~api.web.cache.FastPath` before routing are counted under the template of the route they
replay. Job metrics are written by the workers into Redis (:mod:`workers.metrics` says why), so one
scrape of any API process covers every worker.

Several API processes behind one port (``tivcast serve --workers N``) each count their own
requests: with ``PROMETHEUS_MULTIPROC_DIR`` set (``serve`` sets it when N > 1) the counters live in
files there and every process's ``/metrics`` reports the sum (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.operations.log_config import access, request_id_from
from api.web.cache import ROUTE_KEY, FastPath, date_header
from workers import logs
from workers.client import ForecastService, Unavailable
from workers.metrics import JobStats

__all__ = ["MULTIPROC_ENV", "REQUESTS", "REQUEST_SECONDS", "Instrument", "instrument", "prepare_multiprocess", "router"]

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED = "unmatched"
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes: measured, not access-logged
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A ``*_created`` twin of every series would double each scrape for nothing we use.
disable_created_metrics()  # type: ignore[no-untyped-call]

REQUESTS = Counter(
    "tivcast_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "tivcast_http_request_duration_seconds",
    "Time to answer an HTTP request (first byte of the request to last byte of the answer), by route template.",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    if route is not None:
        return str(getattr(route, "path", UNMATCHED))
    return str(scope.get(ROUTE_KEY, UNMATCHED))


class Instrument:
    """Pure ASGI middleware (outermost): request id in, metrics and one access line out; every response gets
    its ``X-Request-ID`` and its ``Date`` (:func:`api.web.cache.date_header`).

    It adds a counter increment, a histogram observation and a header to each request; the access
    line is skipped for probes and scrapes, and when ``access_log`` is off."""

    def __init__(self, app: ASGIApp, access_log: bool = True, replays: FastPath | None = None) -> None:
        self.app, self.access_log, self.replays = app, access_log, replays
        # labels() validates and locks on every call; the children are few (templates x methods x statuses)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_from(scope["headers"])
        echo = (b"x-request-id", request_id.encode("ascii"))
        token = logs.bind(request_id=request_id)
        start = time.perf_counter()
        status = 500  # if the app raises before answering, the server answers 500
        try:
            replayed = None
            if self.replays is not None and scope["method"] == "GET":  # a GET the replay cache holds: answered
                replayed = await self.replays.answer(scope, send, (echo, date_header()))  # here, with the id
            if replayed is not None:
                status = replayed
            else:
                started: list[int] = []  # the status the app sent, if it got that far

                async def send_with_id(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        started.append(message["status"])
                        # a new list: the headers may belong to a cached response that is replayed
                        message["headers"] = [*message.get("headers", ()), echo, date_header()]
                    await send(message)

                try:
                    await self.app(scope, receive, send_with_id)
                finally:
                    status = started[0] if started else status
        finally:
            seconds = time.perf_counter() - start
            method = scope["method"] if scope["method"] in METHODS else "OTHER"
            route = route_of(scope)
            series = self._series.get((method, route, status))
            if series is None:
                series = REQUESTS.labels(method, route, str(status)), REQUEST_SECONDS.labels(method, route)
                self._series[(method, route, status)] = series
            series[0].inc()
            series[1].observe(seconds)
            try:
                if self.access_log and route not in QUIET:
                    access(method, scope["path"], route, status, seconds)
            finally:
                logs.reset(token)


def instrument(app: FastAPI, *, access_log: bool, inside: Sequence[Callable[[ASGIApp], ASGIApp]] = ()) -> None:
    """Wrap ``app``'s whole middleware stack in :class:`Instrument`, outside even Starlette's
    ``ServerErrorMiddleware``: a 500 then carries its ``X-Request-ID`` too, and the error handler's log
    line the request id (``add_middleware`` can only place a middleware inside that one). ``inside``:
    middleware placed between the two (outermost first), which then also runs before FastAPI's own; a
    :class:`~api.web.cache.FastPath` among them answers the GETs it holds from :class:`Instrument` itself."""
    build = app.build_middleware_stack

    def build_instrumented() -> ASGIApp:
        stack, replays = build(), None
        for wrap in reversed(inside):
            stack = wrap(stack)
            replays = stack if isinstance(stack, FastPath) else replays
        return Instrument(stack, access_log=access_log, replays=replays)

    app.build_middleware_stack = build_instrumented  # type: ignore[method-assign]


def prepare_multiprocess(processes: int) -> None:
    """Before starting ``processes`` > 1 API processes: give them a (fresh) directory to count in."""
    if processes <= 1:
        return
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        directory = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="tivcast-metrics-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        return
    Path(directory).mkdir(parents=True, exist_ok=True)
    for stale in Path(directory).glob("*.db"):  # counts of an earlier run would be added to this one's
        stale.unlink()


def _process_registry() -> CollectorRegistry:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


@dataclass(frozen=True, eq=False)  # hashed by identity: the registry keeps collectors in a dict
class ServiceSnapshot:
    """What the forecast service reported for one scrape; ``None`` where it could not answer."""

    mode: str
    queue: str
    depth: int | None
    online: int | None
    jobs: JobStats | None

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "tivcast_forecast_service_up", "1 when the forecast service (Redis) answered this scrape.", labels=["mode"]
        )
        up.add_metric([self.mode], 1.0 if None not in (self.depth, self.online, self.jobs) else 0.0)
        yield up
        if self.depth is not None:
            depth = GaugeMetricFamily("tivcast_queue_depth", "Jobs waiting for a worker.", labels=["queue"])
            depth.add_metric([self.queue], self.depth)
            yield depth
        if self.online is not None:
            yield GaugeMetricFamily("tivcast_workers_online", "Workers with a live heartbeat.", value=self.online)
        if self.jobs is not None:
            yield from _job_metrics(self.jobs)


def _job_metrics(stats: JobStats) -> Iterable[Metric]:
    total = CounterMetricFamily(
        "tivcast_jobs",
        "Forecast job deliveries finished, by outcome (succeeded, failed, retried, timeout, ...).",
        labels=["outcome"],
    )
    for outcome, count in sorted(stats.counts.items()):
        total.add_metric([outcome], count)
    durations = HistogramMetricFamily(
        "tivcast_job_duration_seconds", "Time a worker spent on a job delivery, by outcome.", labels=["outcome"]
    )
    for outcome in sorted(stats.sums):
        durations.add_metric([outcome], buckets=stats.histogram(outcome), sum_value=stats.sums[outcome])
    return (total, durations)


async def service_snapshot(service: ForecastService) -> ServiceSnapshot:
    """Ask the forecast service for its numbers, concurrently; each one it cannot give is left out."""

    async def ask(call: Any) -> Any:
        try:
            return await call()
        except Unavailable:
            return None
        except Exception:  # a scrape reports what it could read; it never answers 500
            log.warning("metrics: %s failed", getattr(call, "__name__", call), exc_info=True)
            return None

    depth, online, jobs = await asyncio.gather(
        ask(service.queue_depth), ask(service.workers_online), ask(service.job_stats)
    )
    return ServiceSnapshot(service.mode, service.settings.queue, depth, online, jobs)


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this API process and, read at scrape time, of the forecast service."""
    state = request.app.state.tivcast
    snapshot = await service_snapshot(state.service)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(snapshot)
    body = generate_latest(_process_registry()) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
