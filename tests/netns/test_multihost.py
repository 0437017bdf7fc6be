"""The production stack across hosts, rehearsed with network namespaces on this machine (we are root).

Each "host" is a network namespace joined to the others by a veth pair to a bridge in a switch namespace
(nothing is added to the machine's own network): ``data`` runs Redis and a PostgreSQL of its own, ``api1``
and ``api2`` each run ``tivcast serve``, ``hostA`` and later ``hostB`` run ``tivcast worker``, ``beat`` runs
``tivcast beat``, and ``client`` sends the requests (curl). No service shares a loopback address with
another, each process runs in an empty working directory with a temporary directory of its own, and the
worker has no database URL at all: the job's data travel in its payload.

It shows: a forecast end to end through an API's address; the worker's host dies (its network first, then its
processes and its namespace) and a worker on another host takes over, beat republishing a job whose message
went to the dead host; the two API processes behind the same Redis serve the same keys, the same latest URL
(ETag and 304) and share the rate-limit counters; and the API ran no process pool and neither process wrote a
file into its working directory.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.services import BUSY_MACHINE_ENV, ROOT, wait_for

PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
JAPAN = {"target": {"country": "JPN", "measure": "share"}, "scenario": "baseline", "horizon": 3}
RATE_LIMIT = 6  # POST /v1/forecasts per minute and client, counted in Redis


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


@dataclass
class Network:
    """Namespaces on one bridge (in a namespace of its own); everything is removed by :meth:`close`."""

    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    subnet: str = field(default_factory=lambda: f"10.{random.randint(100, 250)}.{random.randint(0, 255)}")
    hosts: dict[str, str] = field(default_factory=dict)  # name -> address
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    added: int = 0  # hosts ever added (addresses and switch ports are never reused)
    namespaces: list[str] = field(default_factory=list)  # every namespace made, removed by close()

    @property
    def switch(self) -> str:
        return f"tvc{self.tag}-sw"

    def ns(self, name: str) -> str:
        return f"tvc{self.tag}-{name}"

    def open(self) -> None:
        self.namespaces.append(self.switch)
        sh("ip", "netns", "add", self.switch)
        sh("ip", "-n", self.switch, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name: str) -> str:
        self.added += 1
        index = self.added
        ns, port = self.ns(name), f"p{index}"
        self.namespaces.append(ns)
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", self.switch, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "-n", self.switch, "link", "set", port, "master", "br0", "up")
        address = f"{self.subnet}.{index}"
        sh("ip", "-n", ns, "addr", "add", f"{address}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        self.hosts[name] = address
        return address

    def start(self, host: str, args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
              log: Path | None = None) -> subprocess.Popen[bytes]:
        with log.open("ab") if log else open(os.devnull, "wb") as out:
            process = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *args], env=env, cwd=cwd, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def run(self, host: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.ns(host), *args], capture_output=True, text=True)

    def kill_host(self, name: str) -> None:
        """The machine dies as a machine does: its network goes first, so no connection of its processes is closed
        (Redis still holds the dead worker's connection, blocked on the queue: a job published in the next second
        is handed to it and lost with it), then every process in it, then its namespace."""
        sh("ip", "-n", self.ns(name), "link", "set", "eth0", "down")
        for pid in sh("ip", "netns", "pids", self.ns(name)).split():
            os.kill(int(pid), signal.SIGKILL)
        sh("ip", "netns", "del", self.ns(name))
        del self.hosts[name]

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
        for ns in reversed(self.namespaces):
            for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
                os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Client:
    """HTTP from the ``client`` host, with curl."""

    def __init__(self, net: Network, workdir: Path) -> None:
        self.net, self.workdir = net, workdir

    def request(self, url: str, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
                ) -> Response:
        out, head = self.workdir / "body", self.workdir / "head"
        args = ["curl", "-s", "-X", method, "-o", str(out), "-D", str(head), "--max-time", "10", url]
        for name, value in (headers or {}).items():
            args += ["-H", f"{name}: {value}"]
        if body is not None:
            args += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
        result = self.net.run("client", *args)
        if result.returncode != 0:
            return Response(0, {}, result.stderr.encode())
        lines = head.read_text().splitlines()
        status = int(lines[0].split()[1])
        parsed = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return Response(status, {k.lower(): v for k, v in parsed.items()}, out.read_bytes())


def settle(client: Client, api: str, key: str, timeout: float = 90) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = client.request(f"{api}/v1/jobs/{key}")
        assert job.status == 200, job.body
        return job.json() if job.json()["state"] in ("succeeded", "failed") else None

    found = wait_for(done, timeout, f"job {key}", interval=0.3)
    assert isinstance(found, dict)
    return found


@pytest.fixture
def net() -> Iterator[Network]:
    if os.geteuid() != 0 or shutil.which("ip") is None or PG_BIN is None:
        pytest.fail("this rehearsal needs root, iproute2 and PostgreSQL's server binaries")
    network = Network()
    try:
        network.open()
        yield network
    finally:
        network.close()


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="tivcast-netns-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def empty_dir(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir()
    return path


def test_the_stack_across_hosts(net: Network, workdir: Path) -> None:
    assert PG_BIN is not None
    data = net.add_host("data")
    for name in ("api1", "api2", "hostA", "beat", "client"):
        net.add_host(name)
    logs = empty_dir(workdir, "logs")

    # Host "data": Redis and PostgreSQL, listening on its own address only.
    # (The redis:7 image of docker-compose.yml runs with protected mode off, as here: the network is private.)
    net.start("data", ["redis-server", "--bind", data, "--port", "6379", "--protected-mode", "no", "--save", "",
                       "--appendonly", "no",
                       "--dir", str(empty_dir(workdir, "redis"))], log=logs / "redis.log")
    pgdata = empty_dir(workdir, "pg")
    shutil.chown(pgdata, "postgres", "postgres")
    sh("runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(pgdata / "data"), "-A", "trust",
       "-U", "postgres", "--no-sync")
    with (pgdata / "data" / "pg_hba.conf").open("a") as hba:  # the other hosts, as a private network would
        hba.write(f"host all all {net.subnet}.0/24 trust\n")
    net.start("data", ["runuser", "-u", "postgres", "--", str(PG_BIN / "postgres"), "-D", str(pgdata / "data"),
                       "-h", data, "-p", "5432", "-k", str(pgdata), "-c", "fsync=off"], log=logs / "pg.log")
    wait_for(lambda: net.run("data", str(PG_BIN / "pg_isready"), "-h", data, "-q").returncode == 0, 30,
             "PostgreSQL on the data host")
    created = net.run("data", str(PG_BIN / "createdb"), "-h", data, "-U", "postgres", "tivcast")
    assert created.returncode == 0, created.stderr

    # Every process shares the job bounds, shorter than production's so that a lost message is found within the
    # test (a job unclaimed 28 + 2 x 1 s with the queue empty has lost it; beat looks every 15 s).
    bounds = {"TIVCAST_SOFT_TIME_LIMIT": "20", "TIVCAST_TIME_LIMIT": "25", "TIVCAST_VISIBILITY_TIMEOUT": "28",
              "TIVCAST_UNACKED_RESTORE_INTERVAL": "1"}
    base_env = {**{k: v for k, v in os.environ.items() if not k.startswith("TIVCAST_")}, **bounds}
    redis_url = f"redis://{data}:6379/0"
    api_env = {**base_env, "TIVCAST_REDIS_URL": redis_url, "TIVCAST_WARM_ON_START": "false",
               "TIVCAST_DATABASE_URL": f"postgresql+psycopg://postgres@{data}:5432/tivcast",
               "TIVCAST_RATE_LIMIT": f"{RATE_LIMIT}/minute", "PYTHONPATH": str(ROOT), **BUSY_MACHINE_ENV}
    worker_env = {**base_env, "TIVCAST_REDIS_URL": redis_url, "PYTHONPATH": str(ROOT)}  # no database at all
    python = sys.executable
    cwds = {}
    apis = {}
    for name in ("api1", "api2"):
        cwds[name] = empty_dir(workdir, f"cwd-{name}")
        address = net.hosts[name]
        env = {**api_env, "TMPDIR": str(empty_dir(workdir, f"tmp-{name}"))}
        process = net.start(name, [python, "-m", "api.cli", "serve", "--host", address, "--port", "8000"],
                            env=env, cwd=cwds[name], log=logs / f"{name}.log")
        apis[name] = (f"http://{address}:8000", process)
    client = Client(net, empty_dir(workdir, "client"))
    for name, (api, _) in apis.items():
        wait_for(lambda api=api: client.request(f"{api}/healthz").status == 200, 90, f"{name} to answer")

    def start_worker(host: str) -> subprocess.Popen[bytes]:
        cwds[host] = empty_dir(workdir, f"cwd-{host}")
        env = {**worker_env, "TMPDIR": str(empty_dir(workdir, f"tmp-{host}"))}
        return net.start(host, [python, "-m", "workers.cli", "worker", "--concurrency", "1",
                                "--hostname", f"w@{host}"], env=env, cwd=cwds[host], log=logs / f"{host}.log")

    (api1, api1_process), (api2, _) = apis["api1"], apis["api2"]
    # Beat on a host of its own, as in docker-compose.yml: its reconcile sweep publishes again a job whose message
    # was lost (here: handed to the dead host's connection).
    beat_dir = empty_dir(workdir, "beat")
    net.start("beat", [python, "-m", "workers.cli", "beat", "--schedule", str(beat_dir / "celerybeat-schedule")],
              env={**worker_env, "TMPDIR": str(empty_dir(workdir, "tmp-beat"))}, cwd=beat_dir, log=logs / "beat.log")
    start_worker("hostA")
    wait_for(lambda: client.request(f"{api1}/readyz").status == 200, 90, "api1 ready with a worker online")

    # A forecast end to end through api1's address, computed on hostA.
    posted = client.request(f"{api1}/v1/forecasts", "POST", JAPAN)
    assert posted.status == 202, posted.body
    key = posted.json()["key"]
    done = settle(client, api1, key)
    assert done["state"] == "succeeded", done
    body = client.request(f"{api1}/v1/forecasts/{key}")
    assert body.status == 200 and body.json()["key"] == key

    # The same key on the other API process: same job, same bytes.
    again = client.request(f"{api2}/v1/forecasts", "POST", JAPAN)
    assert (again.status, again.json()["key"]) == (200, key)
    assert client.request(f"{api2}/v1/forecasts/{key}").body == body.body

    # hostA dies; a job submitted at once waits, and a worker on hostB computes it: at once if its message is on
    # the queue, or once beat's reconcile has published it again if it went to hostA's dead connection.
    net.kill_host("hostA")
    waiting = client.request(f"{api2}/v1/forecasts", "POST", {**JAPAN, "scenario": "restriction"})
    assert waiting.status == 202, waiting.body
    net.add_host("hostB")
    start_worker("hostB")
    finished = settle(client, api2, waiting.json()["key"], timeout=150)
    assert finished["state"] == "succeeded", finished
    assert client.request(f"{api1}/v1/jobs/{waiting.json()['key']}").json()["state"] == "succeeded"

    # The latest URL: computed through one API, the same key, ETag and 304 through the other.
    latest = "/v1/forecasts/latest?country=JPN&scenario=liberalisation"
    first = client.request(f"{api1}{latest}")
    if first.status == 202:
        settle(client, api1, first.json()["key"])
        first = client.request(f"{api1}{latest}")
    assert first.status == 200, first.body
    second = client.request(f"{api2}{latest}")
    assert second.status == 200, (second.status, second.headers, second.body[:300])
    assert "etag" in first.headers and "etag" in second.headers, (first.headers, second.headers)
    assert (second.headers["etag"], second.body) == (first.headers["etag"], first.body)
    revalidated = client.request(f"{api2}{latest}", headers={"If-None-Match": first.headers["etag"]})
    assert revalidated.status == 304

    # One rate-limit budget for the client across both API processes (3 POSTs were made above).
    statuses = []
    for i in range(2 * RATE_LIMIT):
        response = client.request(f"{(api1, api2)[i % 2]}/v1/forecasts", "POST", {**JAPAN, "horizon": 4})
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["retry-after"]) >= 1
    allowed = RATE_LIMIT - 3
    assert 429 not in statuses[:allowed] and set(statuses[allowed:]) == {429}, statuses

    # Nothing on the production path assumed one host: no process pool beside the API, no local files.
    children = Path(f"/proc/{api1_process.pid}/task/{api1_process.pid}/children").read_text().split()
    assert children == [], f"api1 runs child processes: {children}"
    for name, cwd in cwds.items():
        assert list(cwd.iterdir()) == [], f"{name} wrote into its working directory"
