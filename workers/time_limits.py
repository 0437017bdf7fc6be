"""Soft time limits that arrive late, for a task this pool process no longer runs, are ignored.

Celery's time limits are timers of the worker's event loop. While the consumer reconnects to a lost broker the
loop waits, so the timers of tasks that ran during the outage fire when it comes back, after those tasks finished
(a task waits an outage out only until shortly before its soft limit, :mod:`workers.tasks`). Billiard's handler
then raises ``SoftTimeLimitExceeded`` in whatever the process is doing: in an idle pool process that kills it
(exit code 1, a cold replacement whose first job takes seconds longer), and in one that already runs a newer
task it stops that task, which never ran for its limit. Here the handler raises only while the process runs a
task that has been running for its soft limit (less a margin for the timer's own lateness); otherwise the signal
is dropped. A task that really overruns still gets its ``SoftTimeLimitExceeded``, and the hard limit is the
parent's, unchanged.

:func:`install` replaces billiard's module-level handler in the worker's main process before the pool forks;
billiard installs it in each child after the initializer, so the children take this one.
"""

from __future__ import annotations

import time
from types import FrameType

import billiard.pool
from billiard.exceptions import SoftTimeLimitExceeded

__all__ = ["MARGIN", "finished", "install", "soft_timeout", "started"]

MARGIN = 1.0  # seconds: a timer may fire a little early relative to this process's own clock reading
_soft_limit = 0.0  # the worker's default (task_soft_time_limit)
_running_since: float | None = None  # when this pool process started its current task (monotonic)
_running_limit = 0.0  # that task's own soft limit (its request's, else the default)


def install(soft_limit: float) -> None:
    """Use :func:`soft_timeout` in every pool process forked from now on."""
    global _soft_limit
    _soft_limit = soft_limit
    billiard.pool.soft_timeout_sighandler = soft_timeout


def started(soft_limit: float | None = None) -> None:
    """A task starts in this process, with its own soft limit if it has one (``task.request.timelimit``)."""
    global _running_since, _running_limit
    _running_since, _running_limit = time.monotonic(), soft_limit or _soft_limit


def finished() -> None:
    global _running_since
    _running_since = None


def soft_timeout(signum: int, frame: FrameType | None) -> None:
    """Billiard's soft-limit signal: raise in a task that has run for its limit, drop it otherwise (late)."""
    since = _running_since
    if since is not None and time.monotonic() - since >= _running_limit - MARGIN:
        raise SoftTimeLimitExceeded()
