"""Browser tests of the dashboard: a real ``tivcast serve`` process and Debian's chromium driven by Playwright.

Nothing is mocked: the server is the ``serve`` command on a seeded SQLite copy (embedded mode, forecasts in
its process pool), or the same command in Redis mode pointed at a port where no Redis listens (so the
forecast routes answer a real 503). The browser is the system chromium (``apt-get install chromium``;
``TIVCAST_TEST_CHROMIUM`` overrides the path), never a browser downloaded by Playwright.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from tests.conftest import Databases
from tests.services import ROOT, free_port

ARTEFACTS = ROOT / "bench" / "out"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Server:
    """``python -m api.cli serve`` on a free port, in its own process group (its forecast pool included)."""

    def __init__(self, database_url: str, workdir: Path, *, redis_url: str | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("TIVCAST_")}
        env.update(TIVCAST_DATABASE_URL=database_url, TIVCAST_WARM_ON_START="false")
        if redis_url is not None:
            env["TIVCAST_REDIS_URL"] = redis_url
        env.update(extra_env or {})
        self.env, self.workdir = env, workdir
        args = [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait_ready(60)

    def cli(self, *args: str) -> str:
        """Run another ``tivcast`` command on this server's database (e.g. ``ingest``); its output."""
        done = subprocess.run([sys.executable, "-m", "api.cli", *args], env=self.env, cwd=self.workdir,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, f"tivcast {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"tivcast serve exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base}/v1/scenarios", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"tivcast serve did not answer within {timeout} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """A plain HTTP GET: status, headers (lower-case names) and body; 3xx/4xx are answers, not errors."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def get_json(url: str) -> object:
    return json.loads(get(url)[2])


@pytest.fixture(scope="session")
def chromium() -> str:
    path = os.environ.get("TIVCAST_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("the dashboard tests need Debian's chromium: apt-get install -y chromium "
                    "(scripts/test.sh installs it), or set TIVCAST_TEST_CHROMIUM")
    return path


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    """Module-scoped on purpose: the sync API keeps an asyncio loop running in this thread until it stops,
    and later tests on the same xdist worker call ``asyncio.run``."""
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (empty cache) per test, at a desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Embedded mode on a fresh seeded database: nothing computed until the page asks for it."""
    workdir = tmp_path_factory.mktemp("dashboard")
    running = Server(Databases("sqlite", workdir).copy(), workdir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def outage_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Redis mode with no Redis listening: the data routes work, the forecast routes answer 503."""
    workdir = tmp_path_factory.mktemp("dashboard-outage")
    # A short circuit-breaker reset keeps Retry-After at about 1 s, so that the page's own back-off shows.
    running = Server(Databases("sqlite", workdir).copy(), workdir, redis_url=f"redis://127.0.0.1:{free_port()}/0",
                     extra_env={"TIVCAST_BREAKER_RESET_SECONDS": "1"})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Where the screenshots of a test run go (git-ignored)."""
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
