"""What a stalled worker kills before it exits (workers.runtime): every process below it, grandchildren too.

Celery's prefork pool processes die with the worker on Linux (PR_SET_PDEATHSIG), but what a pool process
started, a running cmdstan, does not: the watchdog must find it, or it runs on, orphaned, with its files."""

from __future__ import annotations

import subprocess
import sys

import psutil

from tests.services import wait_for
from workers.runtime import _children

SPAWNER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); " \
    "time.sleep(60)"


def _below(pid: int) -> list[int]:
    """The pids ``_children()`` lists below ``pid`` (this test process may have other children: fixtures' servers)."""
    return [p for p in _children() if p != pid and psutil.pid_exists(p) and psutil.Process(p).ppid() == pid]


def test_the_watchdog_finds_grandchildren_as_well_as_children() -> None:
    child = subprocess.Popen([sys.executable, "-c", SPAWNER])
    tree = psutil.Process(child.pid)
    try:
        wait_for(lambda: bool(_below(child.pid)), 10, "the child to start its own child", interval=0.05)
        assert child.pid in _children()
        assert _below(child.pid)  # the old /proc/self/task/*/children read listed the child only
    finally:
        for process in [*tree.children(recursive=True), tree]:  # this test's processes only
            process.kill()
        child.wait(10)
