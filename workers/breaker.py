"""A small circuit breaker for the API's Redis calls.

Why not a library: pybreaker's asyncio support needs Tornado; purgatory
(asyncio) routes state through a unit-of-work and message bus and does not
tell how long the circuit stays open, which is what ``Retry-After`` needs;
aiobreaker has not been released since 2021. This is about sixty lines.

States: *closed* (calls pass; ``failures`` consecutive failures open it),
*open* (calls are rejected at once with the seconds left; after
``reset_seconds`` one trial call is let through), *half-open* (that trial is
in flight: other calls are rejected; its success closes the circuit, its
failure opens it again). A trial that is cancelled counts as a failure, so
the breaker can never stay half-open.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

__all__ = ["CircuitBreaker", "CircuitOpen"]

T = TypeVar("T")
State = Literal["closed", "open", "half-open"]


class CircuitOpen(Exception):
    """The circuit is open: the call was not attempted; try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"circuit open; retry in {retry_after} s")
        self.retry_after = retry_after


class CircuitBreaker:
    """Consecutive-failure circuit breaker; one event loop, no locks needed."""

    def __init__(self, failures: int, reset_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.reset_seconds, self._clock = failures, reset_seconds, clock
        self._count = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._trial else "open"

    def retry_after(self) -> int:
        """Whole seconds until a trial call will be let through (at least 1)."""
        if self._opened_at is None:
            return 1
        return max(1, math.ceil(self._opened_at + self.reset_seconds - self._clock()))

    def before_call(self) -> None:
        """Raise :class:`CircuitOpen` unless a call may go ahead now (maybe as the trial)."""
        if self._opened_at is None:
            return
        if self._trial or self._clock() < self._opened_at + self.reset_seconds:
            raise CircuitOpen(self.retry_after())
        self._trial = True

    def success(self) -> None:
        self._count, self._opened_at, self._trial = 0, None, False

    def failure(self) -> None:
        self._count += 1
        if self._trial or self._count >= self.failures:
            self._opened_at, self._trial = self._clock(), False

    async def call(self, operation: Callable[[], Awaitable[T]], failure_types: tuple[type[BaseException], ...]) -> T:
        """Run ``operation`` through the breaker; exceptions of ``failure_types`` count as failures."""
        self.before_call()
        try:
            result = await operation()
        except failure_types:
            self.failure()
            raise
        except BaseException:
            if self._trial:  # cancelled or a bug: never leave the trial slot taken
                self.failure()
            raise
        self.success()
        return result
