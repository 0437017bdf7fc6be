"""Real services for tests: a private redis-server and real Celery worker processes.

Shared by the worker and API tests. Nothing here is a fake: ``RedisServer``
runs the ``redis-server`` binary on a free port (for tests that stop or flush
Redis, which must never touch the machine's shared one), ``CeleryWorker`` runs
the worker command (``python -m workers.cli worker``, i.e. ``celery worker``
for ``workers.celery_app:app``) with the prefork pool.
Both are context managers and clean up after themselves, also on failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import redis
import yaml

from workers.scratch import root_for
from workers.settings import WorkerSettings

ROOT = Path(__file__).resolve().parent.parent
SHARED_REDIS_URL = os.environ.get("TIVCAST_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

# The API's Redis deadlines for tests about behaviour, not latency. The production deadline (0.25 s a call)
# once failed a TCP connect to the local Redis in CI, with two pytest processes and Celery pools fitting
# Prophet on two cores: the test then measured the machine's load, not the code. Tests about what happens
# when Redis stops or stalls keep the production values (PRODUCTION_DEADLINES); latency is bench/redis_outage.py.
BUSY_MACHINE_DEADLINES: Mapping[str, float] = {
    "redis_operation_timeout": 2.0, "redis_socket_timeout": 1.0, "redis_connect_timeout": 1.0}
# The same for an API started as a process (``tivcast serve``), through its environment.
BUSY_MACHINE_ENV: Mapping[str, str] = {f"TIVCAST_{name.upper()}": str(value)
                                       for name, value in BUSY_MACHINE_DEADLINES.items()}
PRODUCTION_DEADLINES: Mapping[str, float] = {
    name: WorkerSettings.model_fields[name].default for name in BUSY_MACHINE_DEADLINES}


def redis_settings(prefix: str, redis_url: str | None = SHARED_REDIS_URL, *,
                   deadlines: Mapping[str, float] = BUSY_MACHINE_DEADLINES, **overrides: Any) -> WorkerSettings:
    """Settings of one test: its own key prefix and queue, nothing read from the environment."""
    values: dict[str, Any] = {**deadlines, **overrides}
    return WorkerSettings(redis_url=redis_url, key_prefix=prefix, queue=prefix, **values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique_prefix(label: str = "t") -> str:
    """A key prefix (and queue name) that no other test or xdist process uses."""
    return f"tivcast-test-{label}-{uuid.uuid4().hex[:10]}"


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05) -> object:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def delete_prefix(url: str, prefix: str) -> None:
    """Remove every key under ``prefix`` (tivcast's keys and, through kombu's global prefix, Celery's)."""
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.ConnectionError:
        pass
    finally:
        client.close()


def compose_redis_options(service: str) -> list[str]:
    """The options docker-compose.yml gives ``redis-server`` in ``service`` (``redis``: the state instance)."""
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"][service]["command"]
    assert command[0] == "redis-server", command
    return [str(part) for part in command[1:]]


class RedisServer:
    """A private ``redis-server`` on a free port, without persistence unless told; stop and start keep the port.

    ``args`` are extra server options, e.g. ``("--maxmemory", "2mb", "--maxmemory-policy", "noeviction")``;
    they come last, so they override the defaults (``--save ""``, ``--appendonly no``). :meth:`like_compose`
    runs one with the options of a compose service (the state instance: append-only, ``noeviction``), whose data
    survive :meth:`restart` as they do in production.
    """

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.args = list(args)
        self.dir = Path(tempfile.mkdtemp(prefix="tivcast-redis-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @classmethod
    def like_compose(cls, service: str = "redis", *extra: str) -> RedisServer:
        return cls(*compose_redis_options(service), *extra)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=2)

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log"), *self.args]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self._pings, 10, f"redis-server on port {self.port}")

    def _pings(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Stop the server (its data is gone: nothing is saved)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def shutdown(self) -> None:
        """Stop the server cleanly (SIGTERM, as ``redis-cli shutdown`` or ``docker compose stop`` do): with the
        compose options what was accepted is on disk, and :meth:`start` brings it back (an outage, not a loss)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """A clean restart (SIGTERM, as ``docker compose restart`` sends): what is persisted comes back."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None
        self.start()

    def flush(self) -> None:
        client = self.client()
        client.flushall()
        client.close()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class CeleryWorker:
    """A real Celery worker process (``tivcast worker``: prefork, concurrency 1 unless told) in its own process group.

    ``env`` overrides the environment (``TIVCAST_*`` settings); the Redis URL,
    key prefix and queue are always set, and ``TIVCAST_TEST_HOOKS=1`` lets
    payloads ask for the slow and crashing test hooks of :mod:`workers.compute`.
    The worker's ``TMPDIR`` is a directory of this object's own, so its
    temporary root (:func:`workers.scratch.root_for`) can be inspected, and
    whatever a killed worker left there goes with it when the object closes
    (as does the log, unless it was written to ``log_dir``).
    """

    def __init__(self, redis_url: str, prefix: str, *, name: str = "w1", env: Mapping[str, str] | None = None,
                 log_dir: Path | None = None, tmp_base: Path | None = None, concurrency: int = 1) -> None:
        self.redis_url, self.prefix, self.concurrency = redis_url, prefix, concurrency
        self.hostname = f"{name}@{prefix}"
        self._owned = Path(tempfile.mkdtemp(prefix="tivcast-test-worker-"))
        self.tmp_base = tmp_base or self._owned
        self.env = {**os.environ, "TIVCAST_REDIS_URL": redis_url, "TIVCAST_KEY_PREFIX": prefix,
                    "TIVCAST_QUEUE": prefix, "TIVCAST_TEST_HOOKS": "1", "TMPDIR": str(self.tmp_base), **(env or {})}
        self.log = (log_dir or self._owned) / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def temp_root(self) -> Path:
        """The worker's own temporary root (see :mod:`workers.scratch`)."""
        return root_for(self.hostname, str(self.tmp_base))

    def close(self) -> None:
        """Stop the worker and remove what this object owns (its TMPDIR, and the log unless in ``log_dir``)."""
        self.stop()
        shutil.rmtree(self._owned, ignore_errors=True)

    def start(self, timeout: float = 60) -> Self:
        # The ``worker`` command of the tivcast CLI: prefork, -Q from TIVCAST_QUEUE.
        args = [sys.executable, "-m", "workers.cli", "worker", "--concurrency", str(self.concurrency),
                "--hostname", self.hostname, "--loglevel", "info"]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        try:
            wait_for(self._online, timeout, f"worker {self.hostname} to send its heartbeat", interval=0.1)
        except AssertionError:
            tail = self.log_tail()
            self.kill()
            self.close()
            raise AssertionError(f"worker did not start; log tail:\n{tail}") from None
        return self

    def _online(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process and self.process.returncode}:\n{self.log_tail()}")
        client = redis.Redis.from_url(self.redis_url, socket_timeout=2)
        try:
            return bool(client.exists(f"{self.prefix}:worker:{self.hostname}"))
        except redis.ConnectionError:
            return False
        finally:
            client.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def pid(self) -> int:
        assert self.process is not None, "worker not started"
        return self.process.pid

    def children(self) -> list[int]:
        """PIDs of the pool's child processes."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def kill_child(self) -> list[int]:
        """SIGKILL the prefork children (as the OOM killer would); the worker itself lives on."""
        pids = self.children()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def kill(self) -> None:
        """SIGKILL the whole worker, children included (a machine that died)."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15) -> None:
        """Warm shutdown (SIGTERM), then SIGKILL if it takes longer than ``timeout``."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> Self:
        return self.start() if self.process is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

