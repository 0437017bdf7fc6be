"""A worker outlives a long Redis outage and comes back on its own, on a fixed reconnect schedule.

A real worker on a private redis-server; Redis is stopped for 60 s (longer than Celery's own reconnect
waits, which grow to 30 s) and started again, empty. The worker keeps retrying every
``broker_reconnect_interval`` (1 s) for the whole outage, as its log announces, so it is consuming when
Redis returns: the first job submitted afterwards is run by it. How soon after Redis returns it consumes
is measured by ``bench/redis_outage.py --worker-outage 60``.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from pathlib import Path

from forecasting import ForecastInputs
from tests.services import CeleryWorker, RedisServer, unique_prefix
from tests.workers.conftest import japan_forecast, run, settings_for
from tests.workers.test_workers_failures import wait_settled
from workers.client import RedisService, Unavailable
from workers.jobs import Job

OUTAGE_SECONDS = 60
RETRY = re.compile(r"Trying again in ([\d.]+) seconds?")


def announced_retries(log: Path) -> list[float]:
    """The waits the worker's consumer announced before each reconnect attempt, in seconds."""
    waits = []
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and "Cannot connect" in line:
            match = RETRY.search(json.loads(line)["message"])
            if match:
                waits.append(float(match.group(1)))
    return waits


def test_after_a_60_s_outage_the_worker_consumes_again(tmp_path: Path, japan_inputs: ForecastInputs) -> None:
    spec = japan_forecast(japan_inputs, "liberalisation", horizon=2)
    with RedisServer() as server:
        prefix = unique_prefix("reconnect")
        settings = settings_for(prefix, redis_url=server.url(), breaker_reset_seconds=1.0)
        with CeleryWorker(server.url(), prefix, log_dir=tmp_path) as worker:
            server.stop()
            time.sleep(OUTAGE_SECONDS)
            server.start()  # back, and empty

            async def scenario() -> Job:
                service = RedisService(settings)
                try:
                    deadline = time.monotonic() + 10
                    while True:
                        try:
                            await service.submit(spec)
                            break
                        except Unavailable:  # the API's breaker lets a trial through after a second
                            assert time.monotonic() < deadline, "the API never reached Redis again"
                            await asyncio.sleep(0.2)
                    return await wait_settled(service, spec.key, timeout=60)
                finally:
                    await service.aclose()

            done = run(scenario())
            assert worker.process is not None and worker.process.poll() is None  # it never gave up

        assert (done.state, done.attempts, done.worker) == ("succeeded", 1, worker.hostname)
        waits = announced_retries(worker.log)
        # Attempts all through the outage, each announced at the fixed interval (Celery's own grow to 30 s).
        assert len(waits) >= OUTAGE_SECONDS // 3, waits
        assert set(waits) == {1.0}, waits
