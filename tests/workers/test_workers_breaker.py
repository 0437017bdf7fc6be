"""The circuit breaker: closed, open, half-open (time is a plain counter here, not a mock of Redis)."""

from __future__ import annotations

import asyncio

import pytest

from tests.workers.conftest import run
from workers.breaker import CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Down(Exception):
    pass


async def failing() -> None:
    raise Down


async def working() -> str:
    return "ok"


def state(breaker: CircuitBreaker) -> str:
    return breaker.state


def trip(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Down):
            run(breaker.call(failing, (Down,)))


class TestCircuitBreaker:
    def test_opens_after_consecutive_failures_only(self) -> None:
        breaker = CircuitBreaker(3, 5.0, Clock())
        trip(breaker, 2)
        assert run(breaker.call(working, (Down,))) == "ok"  # a success resets the count
        trip(breaker, 2)
        assert state(breaker) == "closed"
        trip(breaker, 1)
        assert state(breaker) == "open"

    def test_rejects_at_once_while_open_and_says_when_to_retry(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(1, 5.0, clock)
        trip(breaker, 1)
        clock.now += 1.5
        with pytest.raises(CircuitOpen) as rejected:
            run(breaker.call(working, (Down,)))
        assert rejected.value.retry_after == 4

    def test_one_trial_after_the_reset_time_closes_it(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(2, 5.0, clock)
        trip(breaker, 2)
        clock.now += 5.0
        assert run(breaker.call(working, (Down,))) == "ok"
        assert state(breaker) == "closed"

    def test_a_failed_trial_opens_it_again(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(2, 5.0, clock)
        trip(breaker, 2)
        clock.now += 5.0
        trip(breaker, 1)
        assert state(breaker) == "open"
        assert breaker.retry_after() == 5

    def test_other_calls_wait_while_the_trial_is_in_flight(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(1, 5.0, clock)
        trip(breaker, 1)
        clock.now += 5.0

        async def scenario() -> None:
            release = asyncio.Event()

            async def slow() -> str:
                await release.wait()
                return "ok"

            trial = asyncio.create_task(breaker.call(slow, (Down,)))
            await asyncio.sleep(0)
            assert state(breaker) == "half-open"
            with pytest.raises(CircuitOpen):
                await breaker.call(working, (Down,))
            release.set()
            assert await trial == "ok"

        run(scenario())
        assert state(breaker) == "closed"

    def test_a_cancelled_trial_never_leaves_it_half_open(self) -> None:
        clock = Clock()
        breaker = CircuitBreaker(1, 5.0, clock)
        trip(breaker, 1)
        clock.now += 5.0

        async def scenario() -> None:
            trial = asyncio.create_task(breaker.call(lambda: asyncio.sleep(10), (Down,)))
            await asyncio.sleep(0)
            trial.cancel()
            with pytest.raises(asyncio.CancelledError):
                await trial

        run(scenario())
        assert state(breaker) == "open"
        clock.now += 5.0
        assert run(breaker.call(working, (Down,))) == "ok"
