"""Embedded mode (no ``TIVCAST_REDIS_URL``): the same contract as the Redis service, in one process.

Forecasts run in a :class:`~concurrent.futures.ProcessPoolExecutor` of
``embedded_workers`` *spawned* processes, which reach :mod:`workers.compute`
by name (``importlib``): the API process never imports Prophet and its event
loop never blocks on a fit. Jobs go through the same states with the same
rules: single-flight submits, deliveries counted (a process that dies is
replaced and the job tried again, at most ``max_deliveries`` times), input
errors fail the job once, a job running past ``time_limit`` is killed and
failed. Results live in the in-memory LRU only; a job whose result was
evicted is forgotten, so the next submit computes it again.

Temporary files: the pool's processes write only under a root of the
service's own (:class:`workers.scratch.TempRoot`, one directory per
process), which is swept whenever the pool is replaced (a killed process
leaves Stan's files behind) and removed on :meth:`EmbeddedService.aclose`.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, cast

from forecasting import ForecastingError
from workers.cache import ResultCache
from workers.jobs import Job
from workers.metrics import JobStats
from workers.requests import JobSpec
from workers.scratch import TempRoot, embedded_root, sweep_embedded_roots
from workers.settings import WorkerSettings

__all__ = ["EmbeddedService"]

log = logging.getLogger(__name__)


def _enter(root: str, owner: int) -> None:
    """Pool process initializer: a temporary directory of its own under the service's root, and an exit when the
    API process that started it is gone (killed, nothing else would stop it: it waits for work for ever)."""
    temp = TempRoot(Path(root))
    temp.owner = owner
    temp.enter_child()
    parent = multiprocessing.parent_process()  # its sentinel is ready once the API process is gone
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), name="tivcast-parent-watch", daemon=True).start()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)  # the API is gone: no one waits for this process's result; its files go with the next start


def _compute(payload: dict[str, Any]) -> tuple[bytes, int]:
    """Runs in a pool process: the model stack is imported there, by name."""
    compute = importlib.import_module("workers.compute")
    return cast(tuple[bytes, int], compute.run(payload))


class EmbeddedService:
    """In-process forecast service: a dict of jobs, an LRU of results, a pool of processes."""

    mode: Literal["redis", "embedded"] = "embedded"

    def __init__(self, settings: WorkerSettings) -> None:
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._results = ResultCache(settings.result_cache_entries, settings.result_cache_bytes)
        self._slots = asyncio.Semaphore(settings.embedded_workers)
        self._pool: ProcessPoolExecutor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._fits = 0
        self._idempotency: dict[str, tuple[str, float]] = {}
        self._warm: list[JobSpec] = []
        self._stats = JobStats()
        self._temp: TempRoot | None = None
        sweep_embedded_roots()  # what killed API processes' pools left (README Operations: temporary files)

    def peek(self, key: str) -> bytes | None:
        """The result if it is in memory (in embedded mode, memory is the only store)."""
        return self._results.peek(key)

    async def get_result(self, key: str) -> bytes | None:
        return await self._results.get(key)

    async def get_job(self, key: str) -> Job | None:
        job = self._jobs.get(key)
        if job is None:
            return None
        lost = job.state == "succeeded" and key not in self._results.lru
        if lost or job.age_seconds() > self.settings.job_ttl:
            del self._jobs[key]
            return None
        return job

    async def submit(self, spec: JobSpec) -> Job:
        # No await between the check and the creation: on one event loop this is atomic, so
        # identical concurrent submits share one job (single-flight) without a lock.
        job = await self.get_job(spec.key)
        if job is not None and job.state != "failed":
            return job
        now = time.time()
        if spec.key in self._results.lru:
            job = Job(spec.key, spec.kind, "succeeded", now, now, None, now, 0, None, spec.summary)
            self._jobs[spec.key] = job
            return job
        job = Job(spec.key, spec.kind, "queued", now, now, summary=spec.summary)
        self._jobs[spec.key] = job
        task = asyncio.get_running_loop().create_task(self._run(spec))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def _set(self, key: str, **changes: Any) -> Job:
        job = replace(self._jobs[key], **changes)
        self._jobs[key] = job
        return job

    async def _run(self, spec: JobSpec) -> None:
        """Run a job on the pool, one slot per pool process (so 'running' means running)."""
        async with self._slots:
            while True:
                attempts = self._jobs[spec.key].attempts + 1
                job = self._set(spec.key, state="running", started=time.time(), attempts=attempts)
                error = await self._attempt(spec)
                if error is None:
                    return self._finish(spec.key, "succeeded", None)
                if error != "lost":
                    return self._finish(spec.key, "failed", error)
                if job.attempts >= self.settings.max_deliveries:
                    return self._finish(spec.key, "failed", f"worker lost on every delivery ({job.attempts} attempts)")

    async def _attempt(self, spec: JobSpec) -> str | None:
        """One delivery: ``None`` on success, ``'lost'`` if the process died, else the job's error."""
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(self._executor(), _compute, spec.payload)
            body, fits = await asyncio.wait_for(future, self.settings.time_limit)
        except BrokenProcessPool:
            self._reset_pool()
            return "lost"
        except TimeoutError:
            self._reset_pool()
            return f"killed at the hard time limit ({self.settings.time_limit} s)"
        except ForecastingError as exc:
            return str(exc)
        except Exception as exc:  # a bug in the computation: record it, never leave the job running
            log.exception("job %s failed", spec.key)
            return f"internal error ({type(exc).__name__}); see the API log"
        self._results.lru.put(spec.key, body)
        self._fits += fits
        return None

    def _finish(self, key: str, state: str, error: str | None) -> None:
        job = self._set(key, state=state, finished=time.time(), error=error)
        self._stats.record(state, job.finished - job.started if job.finished and job.started else None)

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            if self._temp is None:
                self._temp = TempRoot(embedded_root())
            self._pool = ProcessPoolExecutor(
                self.settings.embedded_workers,
                multiprocessing.get_context("spawn"),
                initializer=_enter,
                initargs=(str(self._temp.path), os.getpid()),
            )
        return self._pool

    def _reset_pool(self) -> None:
        """Kill the pool's processes (a dead one broke it, or one ran past the limit); the next job makes a new pool."""
        pool, self._pool = self._pool, None
        if pool is not None:
            processes = list(pool._processes.values())  # no public way to stop a running call (Python < 3.14)
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:
                process.kill()
            for process in processes:
                process.join(5)
        if self._temp is not None:
            self._temp.sweep()  # the killed processes' files (their directories no longer belong to a child)

    async def workers_online(self) -> int:
        return self.settings.embedded_workers

    async def publish_warm(self, specs: Sequence[JobSpec]) -> None:
        self._warm = list(specs)
        for spec in self._warm:
            await self.submit(spec)

    async def idempotency_seen(self, key: str) -> str | None:
        earlier = self._idempotency.get(key)
        return earlier[0] if earlier is not None and earlier[1] > time.time() else None

    async def idempotency(self, key: str, body_hash: str, job_key: str) -> str | None:
        now = time.time()
        earlier = self._idempotency.get(key)
        if earlier is not None and earlier[1] > now:
            return earlier[0]
        self._idempotency[key] = (body_hash, now + self.settings.idempotency_ttl)
        return None

    async def fits_counted(self) -> int:
        return self._fits

    def forget_memory(self) -> int:
        """Memory is the only store here: a succeeded job whose result is gone is forgotten too (see
        :meth:`get_job`), so the next submit computes it again."""
        dropped = len(self._results.lru)
        self._results = ResultCache(self.settings.result_cache_entries, self.settings.result_cache_bytes)
        return dropped

    async def ping(self) -> None:
        return None  # nothing outside this process to reach

    async def queue_depth(self) -> int:
        return sum(1 for job in self._jobs.values() if job.state == "queued")

    async def job_stats(self) -> JobStats:
        return self._stats

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._reset_pool()
        if self._temp is not None:
            self._temp.remove()
            self._temp = None
