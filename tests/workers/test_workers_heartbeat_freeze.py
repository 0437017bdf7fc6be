"""A frozen process (SIGSTOP, ``docker pause``, a suspended VM) is not a stalled consumer: after the freeze the
heartbeat thread gives the consumer's event loop one interval to mark progress before it judges it."""

from __future__ import annotations

import time

import pytest

from workers import liveness
from workers.runtime import Heartbeat
from workers.settings import WorkerSettings


@pytest.fixture
def heartbeat(monkeypatch: pytest.MonkeyPatch) -> tuple[Heartbeat, list[float]]:
    settings = WorkerSettings(redis_url="redis://127.0.0.1:1/0", heartbeat_seconds=5.0, consumer_stall_seconds=30.0)
    beat = Heartbeat(settings, "w@freeze")  # never connects: consumer_alive does not touch Redis
    exits: list[float] = []
    monkeypatch.setattr(beat, "exit_stalled", exits.append)  # os._exit(70) would end the test run
    monkeypatch.setattr(liveness, "_shutdown_since", None)
    return beat, exits


def silent(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    monkeypatch.setattr(liveness, "_last", time.monotonic() - seconds)


def test_after_a_freeze_the_consumer_gets_a_turn_before_it_is_judged(
    heartbeat: tuple[Heartbeat, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    beat, exits = heartbeat
    beat.checked = time.monotonic() - 35.0  # the heartbeat thread itself slept 35 s: the process was frozen
    silent(monkeypatch, 35.0)
    assert beat.consumer_alive() is False and exits == []  # not beating, not exiting
    liveness.mark()  # the event loop took its turn after the resume
    assert beat.consumer_alive() is True and exits == []


def test_a_consumer_still_silent_an_interval_later_is_taken_for_dead(
    heartbeat: tuple[Heartbeat, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    beat, exits = heartbeat
    beat.checked = time.monotonic() - 35.0
    silent(monkeypatch, 35.0)
    assert beat.consumer_alive() is False and exits == []
    silent(monkeypatch, 41.0)  # one on-time check later, the loop never marked
    beat.consumer_alive()
    assert len(exits) == 1 and exits[0] > 30.0


def test_an_on_time_check_of_a_long_silence_still_exits(
    heartbeat: tuple[Heartbeat, list[float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    beat, exits = heartbeat
    beat.checked = time.monotonic() - 5.0  # checks every 5 s as it should: the thread ran, the loop did not
    silent(monkeypatch, 31.0)
    beat.consumer_alive()
    assert len(exits) == 1
