"""Whether this worker's consumer is alive: the proof its heartbeat carries (:class:`workers.runtime.Heartbeat`).

A worker whose heartbeat thread beats is not necessarily consuming: after an unrecoverable error its
consumer stops (or hangs in a shutdown waiting for its pool) while the thread goes on. So the consumer
itself reports progress, in the worker's main process:

* every second from its event loop (a timer of the loop, :mod:`workers.consumer`), while it consumes;
* on every attempt to reach a lost broker, while it reconnects (an outage of any length is progress).

The heartbeat is written only while the last progress is recent (``WorkerSettings.consumer_fresh_seconds``:
longer than the longest single call a live consumer blocks in, a connection attempt to the broker, so that
one slow attempt does not stop the heartbeat), so a consumer that stopped goes offline that long plus
``heartbeat_ttl`` later (``/readyz``, the compose healthcheck); and a consumer silent for
``consumer_stall_seconds`` makes the worker exit (:mod:`workers.runtime`), so that its supervisor (compose's
``restart: unless-stopped``) starts a new one. A warm shutdown (SIGTERM) may wait for its running tasks up to
the hard time limit first (:func:`shutting_down`).
"""

from __future__ import annotations

import time

__all__ = ["mark", "reset", "shutting_down", "silent_for", "stall_allowance"]

_last = time.monotonic()
_shutdown_since: float | None = None


def mark() -> None:
    """The consumer made progress (a turn of its event loop, or an attempt to reach the broker)."""
    global _last
    _last = time.monotonic()


def silent_for() -> float:
    """Seconds since the consumer last made progress."""
    return time.monotonic() - _last


def shutting_down() -> None:
    """A warm shutdown began: the consumer stops marking while the pool finishes its tasks."""
    global _shutdown_since
    if _shutdown_since is None:
        _shutdown_since = time.monotonic()


def stall_allowance(stall_seconds: float, time_limit: float) -> float:
    """Seconds of silence after which the worker is taken for dead: ``stall_seconds``, or during a warm shutdown
    the hard time limit (plus a margin) from its start, whichever ends later."""
    if _shutdown_since is None:
        return stall_seconds
    # silent_for() > allowance  <=>  now > start of the shutdown + time_limit + 10 (and silent stall_seconds)
    return max(stall_seconds, _shutdown_since - _last + time_limit + 10.0)


def reset() -> None:
    """Start afresh (a new worker process)."""
    global _shutdown_since
    _shutdown_since = None
    mark()
