"""A consumer that waits on the broker is alive: its heartbeat goes on through one connection attempt that takes its
full socket timeout, and through the pause after a refused write (:mod:`workers.liveness`).

The attempt is a real one: the worker's consumer (:class:`workers.consumer.Consumer`) reconnects with the worker's
own transport and settings to a real ``redis-server`` that accepts connections and answers nothing (``CLIENT PAUSE
ALL``, a Redis that hangs), so each attempt waits ``broker_socket_timeout``. The heartbeat's own decision
(:meth:`workers.runtime.Heartbeat.consumer_alive`) is taken at the last instant before each proof of progress,
when the consumer's silence is longest.
"""

from __future__ import annotations

import pytest
import redis
from kombu.exceptions import OperationalError

from tests.services import RedisServer, unique_prefix
from tests.workers.conftest import settings_for
from workers import consumer as consumer_module
from workers import liveness
from workers.celery_app import make_celery
from workers.consumer import Consumer
from workers.runtime import Heartbeat
from workers.settings import WorkerSettings


def judged_at_each_mark(monkeypatch: pytest.MonkeyPatch, settings: WorkerSettings) -> list[tuple[float, bool]]:
    """``(silence, beating)`` just before every mark of the consumer, as the heartbeat would judge it then."""
    beat = Heartbeat(settings, "w@liveness")  # never connects: consumer_alive does not touch Redis
    exits: list[float] = []
    monkeypatch.setattr(beat, "exit_stalled", exits.append)  # os._exit(70) would end the test run
    monkeypatch.setattr(liveness, "_shutdown_since", None)
    monkeypatch.setattr(consumer_module, "get_worker_settings", lambda: settings)
    real_mark = liveness.mark
    real_mark()
    verdicts: list[tuple[float, bool]] = []

    def mark() -> None:
        verdicts.append((liveness.silent_for(), beat.consumer_alive() and not exits))
        real_mark()

    monkeypatch.setattr(liveness, "mark", mark)
    return verdicts


def test_the_heartbeat_goes_on_through_a_reconnect_attempt_that_takes_its_full_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with RedisServer() as server:
        settings = settings_for(unique_prefix("liveness"), server.url())  # the production broker timeouts (5 s)
        app = make_celery(settings)
        app.conf.broker_connection_max_retries = 1  # two attempts (0 would retry forever), then the test ends
        consumer = Consumer.__new__(Consumer)  # only what ensure_connected reads: no worker around it
        consumer.app, consumer.first_connection_attempt, consumer.broker_connection_retry_attempt = app, False, 0
        verdicts = judged_at_each_mark(monkeypatch, settings)
        server.client().client_pause(60_000, all=True)  # connections are accepted, nothing is answered
        connection = app.connection_for_read()
        try:
            with pytest.raises((OperationalError, redis.exceptions.TimeoutError)):  # it gave up
                consumer.ensure_connected(connection)
        finally:
            connection.release()  # the server is killed paused (an unpause would wait behind the pause)
    longest = max(silence for silence, _ in verdicts)
    # The attempts did wait their full timeout (after kombu's second of wait, in the later ones) ...
    assert longest >= settings.broker_socket_timeout, verdicts
    # ... and the heartbeat never stopped: the consumer was alive all along (with a liveness window equal to the
    # socket timeout, the check right after the first attempt already said "not beating").
    assert all(beating for _, beating in verdicts), verdicts


def test_the_pause_after_a_refused_write_marks_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = WorkerSettings(redis_url="redis://127.0.0.1:1/0", broker_reconnect_interval=2.5)
    verdicts = judged_at_each_mark(monkeypatch, settings)
    Consumer._pause_if_refused(redis.exceptions.OutOfMemoryError("OOM command not allowed"))
    # A mark every second of the pause (it used to sleep in one piece: a broker_reconnect_interval of up to 30 s
    # outlasted the liveness window and the stall allowance alike).
    assert len(verdicts) >= 3, verdicts
    assert all(beating for _, beating in verdicts), verdicts
