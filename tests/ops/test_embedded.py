"""Probes, metrics and request ids of an API in embedded mode (SQLite or PostgreSQL, no Redis)."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import psutil
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.settings import Settings
from tests.ops.conftest import JsonLog, capture_log, drop_database
from tests.services import ROOT, free_port
from workers.logs import JsonFormatter, bind, reset
from workers.settings import WorkerSettings

OBSERVATIONS = "/v1/datasets/arms-exports/observations"


def scrape(client: TestClient) -> Samples:
    """Every sample of ``/metrics``, by name and labels."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('ops') / 'embedded.db'}"  # built by the app: migrations + seed
    with TestClient(create_app(Settings(database_url=url, warm_on_start=False), WorkerSettings(redis_url=None))) as c:
        yield c


class TestHealthz:
    def test_the_process_answers(self, embedded: TestClient) -> None:
        response = embedded.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert response.headers["cache-control"] == "no-store"


class TestReadyz:
    def test_embedded_mode_is_ready_with_each_component_reported(self, embedded: TestClient) -> None:
        response = embedded.get("/readyz")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "ready" and body["mode"] == "embedded"
        checks = body["checks"]
        assert checks["database"]["status"] == "ok"
        assert checks["redis"]["status"] == "embedded"
        assert checks["workers"] == {"status": "embedded", "online": 1, "latency_ms": checks["workers"]["latency_ms"]}
        assert all(check["latency_ms"] >= 0 for check in checks.values())

    @pytest.mark.postgres
    def test_a_lost_database_is_503_naming_the_database(self, empty_postgres: Callable[[], str]) -> None:
        url = empty_postgres()
        app = create_app(Settings(database_url=url, warm_on_start=False), WorkerSettings(redis_url=None))
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
            drop_database(url)
            response = client.get("/readyz")
            assert client.get("/healthz").status_code == 200  # alive, not ready
        assert response.status_code == 503, response.text
        assert int(response.headers["retry-after"]) > 0
        checks = response.json()["checks"]
        assert checks["database"]["status"] == "fail" and checks["database"]["error"]
        assert checks["redis"]["status"] == "embedded"


class TestMetrics:
    def test_requests_are_counted_by_route_template_and_status(self, embedded: TestClient) -> None:
        before = scrape(embedded)
        for _ in range(2):
            assert embedded.get("/v1/countries/JPN").status_code == 200
        assert embedded.get("/v1/countries/ZZZ").status_code == 404
        assert embedded.get("/no/such/path").status_code == 404
        after = scrape(embedded)
        template = "/v1/countries/{code}"
        requests = "tivcast_http_requests_total"
        assert delta(before, after, requests, method="GET", route=template, status="200") == 2
        assert delta(before, after, requests, method="GET", route=template, status="404") == 1
        assert delta(before, after, requests, method="GET", route="unmatched", status="404") == 1
        count = "tivcast_http_request_duration_seconds_count"
        assert delta(before, after, count, method="GET", route=template) == 3
        assert not any("JPN" in dict(labels).get("route", "") or "/no/such" in dict(labels).get("route", "")
                       for _, labels in after), "a raw path became a label"

    def test_answers_from_the_fast_path_are_counted_under_their_route(self, embedded: TestClient) -> None:
        params = {"country": "KOR", "mrv": 3}
        first = embedded.get(OBSERVATIONS, params=params)
        before = scrape(embedded)
        again = embedded.get(OBSERVATIONS, params=params)  # replayed before routing (api.web.cache.FastPath)
        revalidated = embedded.get(OBSERVATIONS, params=params, headers={"If-None-Match": first.headers["etag"]})
        after = scrape(embedded)
        assert again.content == first.content and revalidated.status_code == 304
        route = "/v1/datasets/{dataset_id}/observations"
        for status in ("200", "304"):
            assert delta(before, after, "tivcast_http_requests_total", method="GET", route=route, status=status) == 1

    def test_the_forecast_service_series_are_there(self, embedded: TestClient) -> None:
        samples = scrape(embedded)
        assert value(samples, "tivcast_forecast_service_up", mode="embedded") == 1
        assert value(samples, "tivcast_workers_online") == 1
        assert ("tivcast_queue_depth", (("queue", "tivcast"),)) in samples
        lookups = {key for key in samples if key[0] == "tivcast_result_cache_lookups_total"}
        assert lookups, "the result cache series are exported"

    def test_a_result_lookup_in_memory_is_counted(self, embedded: TestClient) -> None:
        before = scrape(embedded)
        assert embedded.get("/v1/forecasts/" + "0" * 64).status_code == 404
        after = scrape(embedded)
        assert delta(before, after, "tivcast_result_cache_lookups_total", layer="memory", result="miss") == 1

    def test_several_processes_report_one_sum(self, tmp_path: Path) -> None:
        """``tivcast serve --workers N``: each process counts in PROMETHEUS_MULTIPROC_DIR; any one reports all."""
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
        count = "from api.operations.metrics import REQUESTS; REQUESTS.labels('GET', '/probe', '200').inc()"
        report = (
            "from prometheus_client import generate_latest; from api.operations.metrics import _process_registry; "
            "print(generate_latest(_process_registry()).decode())"
        )
        for code in (count, count + "; " + report):
            result = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                                    timeout=60)
            assert result.returncode == 0, result.stderr
        assert 'tivcast_http_requests_total{method="GET",route="/probe",status="200"} 2.0' in result.stdout


class TestRequestIds:
    def test_a_valid_request_id_is_kept_and_echoed(self, embedded: TestClient, access_log: JsonLog) -> None:
        response = embedded.get("/v1/countries/JPN", headers={"X-Request-ID": "dash-7f3a:poll.12"})
        assert response.headers["x-request-id"] == "dash-7f3a:poll.12"
        [line] = [line for line in access_log.lines() if line["request_id"] == "dash-7f3a:poll.12"]
        assert line["logger"] == "tivcast.access" and line["level"] == "INFO"
        assert line["route"] == "/v1/countries/{code}" and line["status"] == 200 and line["method"] == "GET"
        assert line["duration_ms"] >= 0 and line["timestamp"].endswith("+00:00")

    @pytest.mark.parametrize("sent", [b"x" * 129, b"bad id", b"<script>", "\u00e9".encode(), b""])
    def test_an_unusable_request_id_is_replaced(self, embedded: TestClient, sent: bytes) -> None:
        response = embedded.get("/healthz", headers={"X-Request-ID": sent})
        echoed = response.headers["x-request-id"]
        assert echoed.encode() != sent and len(echoed) == 32 and int(echoed, 16) >= 0

    def test_every_request_gets_its_own_id(self, embedded: TestClient) -> None:
        ids = {embedded.get("/healthz").headers["x-request-id"] for _ in range(3)}
        assert len(ids) == 3

    def test_bodies_and_query_strings_stay_out_of_the_log(self, embedded: TestClient, access_log: JsonLog) -> None:
        embedded.post("/v1/forecasts", json={"target": {"country": "JPN"}, "scenario": {"name": "s3cr3t-body"}})
        embedded.get(OBSERVATIONS, params={"country": "JPN", "release": "s3cr3t-query"})
        assert access_log.lines(), "the requests were logged"
        assert "s3cr3t" not in access_log.text()

    def test_a_500_carries_its_request_id_and_so_does_the_error_log(self, tmp_path: Path) -> None:
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'boom.db'}", warm_on_start=False, seed_on_start=False)
        app = create_app(settings, WorkerSettings(redis_url=None))

        @app.get("/boom")
        async def boom() -> None:
            raise RuntimeError("a bug")

        with capture_log("api.errors") as errors, TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/boom", headers={"X-Request-ID": "boom-1"})
            samples = scrape(client)
        assert response.status_code == 500 and response.headers["x-request-id"] == "boom-1"
        assert [line["request_id"] for line in errors.lines() if "RuntimeError" in line.get("exception", "")] == [
            "boom-1"
        ]
        assert value(samples, "tivcast_http_requests_total", method="GET", route="/boom", status="500") == 1

    def test_probes_are_not_access_logged(self, embedded: TestClient, access_log: JsonLog) -> None:
        for path in ("/healthz", "/readyz", "/metrics"):
            embedded.get(path)
        assert access_log.lines() == []


class TestJsonFormatter:
    def test_a_record_is_one_json_line_with_bound_and_extra_fields(self) -> None:
        record = logging.LogRecord("tivcast.test", logging.WARNING, __file__, 1, "job %s: %d", ("k", 3), None)
        record.outcome = "failed"
        token = bind(request_id="r-1")
        try:
            line = JsonFormatter().format(record)
        finally:
            reset(token)
        assert "\n" not in line
        document = json.loads(line)
        assert document == {
            "timestamp": document["timestamp"],
            "level": "WARNING",
            "logger": "tivcast.test",
            "message": "job k: 3",
            "request_id": "r-1",
            "outcome": "failed",
        }

    def test_an_exception_is_kept_in_the_line(self) -> None:
        try:
            raise ValueError("boom")
        except ValueError:
            record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
        document = json.loads(JsonFormatter().format(record))
        assert "ValueError: boom" in document["exception"] and "request_id" not in document


class TestServe:
    def test_several_processes_without_redis_are_refused(self, tmp_path: Path) -> None:
        """Embedded mode keeps a job in the process that accepted it: behind ``--workers 2`` a client polling the
        202's job URL would reach the other process and get a 404, so the command refuses to start."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIVCAST_")}
        env["TIVCAST_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
        result = subprocess.run([sys.executable, "-m", "api.cli", "serve", "--workers", "2", "--port", "0"], env=env,
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "--workers 2 needs TIVCAST_REDIS_URL" in result.stderr
        assert not (tmp_path / "serve.db").exists()  # refused before anything started

    def test_each_response_has_one_date_exact_to_the_second(self, tmp_path: Path) -> None:
        """The app sends ``Date`` (uvicorn's own lags the clock by up to a second, so right after a release change
        Last-Modified would be later than Date, RFC 9110 8.8.2.1): one header, the second the response was sent."""
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIVCAST_")}
        env.update(TIVCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", TIVCAST_WARM_ON_START="false")
        args = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
        log = tmp_path / "serve.log"
        with log.open("wb") as out:
            server = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/v1/datasets/arms-exports"
            wait_until_served(server, url, log)
            for _ in range(12):  # over a second: uvicorn's Date, formatted every tenth tick of 0.1 s, lags in most
                before = math.floor(time.time())
                with urllib.request.urlopen(url, timeout=10) as response:
                    dates = response.headers.get_all("Date")
                after = time.time()
                assert dates is not None and len(dates) == 1, dates
                sent = parsedate_to_datetime(dates[0]).timestamp()
                assert before <= sent <= after, (dates[0], before, after)
                assert parsedate_to_datetime(response.headers["Last-Modified"]).timestamp() <= sent
                time.sleep(0.1)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


class TestKilledEmbeddedApi:
    def test_its_pool_process_exits_and_the_next_start_removes_its_files(self, tmp_path: Path) -> None:
        """``kill -9`` of an embedded API: its pool process, which would wait for work for ever, exits by itself,
        and the next start removes the API's temporary root (``$TMPDIR/tivcast-embedded-<pid>-<n>``), as it does any
        root whose process is gone; a root whose process is alive is left alone."""
        tmp = tmp_path / "tmp"
        tmp.mkdir()
        ended = subprocess.Popen([sys.executable, "-c", "pass"])
        ended.wait()
        gone = tmp / f"tivcast-embedded-{ended.pid}-1"  # a root whose API was killed before this test
        (gone / "child-1").mkdir(parents=True)
        (gone / "child-1" / "prophet_model-output.csv").write_text("lp__\n")
        alive = tmp / f"tivcast-embedded-{os.getpid()}-1"  # this process is alive: its root stays
        alive.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIVCAST_")}
        env.update(TIVCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'serve.db'}", TIVCAST_WARM_ON_START="false",
                   TMPDIR=str(tmp))
        first = self.serve(env, tmp_path, "first")
        try:
            assert not gone.exists() and alive.exists()  # swept at start
            body = json.dumps({"target": {"country": "KOR"}, "horizon": 2}).encode()
            request = urllib.request.Request(f"{self.base}/v1/forecasts", data=body,
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status in (200, 202)
            deadline = time.monotonic() + 60
            while not list(tmp.glob(f"tivcast-embedded-{first.pid}-*/child-*")) and time.monotonic() < deadline:
                time.sleep(0.1)
            [child_dir] = list(tmp.glob(f"tivcast-embedded-{first.pid}-*/child-*"))
            root = child_dir.parent
            child = int(child_dir.name.removeprefix("child-"))
            assert psutil.Process(child).ppid() == first.pid
        finally:
            first.kill()  # SIGKILL to the API alone, not its process group: no shutdown runs
            first.wait(timeout=30)
        deadline = time.monotonic() + 10
        while running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(child), "the killed API's pool process is still running"
        assert root.exists()  # nothing ran to remove it ...
        second = self.serve(env, tmp_path, "second")
        try:
            assert not root.exists()  # ... until the next start
            assert alive.exists()  # the second root is made with its first job: none has run
            assert all(p.name.startswith(f"tivcast-embedded-{second.pid}-") for p in set(tmp.iterdir()) - {alive})
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=30)
        alive.rmdir()
        assert list(tmp.iterdir()) == []  # a clean stop removes its own root

    def serve(self, env: dict[str, str], cwd: Path, name: str) -> subprocess.Popen[bytes]:
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        log = cwd / f"{name}.log"
        with log.open("wb") as out:
            server = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env,
                                      cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_served(server, f"{self.base}/healthz", log)
        return server


def running(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie is not: it has exited, and PID 1 here may not reap it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def wait_until_served(server: subprocess.Popen[bytes], url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"tivcast serve exited with {server.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"tivcast serve did not answer {url} within {timeout} s")
