"""A soft time limit that arrives late, for a task the pool process no longer runs (Celery's timers fire when the
consumer is back from a broker outage), is dropped: the process lives on and takes the next job at once. A task
that really overruns still gets ``SoftTimeLimitExceeded`` (:mod:`workers.time_limits`)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from billiard.exceptions import SoftTimeLimitExceeded

from tests.services import SHARED_REDIS_URL, CeleryWorker, wait_for
from workers import time_limits


@pytest.fixture
def worker(prefix: str, tmp_path: Path) -> Iterator[CeleryWorker]:
    with CeleryWorker(SHARED_REDIS_URL, prefix, log_dir=tmp_path) as started:
        yield started


def test_an_idle_pool_process_survives_a_late_soft_limit(worker: CeleryWorker) -> None:
    wait_for(lambda: len(worker.children()) == 1, 30, "the pool process")
    [child] = worker.children()
    os.kill(child, signal.SIGUSR1)  # what a soft-limit timer firing late sends to the (idle) process
    time.sleep(1.0)
    assert worker.children() == [child], worker.log_tail()  # billiard's own handler made it exit with code 1
    assert "SoftTimeLimitExceeded" not in worker.log.read_text(errors="replace")


class TestTheHandler:
    def test_a_task_that_ran_for_its_limit_is_stopped(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(time_limits, "_soft_limit", 20.0)
        time_limits.started()
        monkeypatch.setattr(time_limits, "_running_since", time.monotonic() - 20.0)
        with pytest.raises(SoftTimeLimitExceeded):
            time_limits.soft_timeout(signal.SIGUSR1, None)

    def test_a_task_s_own_shorter_limit_is_honoured(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(time_limits, "_soft_limit", 20.0)
        time_limits.started(5.0)  # the task's request carries a soft limit of 5 s
        monkeypatch.setattr(time_limits, "_running_since", time.monotonic() - 5.0)
        with pytest.raises(SoftTimeLimitExceeded):
            time_limits.soft_timeout(signal.SIGUSR1, None)
        time_limits.finished()

    def test_a_newer_task_or_no_task_is_left_alone(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(time_limits, "_soft_limit", 20.0)
        time_limits.started()
        monkeypatch.setattr(time_limits, "_running_since", time.monotonic() - 2.0)  # started 2 s ago
        time_limits.soft_timeout(signal.SIGUSR1, None)
        monkeypatch.setattr(time_limits, "_running_since", None)  # idle
        time_limits.soft_timeout(signal.SIGUSR1, None)
