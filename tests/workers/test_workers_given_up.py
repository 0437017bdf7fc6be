"""A delivery given up while the state Redis was away is redelivered as soon as the worker reconnects, not a
visibility timeout after it began (:mod:`workers.broker`).

Real processes: the state Redis with the compose options (its data survive the restart), a result cache, one
``tivcast worker``. The task waits the outage out only until its deadline (``soft_time_limit`` less a socket
timeout and a second: 4 s here), then gives its delivery up; its requeue cannot be done while Redis is away. The
visibility timeout is long (40 s) so that kombu's sweep, which restores a message only once it has been
unacknowledged that long, cannot be what brings it back within the assertion.
"""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path

from forecasting import ForecastInputs
from tests.services import CeleryWorker, RedisServer, unique_prefix, wait_for
from tests.workers.conftest import japan_forecast, settings_for, with_hook
from tests.workers.test_workers_failures import job_in, submit

LIMITS = {"TIVCAST_SOFT_TIME_LIMIT": "10", "TIVCAST_TIME_LIMIT": "12", "TIVCAST_VISIBILITY_TIMEOUT": "40",
          "TIVCAST_UNACKED_RESTORE_INTERVAL": "1"}


def test_a_delivery_given_up_during_an_outage_is_redelivered_when_the_worker_reconnects(
    tmp_path: Path, japan_inputs: ForecastInputs
) -> None:
    prefix = unique_prefix("givenup")
    spec = with_hook(japan_forecast(japan_inputs, horizon=2), sleep=2)  # its succeed comes after Redis went away
    with ExitStack() as stack:
        state = stack.enter_context(RedisServer.like_compose("redis"))
        cache = stack.enter_context(RedisServer.like_compose("redis-cache"))
        env = {**LIMITS, "TIVCAST_CACHE_REDIS_URL": cache.url()}
        worker = stack.enter_context(CeleryWorker(state.url(), prefix, env=env, log_dir=tmp_path))
        settings = settings_for(prefix, redis_url=state.url(), cache_redis_url=cache.url(), visibility_timeout=40,
                                soft_time_limit=10, time_limit=12, unacked_restore_interval=1)
        submit(settings, spec)
        first = job_in(settings, spec.key, ("running",), 30)
        state.shutdown()
        wait_for(lambda: "delivery given up" in worker.log.read_text(errors="replace"), 30, "the delivery to give up")
        state.start()
        done = job_in(settings, spec.key, ("succeeded", "failed"), 90)
        log = worker.log.read_text(errors="replace")
    assert first.started is not None and done.finished is not None
    # Its redelivery found the result on the cache (which stayed up) and marked the job done, or ran it again.
    assert (done.state, done.error) == ("succeeded", None), done
    # Settled well before the sweep could have restored the message (visibility_timeout after its delivery); it used
    # to wait for that sweep, the job reading "running" all along though nothing ran it.
    assert done.finished - first.started < settings.visibility_timeout - 5, (first, done)
    # Requeued by the worker's new channel (workers.broker): its success line, not the deferral's nor a failure's.
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]  # the worker logs JSON
    said = [record["message"] for record in records if record.get("logger") == "workers.broker"]
    assert any(re.fullmatch(r"message \S+ of a lost connection requeued", message) for message in said), said
