"""Job state that tivcast writes and reads itself, in Redis (no Celery result backend).

A job is a hash ``{prefix}:job:{key}`` (the key is the content key) with a
TTL; its payload sits in ``{prefix}:payload:{key}`` until a worker succeeds.
Every transition is one Lua script, so concurrent API processes and workers
never see half a transition:

* :data:`SUBMIT` (API, warm task): create the job unless a live one exists;
  a failed job, a succeeded one whose result is gone, and a stale one (lost
  its message: see ``WorkerSettings.stale_*``) are reset and queued again.
  Single-flight: only the caller that gets ``created`` enqueues. *Admission*:
  a new job is refused (``full``) while the state instance uses more than
  ``accept_max_memory`` of its ``maxmemory``, so what was accepted always
  has room to finish.
  A job published but never claimed (its message was lost: taken off the
  queue by a consumer that could not record it) is stale too, once it waited
  ``stale_queued_seconds`` with the queue empty. A job that crashed its
  workers (below) is not reset before its ``retry_at``.
* :data:`CLAIM` (worker, on every delivery): count the delivery; a delivery
  that finds the job still running follows one that died, a *crash* of the
  key, counted across resubmissions; after ``max_deliveries`` crashes, fail
  the job instead of running it again (the broker does not count
  redeliveries) and keep it failed for ``crash_cooloff`` seconds.
* :data:`SUCCEED`, :data:`FAIL`, :data:`RELEASE`: finish a job (dropping its
  payload); record a failure; hand a delivery back before a retry (it did
  not die, so it does not count).

Memory (see docker-compose.yml): job state and the broker live on a
``noeviction`` Redis, so nothing accepted is ever evicted; results may live
on another, evicting Redis (``WorkerSettings.cache_redis_url``), so the
existence of a result is checked by the caller and passed to the scripts.
The worker's transitions carry the ``allow-oom`` flag (Redis 7): a job
accepted below the admission mark can always be claimed and finished, even
if the instance has filled up since; refusing them would strand an accepted
job. Only :data:`SUBMIT` (new work) is refused when memory is short, and a
result written to the state instance itself (one Redis for both roles) only
while it leaves that instance below ``result_max_memory``
(:data:`STORE_RESULT`): results must not take the broker's room.

Timestamps are stored as epoch seconds and shown as ISO 8601 UTC strings.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import redis

__all__ = [
    "CLAIM",
    "ENQUEUED",
    "FAIL",
    "RELEASE",
    "REQUEUE",
    "STATES",
    "STORE_RESULT",
    "SUBMIT",
    "SUCCEED",
    "Job",
    "JobState",
    "JobStore",
    "Keys",
    "iso",
    "parse_reply",
]

JobState = Literal["queued", "running", "succeeded", "failed"]
STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed")


def iso(epoch: float | None) -> str | None:
    """ISO 8601 UTC (seconds) of an epoch time, or ``None``."""
    if epoch is None:
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Job:
    """A job's state as clients see it; times are epoch seconds (``*_at`` give ISO strings)."""

    key: str
    kind: str
    state: JobState
    created: float
    queued: float | None = None
    started: float | None = None
    finished: float | None = None
    attempts: int = 0
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    worker: str | None = None  # hostname of the last delivery (for operators; not in to_dict)
    crashes: int = 0  # deliveries of this key that died, across resubmissions (CLAIM; not in to_dict)
    retry_at: float | None = None  # a crash-failed job is not run again before (not in to_dict)

    @property
    def created_at(self) -> str:
        return iso(self.created) or ""

    @property
    def queued_at(self) -> str | None:
        return iso(self.queued)

    @property
    def started_at(self) -> str | None:
        return iso(self.started)

    @property
    def finished_at(self) -> str | None:
        return iso(self.finished)

    def age_seconds(self, now: float | None = None) -> float:
        """Seconds since the job was created (or last reset by a resubmission)."""
        return round(max(0.0, (time.time() if now is None else now) - self.created), 3)

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """JSON-safe view for GET /v1/jobs/{key}."""
        return {
            "key": self.key,
            "kind": self.kind,
            "state": self.state,
            "created_at": self.created_at,
            "queued_at": self.queued_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "attempts": self.attempts,
            "error": self.error,
            "summary": self.summary,
            "age_seconds": self.age_seconds(now),
        }

    @classmethod
    def from_hash(cls, key: str, raw: Mapping[Any, Any]) -> Job:
        """Parse a job hash as returned by redis-py (bytes or str keys and values)."""
        h = {_text(k): _text(v) for k, v in raw.items()}

        def when(name: str) -> float | None:
            return float(h[name]) if h.get(name) else None

        return cls(
            key=key,
            kind=h.get("kind", ""),
            state=cast(JobState, h.get("state", "queued")),
            created=float(h.get("created") or 0.0),
            queued=when("queued"),
            started=when("started"),
            finished=when("finished"),
            attempts=int(h.get("attempts") or 0),
            error=h.get("error") or None,
            summary=json.loads(h["summary"]) if h.get("summary") else {},
            worker=h.get("worker") or None,
            crashes=int(h.get("crashes") or 0),
            retry_at=when("retry_at"),
        )


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def parse_reply(key: str, reply: list[Any]) -> tuple[str, Job]:
    """``(status, job)`` from a script returning ``{status, HGETALL...}``."""
    status, flat = _text(reply[0]), reply[1:]
    return status, Job.from_hash(key, dict(zip(flat[::2], flat[1::2], strict=True)))


@dataclass(frozen=True)
class Keys:
    """Redis key names, all under one prefix (so a test or a tenant can be removed by prefix)."""

    prefix: str

    def job(self, key: str) -> str:
        return f"{self.prefix}:job:{key}"

    def payload(self, key: str) -> str:
        return f"{self.prefix}:payload:{key}"

    def result(self, key: str) -> str:
        return f"{self.prefix}:result:{key}"

    def counted(self, key: str) -> str:
        """Runs of a job that expired while they ran whose fits were counted (:data:`SUCCEED`)."""
        return f"{self.prefix}:counted:{key}"

    def idempotency(self, key: str) -> str:
        return f"{self.prefix}:idem:{key}"

    def worker(self, hostname: str) -> str:
        return f"{self.prefix}:worker:{hostname}"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    @property
    def fits(self) -> str:
        return f"{self.prefix}:stats:fits"

    @property
    def job_stats(self) -> str:
        """Job outcomes and durations (:mod:`workers.metrics`)."""
        return f"{self.prefix}:stats:jobs"

    @property
    def warm(self) -> str:
        return f"{self.prefix}:warm"


# KEYS: job, payload, then the queue's lists (queue_keys). ARGV: now, kind, summary, payload, ttl, stale_running,
# stale_enqueue, result_exists (0/1), accept_max_memory (a fraction of maxmemory), stale_queued, stale_queued_busy,
# max_deliveries. Returns {status, HGETALL...}: created, existing or full.
SUBMIT = """#!lua
local job, now = KEYS[1], tonumber(ARGV[1])
local function fresh(state, finished)
  -- what survives a resubmission: the crashes of the key (at most one short of max_deliveries: one more trial)
  local crashes = math.min(tonumber(redis.call('HGET', job, 'crashes') or '0'), tonumber(ARGV[12]) - 1)
  redis.call('DEL', job)
  redis.call('HSET', job, 'state', state, 'kind', ARGV[2], 'summary', ARGV[3], 'created', ARGV[1],
             'queued', ARGV[1], 'started', '', 'finished', finished, 'attempts', '0', 'error', '',
             'enqueued', '0', 'worker', '', 'crashes', tostring(math.max(crashes, 0)))
  redis.call('EXPIRE', job, ARGV[5])
end
local state = redis.call('HGET', job, 'state')
if ARGV[8] == '1' then
  if state ~= 'succeeded' then fresh('succeeded', ARGV[1]) end
  return {'existing', unpack(redis.call('HGETALL', job))}
end
local live = state == 'queued' or state == 'running'
if state == 'running' and now - (tonumber(redis.call('HGET', job, 'started')) or now) > tonumber(ARGV[6]) then
  live = false
end
if state == 'queued' then
  local waited = now - (tonumber(redis.call('HGET', job, 'queued')) or now)
  if redis.call('HGET', job, 'enqueued') == '0' then
    if waited > tonumber(ARGV[7]) then live = false end  -- its publish was lost
  elseif waited > tonumber(ARGV[10]) then
    -- published, yet never claimed since: with the queue empty its message is gone (taken off the queue by a
    -- consumer that could not record it, lost with Redis); behind a busy queue, only after a much longer wait
    local waiting = 0
    for i = 3, #KEYS do waiting = waiting + redis.call('LLEN', KEYS[i]) end
    if waiting == 0 or waited > tonumber(ARGV[11]) then live = false end
  end
end
-- a job that crashed its worker on every delivery is not run again before its cool-off ends (retry_at)
if state == 'failed' and now < (tonumber(redis.call('HGET', job, 'retry_at')) or 0) then
  return {'existing', unpack(redis.call('HGETALL', job))}
end
if live then return {'existing', unpack(redis.call('HGETALL', job))} end
local info = redis.call('INFO', 'memory')
local used = tonumber(string.match(info, 'used_memory:(%d+)'))
local limit = tonumber(string.match(info, 'maxmemory:(%d+)'))
if limit > 0 and used >= limit * tonumber(ARGV[9]) then
  return {'full', unpack(redis.call('HGETALL', job))}
end
fresh('queued', '')
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[5])
return {'created', unpack(redis.call('HGETALL', job))}
"""

# KEYS: job, payload. ARGV: now, max_deliveries, ttl, worker, result_exists (0/1), crash_cooloff (seconds), run (a
# token of this task run). A claim is idempotent per run: one retried because its reply was lost (a Redis stall past
# the socket timeout, after the claim ran) finds its own token and is the same claim, not a crash of the key (a
# review counted one per such stall, each using up one of max_deliveries). A claim that ends the job (the result
# exists, or every delivery was lost) drops its payload: nothing will read it, and it sat on the noeviction
# instance for the job's TTL.
# A delivery that finds the job still 'running' follows one that died (its worker was lost: killed, out of memory)
# or was given up while Redis was away: that counts a crash of the key. Crashes survive resubmission (SUBMIT keeps
# them) but not a success (SUCCEED, or a claim that finds the result, resets them): only lost deliveries in a row
# count, so outages spread over a key's life never add up to a failure. After max_deliveries in a row the job fails
# and SUBMIT leaves it failed until retry_at (now + crash_cooloff).
CLAIM = """#!lua flags=allow-oom
local job = KEYS[1]
local state = redis.call('HGET', job, 'state')
if not state then return {'missing', 0} end
if state == 'succeeded' or state == 'failed' then return {'done', 0} end
if ARGV[5] == '1' then
  redis.call('HSET', job, 'state', 'succeeded', 'finished', ARGV[1], 'error', '', 'crashes', '0')
  redis.call('DEL', KEYS[2])
  return {'done', 0}
end
if state == 'running' and ARGV[7] ~= '' and redis.call('HGET', job, 'run') == ARGV[7] then
  return {'claimed', tonumber(redis.call('HGET', job, 'attempts') or '1')}  -- this run's claim, retried
end
local crashes = tonumber(redis.call('HGET', job, 'crashes') or '0')
if state == 'running' then crashes = redis.call('HINCRBY', job, 'crashes', 1) end
if crashes >= tonumber(ARGV[2]) then
  local attempts = tonumber(redis.call('HGET', job, 'attempts') or '0')
  local retry_at = tostring(tonumber(ARGV[1]) + tonumber(ARGV[6]))
  redis.call('HSET', job, 'state', 'failed', 'finished', ARGV[1], 'retry_at', retry_at, 'error',
             'worker lost on every delivery (' .. crashes .. ' attempts); not run again for ' .. ARGV[6] .. ' s')
  redis.call('DEL', KEYS[2])
  return {'exhausted', attempts}
end
local attempts = redis.call('HINCRBY', job, 'attempts', 1)
redis.call('HSET', job, 'state', 'running', 'started', ARGV[1], 'worker', ARGV[4], 'enqueued', '1', 'run', ARGV[7])
redis.call('EXPIRE', job, ARGV[3])
return {'claimed', attempts}
"""

# KEYS: job, payload, fits, counted. ARGV: now, ttl, fits, run (a token of the task run: unique per delivery). The
# result is already stored (it may live elsewhere). A run's fits are counted once: the call is retried when its reply
# is lost (Redis away, a timeout), and the first may have run; a mark per run in the job hash (counted:<run>) says it
# did. Counted per run, not per job: two runs that both computed (a duplicate message) did two fits. Not per attempt
# number: those repeat (SUBMIT resets them, RELEASE hands one back), so two runs may share one.
# The marks are few and do not outlive the job's state: only a claimed run succeeds, claims stop once the job is
# succeeded, and a resubmission starts a new hash (SUBMIT's DEL); the hash has the job's TTL.
# A job that expired while it ran has no hash to mark: its marks go to KEYS[4] (a set with the same TTL), which a
# succeed of a recreated hash checks too, so a retry on either side of a resubmission counts once.
SUCCEED = """#!lua flags=allow-oom
if redis.call('EXISTS', KEYS[1]) == 0 then  -- the job expired while it ran: no half hash without kind or summary
  if redis.call('SADD', KEYS[4], ARGV[4]) == 1 then redis.call('INCRBY', KEYS[3], ARGV[3]) end
  redis.call('EXPIRE', KEYS[4], ARGV[2])
  redis.call('DEL', KEYS[2])
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'succeeded', 'finished', ARGV[1], 'error', '', 'crashes', '0')
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
local marked = redis.call('HSETNX', KEYS[1], 'counted:' .. ARGV[4], '1') == 1
if marked and redis.call('SISMEMBER', KEYS[4], ARGV[4]) == 0 then redis.call('INCRBY', KEYS[3], ARGV[3]) end
return 1
"""

# KEYS: result. ARGV: body, ttl, max_memory (a fraction of maxmemory; 0: no bound). Returns 1 if stored, else 0.
# On an evicting cache instance (max_memory 0) Redis makes room itself. On the noeviction state instance (one Redis
# for both roles) a result is written only while it leaves the instance below max_memory: results never take the
# room kept for the broker's acks and the job transitions (they are what fills such an instance).
STORE_RESULT = """#!lua flags=allow-oom
local bound = tonumber(ARGV[3])
if bound > 0 then
  local info = redis.call('INFO', 'memory')
  local used = tonumber(string.match(info, 'used_memory:(%d+)'))
  local limit = tonumber(string.match(info, 'maxmemory:(%d+)'))
  if limit > 0 and used + string.len(ARGV[1]) > limit * bound then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

# KEYS: job, payload (optional: dropped with the failure; a resubmission stores it again). ARGV: now, error, run
# (optional: the failing task run's token, CLAIM's). A succeeded job stays succeeded (another delivery won); a job
# another run has claimed since stays its (a run, not a worker: a worker's pool processes share its name). A
# delivery frozen (SIGSTOP, a stalled host) past its redelivery that then fails at its overdue soft time limit must
# not mark the live delivery's job failed (a review saw 15 s of 422 "Forecast failed" before the redelivery
# succeeded), nor drop the payload the live one is about to read.
FAIL = """#!lua flags=allow-oom
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'succeeded' then return 0 end
if ARGV[3] and ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'run') ~= ARGV[3] then return 0 end
if KEYS[2] then redis.call('DEL', KEYS[2]) end
redis.call('HSET', KEYS[1], 'state', 'failed', 'finished', ARGV[1], 'error', ARGV[2])
return 1
"""

# KEYS: job. ARGV: note, now. Before a retry: the delivery did not die, so it does not count.
RELEASE = """#!lua flags=allow-oom
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HINCRBY', KEYS[1], 'attempts', -1)
redis.call('HSET', KEYS[1], 'state', 'queued', 'error', ARGV[1], 'queued', ARGV[2])
return 1
"""

# KEYS: job, payload, then the queue's lists. ARGV: now, stale_queued. The sweep's half of SUBMIT's stale-queued rule
# (workers.tasks.reconcile): a job queued but unclaimed that long, with the queue empty and its payload kept, has no
# message; mark it unpublished (the caller publishes it again, then confirms). Returns 1 when the caller must.
# Published or not: a job whose publish never happened (SUBMIT ran, but its reply timed out and the API answered 503;
# or the publish failed and so did the FAIL recording it; or this sweep's own publish failed) is 'queued' with
# enqueued 0, and a client that retries within stale_enqueue gets it as 'existing': without this sweep it waited for
# an identical request after that, or for its TTL (7 days). The same wait (stale_queued, not stale_enqueue) guards
# against a second message where the first is only late.
REQUEUE = """#!lua
if redis.call('HGET', KEYS[1], 'state') ~= 'queued' then return 0 end
if tonumber(ARGV[1]) - (tonumber(redis.call('HGET', KEYS[1], 'queued')) or tonumber(ARGV[1])) <= tonumber(ARGV[2]) then
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
for i = 3, #KEYS do if redis.call('LLEN', KEYS[i]) > 0 then return 0 end end
redis.call('HSET', KEYS[1], 'enqueued', '0', 'queued', ARGV[1])
return 1
"""

# KEYS: job. Confirms a publish; never creates a partial hash (the job may have expired or been flushed).
ENQUEUED = """#!lua flags=allow-oom
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'enqueued', '1') end
return 0
"""


class CannotPersist(redis.RedisError):
    """Redis refuses writes because its last snapshot failed (``MISCONF``: a full or unwritable disk, with
    ``stop-writes-on-bgsave-error``): down for writes until it can save again, like a read-only replica. redis-py
    raises it as a plain ``ResponseError``, which surfaced as a 500 in the API and a failed task in a worker."""


def cannot_persist(exc: BaseException) -> bool:
    """``exc`` is Redis refusing a write because it cannot persist (MISCONF): an outage, not an error."""
    return isinstance(exc, redis.ResponseError) and str(exc).startswith("MISCONF")

class JobStore:
    """Synchronous job store for worker processes (one client per process, two when results live apart).

    ``client`` is the state instance (jobs, payloads, broker); ``results`` the
    result cache, the same instance unless ``cache_redis_url`` is set.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        job_ttl: int,
        result_ttl: int,
        results: redis.Redis | None = None,
        accept_max_memory: float = 0.8,
        *,
        queues: Sequence[str] = (),
        result_max_memory: float = 0.9,
        max_deliveries: int = 3,
        crash_cooloff: int = 3600,
    ) -> None:
        self.client, self.results, self.keys = client, results or client, Keys(prefix)
        self.job_ttl, self.result_ttl, self.accept_max_memory = job_ttl, result_ttl, accept_max_memory
        self.queues, self.max_deliveries, self.crash_cooloff = list(queues), max_deliveries, crash_cooloff
        # Results on the state instance itself (one Redis for both roles) are bounded; an evicting cache is not.
        self.result_max_memory = result_max_memory if self.results is client else 0.0
        self._claim = client.register_script(CLAIM)
        self._fail = client.register_script(FAIL)
        self._release = client.register_script(RELEASE)
        self._submit = client.register_script(SUBMIT)
        self._succeed = client.register_script(SUCCEED)
        self._enqueued = client.register_script(ENQUEUED)
        self._requeue = client.register_script(REQUEUE)
        self._store_result = self.results.register_script(STORE_RESULT)

    def has_result(self, key: str) -> bool:
        return bool(self.results.exists(self.keys.result(key)))

    def result(self, key: str) -> bytes | None:
        return cast(bytes | None, self.results.get(self.keys.result(key)))

    def claim(self, key: str, max_deliveries: int, worker: str, run: str = "") -> tuple[str, int]:
        """Count a delivery: ``('claimed', n)``, ``('exhausted', n)``, ``('done', 0)`` or ``('missing', 0)``.

        ``run``: a token of the task run; the same claim retried (its reply lost) is then the same claim."""
        exists = int(self.has_result(key))
        args: list[float | str] = [time.time(), max_deliveries, self.job_ttl, worker, exists, self.crash_cooloff, run]
        reply = self._claim(keys=[self.keys.job(key), self.keys.payload(key)], args=args)
        return _text(reply[0]), int(reply[1])

    def payload(self, key: str) -> bytes | None:
        value = self.client.get(self.keys.payload(key))
        return cast(bytes | None, value)

    def succeed(self, key: str, body: bytes, fits: int, run: str) -> bool:
        """Store the result, then mark the job succeeded, count the fits and drop the payload (atomically).

        In that order: a worker that dies in between leaves a stored result and a
        running job, which the redelivery's claim marks succeeded without computing.
        Safe to call again for the same ``run`` (a token of the task run, unique to it) when a reply
        was lost: the fits of a run are counted once (:data:`SUCCEED`).
        A result the state instance has no room for (:data:`STORE_RESULT`) fails the job with
        that reason instead (``False``); a resubmission computes it again.
        """
        stored = self._store_result(keys=[self.keys.result(key)], args=[body, self.result_ttl, self.result_max_memory])
        if not stored:
            self.fail(
                key,
                f"the result ({len(body) // 1024} KiB) was not stored: the Redis of job state is near its maxmemory "
                "(one Redis for both roles; see TIVCAST_CACHE_REDIS_URL); submit again later",
            )
            self.client.delete(self.keys.payload(key))  # DEL is allowed past maxmemory, and frees room
            return False
        keys = [self.keys.job(key), self.keys.payload(key), self.keys.fits, self.keys.counted(key)]
        self._succeed(keys=keys, args=[time.time(), self.job_ttl, fits, run])
        return True

    def lost_messages(self, stale_queued: float, limit: int = 1000) -> list[str]:
        """Jobs without a message (queued and unclaimed ``stale_queued`` seconds, the queue empty: its message was
        lost, or its publish never happened, :data:`REQUEUE`), each marked unpublished for the caller to publish
        again (then :meth:`mark_enqueued`); at most ``limit`` a sweep."""
        found: list[str] = []
        prefix = self.keys.job("")
        for raw in self.client.scan_iter(match=f"{prefix}*", count=1000):
            name = _text(raw)
            key = name[len(prefix) :]
            keys = [name, self.keys.payload(key), *self.queues]
            if self._requeue(keys=keys, args=[time.time(), stale_queued]):
                found.append(key)
                if len(found) >= limit:
                    break
        return found

    def mark_enqueued(self, key: str) -> None:
        """Confirm the publish, so the job is never taken for one whose publish was lost."""
        self._enqueued(keys=[self.keys.job(key)])

    def fail(self, key: str, error: str, run: str = "") -> bool:
        """Mark the job failed; with ``run`` (the failing task run's claim token), only while that run holds it.
        Whether it was marked."""
        return bool(self._fail(keys=[self.keys.job(key), self.keys.payload(key)], args=[time.time(), error, run]))

    def release(self, key: str, note: str) -> None:
        self._release(keys=[self.keys.job(key)], args=[note, time.time()])

    def submit(
        self, key: str, kind: str, summary: str, payload: str, stale: tuple[float, float, float, float]
    ) -> str:
        """The :data:`SUBMIT` transition: ``'created'`` (caller enqueues), ``'existing'`` or ``'full'`` (refused).

        ``stale``: (running, enqueue, queued, queued_busy) seconds (``WorkerSettings.stale``)."""
        exists = int(self.has_result(key))
        running, enqueue, queued, busy = stale
        args: list[float | str] = [time.time(), kind, summary, payload, self.job_ttl, running, enqueue, exists]
        args.append(self.accept_max_memory)
        reply = self._submit(
            keys=[self.keys.job(key), self.keys.payload(key), *self.queues],
            args=[*args, queued, busy, self.max_deliveries],
        )
        return _text(reply[0])
