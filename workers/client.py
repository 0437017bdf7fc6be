"""The forecast service as the API sees it: results, job state, submission.

:class:`ForecastService` is the contract; :func:`make_service` picks
:class:`RedisService` (Celery workers, ``TIVCAST_REDIS_URL`` set) or
:class:`~workers.embedded.EmbeddedService` (no services). Neither imports
Prophet.

Degraded, not broken: every Redis call of :class:`RedisService` goes through
a circuit breaker and a deadline (``redis_operation_timeout``, 0.25 s), with
short socket timeouts and no retries on timeouts, so a Redis outage surfaces
as :class:`Unavailable` (the API's 503 with ``Retry-After``) within the
deadline and, once the breaker is open, at once; it never hangs and never
raises anything else for a Redis failure. The only retry is redis-py's one
immediate reconnect after a dropped connection, so a restarted Redis costs no
request a 503. The in-process LRU keeps answering the results it holds. No
Celery result backend is used anywhere: job state is read from tivcast's own
hashes (:mod:`workers.jobs`).

Two roles: job state and the broker on ``redis_url`` (a ``noeviction``
instance), results on ``cache_redis_url`` (an evicting one; the same
instance when unset), each behind its own breaker. A 202 is a promise: when
the state instance is past its admission mark (``accept_max_memory`` of its
``maxmemory``) a new job is refused with :class:`Unavailable` (503 +
``Retry-After``) instead of being accepted into memory it may not have.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, Protocol, TypeVar, cast

import kombu.exceptions
import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from workers.breaker import CircuitBreaker, CircuitOpen
from workers.cache import ResultCache
from workers.celery_app import FORECAST_TASK, WARM_TASK, make_celery, queue_keys
from workers.embedded import EmbeddedService
from workers.jobs import ENQUEUED, FAIL, SUBMIT, CannotPersist, Job, Keys, cannot_persist, parse_reply
from workers.logs import REQUEST_ID_HEADER, bound
from workers.metrics import JobStats
from workers.requests import JobSpec
from workers.settings import WorkerSettings

__all__ = ["ForecastService", "RedisService", "Unavailable", "make_service"]

log = logging.getLogger(__name__)
T = TypeVar("T")
REDIS_DOWN: tuple[type[BaseException], ...] = (
    CannotPersist,
    redis.ConnectionError,
    redis.TimeoutError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.OutOfMemoryError,
    TimeoutError,
    OSError,
)
FULL_RETRY_AFTER = 5  # seconds: a queue at its memory mark drains as workers finish jobs
PUBLISH_FAILED = (kombu.exceptions.OperationalError, redis.RedisError, OSError, TimeoutError)

# KEYS: workers set. ARGV: worker key prefix. Counts live heartbeats, forgets expired ones.
ONLINE = """
local n = 0
for _, host in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. host) == 1 then n = n + 1 else redis.call('SREM', KEYS[1], host) end
end
return n
"""

# KEYS: idempotency key. ARGV: body hash, job key, ttl, accept_max_memory. Returns the earlier body hash, or nil.
# Called once the request was answered 200/202 (never for a refused one), and within admission: past the mark the
# key is not stored (the job is content-keyed, so a replay is still safe; only a reuse with another body goes
# unnoticed), so Idempotency-Keys never take the room kept for accepted jobs.
IDEMPOTENCY = """
local earlier = redis.call('HGET', KEYS[1], 'body_hash')
if earlier then return earlier end
local info = redis.call('INFO', 'memory')
local used = tonumber(string.match(info, 'used_memory:(%d+)'))
local limit = tonumber(string.match(info, 'maxmemory:(%d+)'))
if limit > 0 and used >= limit * tonumber(ARGV[4]) then return false end
redis.call('HSET', KEYS[1], 'body_hash', ARGV[1], 'job_key', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return false
"""


class Unavailable(Exception):
    """A dependency (Redis, the broker) is away: answer 503 with ``Retry-After: retry_after``."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail


class ForecastService(Protocol):
    """What the API needs from the forecast service, in both modes."""

    mode: Literal["redis", "embedded"]
    settings: WorkerSettings

    def peek(self, key: str) -> bytes | None:
        """The result if this process holds it in memory; never touches Redis (the hot path)."""
        ...

    async def get_result(self, key: str) -> bytes | None:
        """The result body (canonical JSON bytes) of ``key``, or ``None`` if there is none."""
        ...

    async def get_job(self, key: str) -> Job | None:
        """The job ``key``, or ``None`` if unknown (never submitted, expired, or lost with Redis)."""
        ...

    async def submit(self, spec: JobSpec) -> Job:
        """Single-flight submit: identical submits share one job; a failed job is queued again."""
        ...

    async def workers_online(self) -> int:
        """Workers that can run jobs now (heartbeats; pool size when embedded)."""
        ...

    async def publish_warm(self, specs: Sequence[JobSpec]) -> None:
        """Replace the warm entries (jobs to keep computed) and queue the missing ones."""
        ...

    async def idempotency_seen(self, key: str) -> str | None:
        """The body hash stored earlier under ``Idempotency-Key`` ``key``, if any (stores nothing)."""
        ...

    async def idempotency(self, key: str, body_hash: str, job_key: str) -> str | None:
        """Remember ``Idempotency-Key`` ``key`` (``idempotency_ttl``) for a request that was answered 200/202;
        the body hash stored earlier, if any. Nothing is stored while Redis is past its admission mark."""
        ...

    async def fits_counted(self) -> int:
        """Model fits done by the workers (a counter, for tests and benchmarks)."""
        ...

    async def ping(self) -> None:
        """Check that the service's store answers (Redis ``PING``); raises :class:`Unavailable`."""
        ...

    async def queue_depth(self) -> int:
        """Jobs waiting for a worker (the broker queue's length; queued jobs when embedded)."""
        ...

    async def job_stats(self) -> JobStats:
        """Outcomes and durations of the jobs run so far (:mod:`workers.metrics`)."""
        ...

    def forget_memory(self) -> int:
        """Drop the results held in this process's memory (Redis keeps its copies); how many were dropped."""
        ...

    async def aclose(self) -> None:
        """Release connections and processes."""
        ...


class RedisService:
    """Redis and Celery workers, behind a breaker and deadlines (module docstring)."""

    mode: Literal["redis", "embedded"] = "redis"

    def __init__(self, settings: WorkerSettings) -> None:
        if not settings.redis_url:
            raise ValueError("RedisService needs settings.redis_url")
        self.settings, self.keys = settings, Keys(settings.key_prefix)
        self._redis = self._connect(settings.redis_url)  # job state and broker (noeviction)
        self._breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)
        # The result cache: its own instance (evicting) when cache_redis_url is set, with its own breaker.
        if settings.cache_redis_url and settings.cache_redis_url != settings.redis_url:
            self._cache = self._connect(settings.cache_redis_url)
            self._cache_breaker = CircuitBreaker(settings.breaker_failures, settings.breaker_reset_seconds)
        else:
            self._cache, self._cache_breaker = self._redis, self._breaker
        self._results = ResultCache(settings.result_cache_entries, settings.result_cache_bytes)
        self._celery = make_celery(settings)
        self._scripts = {
            name: self._redis.register_script(source)
            for name, source in {
                "submit": SUBMIT,
                "fail": FAIL,
                "enqueued": ENQUEUED,
                "online": ONLINE,
                "idempotency": IDEMPOTENCY,
            }.items()
        }

    def _connect(self, url: str) -> aioredis.Redis:
        pool = aioredis.ConnectionPool.from_url(
            url,
            socket_timeout=self.settings.redis_socket_timeout,
            socket_connect_timeout=self.settings.redis_connect_timeout,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            health_check_interval=30,  # PING a connection idle this long before using it
        )
        return aioredis.Redis.from_pool(pool)  # owns the pool: aclose() closes it

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def _guard(self, operation: Callable[[], Awaitable[T]], *, cache: bool = False) -> T:
        """Run one Redis operation under the breaker and the deadline; failures become :class:`Unavailable`.

        ``cache``: the operation goes to the result cache (its own breaker when it is its own instance)."""
        breaker, client = (self._cache_breaker, self._cache) if cache else (self._breaker, self._redis)

        async def bounded() -> T:
            async with asyncio.timeout(self.settings.redis_operation_timeout):
                try:
                    return await operation()
                except redis.ResponseError as exc:
                    if cannot_persist(exc):
                        raise CannotPersist(str(exc)) from exc
                    raise

        try:
            return await breaker.call(bounded, REDIS_DOWN)
        except CircuitOpen as exc:
            raise Unavailable(exc.retry_after, "Redis is unavailable (circuit open)") from None
        except REDIS_DOWN as exc:
            # Pooled connections to a Redis that went away are dead; do not hand them out again.
            with contextlib.suppress(Exception):
                await client.connection_pool.disconnect(inuse_connections=False)
            log.warning("Redis call failed: %r (breaker %s)", exc, breaker.state)
            raise Unavailable(breaker.retry_after(), "Redis is unavailable") from exc

    async def _script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._guard(lambda: self._scripts[name](keys=keys, args=args))

    def peek(self, key: str) -> bytes | None:
        return self._results.peek(key)

    async def get_result(self, key: str) -> bytes | None:
        async def fetch(k: str) -> bytes | None:
            return cast(bytes | None, await self._guard(lambda: self._cache.get(self.keys.result(k)), cache=True))

        return await self._results.get(key, fetch)

    async def get_job(self, key: str) -> Job | None:
        raw = await self._guard(lambda: self._redis.hgetall(self.keys.job(key)))
        return Job.from_hash(key, raw) if raw else None

    async def submit(self, spec: JobSpec) -> Job:
        running, enqueue, queued, busy = self.settings.stale
        exists = await self._guard(lambda: self._cache.exists(self.keys.result(spec.key)), cache=True)
        args = [time.time(), spec.kind, _dumps(spec.summary), _dumps(spec.payload), self.settings.job_ttl, running]
        args += [enqueue, int(bool(exists)), self.settings.accept_max_memory, queued, busy]
        args.append(self.settings.max_deliveries)
        keys = [self.keys.job(spec.key), self.keys.payload(spec.key), *queue_keys(self.settings)]
        status, job = parse_reply(spec.key, await self._script("submit", keys, args))
        if status == "full":  # accepting it could cost an accepted job its room: refuse, never evict
            raise Unavailable(FULL_RETRY_AFTER, "the forecast queue is full (Redis at its memory mark); retry later")
        if status == "created":
            await self._enqueue(spec.key)
        return job

    async def _enqueue(self, key: str) -> None:
        """Publish the task by name, off the event loop and within ``enqueue_timeout``."""
        try:
            await self._publish(FORECAST_TASK, [key])
        except Unavailable as exc:
            with contextlib.suppress(Unavailable):  # a resubmission requeues a failed job
                await self._script("fail", [self.keys.job(key), self.keys.payload(key)],
                                   [time.time(), f"could not enqueue: {exc.detail}"])
            raise
        with contextlib.suppress(Unavailable):  # the worker's claim confirms it as well
            await self._script("enqueued", [self.keys.job(key)], [])

    async def _publish(self, name: str, args: list[Any]) -> None:
        # The request being answered (if any) travels with the task, for the worker's logs.
        request_id = bound("request_id")
        headers = {REQUEST_ID_HEADER: request_id} if request_id else None
        send = functools.partial(
            self._celery.send_task, name, args=args, queue=self.settings.queue, retry=False, headers=headers
        )
        try:
            await asyncio.wait_for(asyncio.to_thread(send), self.settings.enqueue_timeout)
        except PUBLISH_FAILED as exc:
            log.warning("publishing %s failed: %r", name, exc)
            raise Unavailable(self._breaker.retry_after(), "the task broker is unavailable") from exc

    async def workers_online(self) -> int:
        count = await self._script("online", [self.keys.workers], [self.keys.worker("")])
        return int(count)

    async def publish_warm(self, specs: Sequence[JobSpec]) -> None:
        entries = {s.key: _dumps({"kind": s.kind, "payload": s.payload, "summary": s.summary}) for s in specs}

        async def replace() -> None:
            pipe = self._redis.pipeline(transaction=True)
            pipe.delete(self.keys.warm)
            if entries:
                pipe.hset(self.keys.warm, mapping=cast(Any, entries))
                pipe.expire(self.keys.warm, self.settings.job_ttl)
            await pipe.execute()

        await self._guard(replace)
        await self._publish(WARM_TASK, [])  # do not wait for the next beat

    async def idempotency_seen(self, key: str) -> str | None:
        earlier = await self._guard(lambda: self._redis.hget(self.keys.idempotency(key), "body_hash"))
        return earlier.decode() if isinstance(earlier, bytes) else earlier

    async def idempotency(self, key: str, body_hash: str, job_key: str) -> str | None:
        args = [body_hash, job_key, self.settings.idempotency_ttl, self.settings.accept_max_memory]
        earlier = await self._script("idempotency", [self.keys.idempotency(key)], args)
        return earlier.decode() if isinstance(earlier, bytes) else earlier

    async def fits_counted(self) -> int:
        value = await self._guard(lambda: self._redis.get(self.keys.fits))
        return int(value or 0)

    def forget_memory(self) -> int:
        dropped = len(self._results.lru)
        self._results = ResultCache(self.settings.result_cache_entries, self.settings.result_cache_bytes)
        return dropped

    async def ping(self) -> None:
        await self._guard(lambda: self._redis.ping())
        if self._cache is not self._redis:
            await self._guard(lambda: self._cache.ping(), cache=True)

    async def queue_depth(self) -> int:
        async def lengths() -> list[int]:
            pipe = self._redis.pipeline(transaction=False)
            for name in queue_keys(self.settings):
                pipe.llen(name)
            return cast(list[int], await pipe.execute())

        return sum(await self._guard(lengths))

    async def job_stats(self) -> JobStats:
        raw = await self._guard(lambda: self._redis.hgetall(self.keys.job_stats))
        return JobStats.from_hash(raw)

    async def aclose(self) -> None:
        await self._redis.aclose()
        if self._cache is not self._redis:
            await self._cache.aclose()
        await asyncio.to_thread(self._celery.close)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def make_service(settings: WorkerSettings) -> ForecastService:
    """Redis and Celery workers when ``settings.redis_url`` is set, else the embedded service."""
    if settings.redis_url:
        return RedisService(settings)
    return EmbeddedService(settings)
