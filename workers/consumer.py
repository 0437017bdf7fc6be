"""The worker's Celery consumer: a constant reconnect interval, and a refused write is an outage, not an exit.

Named by ``worker_consumer``; only the worker imports this module (by name, from the Celery setting), never the API.

* Celery's consumer reconnects to a lost broker through kombu's
  ``ensure_connection`` with its defaults: waits of 2, 4, 6, ... up to 30 s,
  which Celery gives no setting for. After a 45 s outage the next attempt came
  12-14 s after Redis was back. This consumer retries every
  ``broker_reconnect_interval`` seconds (1 s) for as long as the outage lasts,
  so a worker consumes again within about that long of Redis returning, and
  the attempts stay cheap (a refused connection fails at once; a silent network
  within ``broker_socket_timeout``).
* A lost connection leaves its unacknowledged messages where they are
  (kombu restores them after the visibility timeout), instead of pushing
  them back while its tasks still run.
* A write Redis refuses (``OutOfMemoryError`` past ``maxmemory``, ``READONLY``
  on a replica) is a ``ResponseError``: a *channel* error to kombu, which
  Celery treats as unrecoverable unless ``broker_channel_error_retry`` is on,
  and then the worker exited (``CRITICAL Unrecoverable error:
  OutOfMemoryError`` from kombu's unacked-restore lock, its ``ZADD
  unacked_index`` or its ack). With that setting on (:mod:`workers.celery_app`)
  the consumer restarts instead, and this one waits ``broker_reconnect_interval``
  before it does (Celery's own guard only slows it after 5 restarts a second),
  for as long as Redis keeps refusing. A message taken off the queue whose
  unacked record was refused is lost to the broker; its job is requeued by beat's
  reconcile sweep or the next submission (:data:`workers.jobs.SUBMIT`, ``stale_queued_seconds``).
* The consumer proves it is alive (:mod:`workers.liveness`): a timer of its event loop marks progress every
  second, and so does every attempt to reach a lost broker, each second of the waits between them and of the
  pause after a refused write; the heartbeat is written only while it does (``consumer_fresh_seconds``).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

import redis
from celery.worker.consumer import Consumer as CeleryConsumer

from workers import liveness
from workers.settings import get_worker_settings

__all__ = ["TICK_SECONDS", "Consumer", "pause"]

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0  # the event loop marks progress this often (workers.liveness)


class Consumer(CeleryConsumer):
    """Celery's consumer; the reconnect schedule and the handling of refused writes differ."""

    def ensure_connected(self, conn: Any) -> Any:
        interval = get_worker_settings().broker_reconnect_interval
        # Celery calls conn.ensure_connection(errback, max_retries, callback=...): add the schedule to that call,
        # and mark progress on every attempt (reconnecting through an outage of any length is being alive).
        ensure = functools.partial(
            conn.ensure_connection, interval_start=interval, interval_step=0, interval_max=interval
        )

        def ensure_connection(errback: Any = None, *args: Any, callback: Any = None, **kwargs: Any) -> Any:
            def on_error(*a: Any, **k: Any) -> Any:
                liveness.mark()
                return errback(*a, **k) if errback is not None else None

            def on_wait(*a: Any, **k: Any) -> Any:
                liveness.mark()
                return callback(*a, **k) if callback is not None else None

            return ensure(on_error, *args, callback=on_wait, **kwargs)

        conn.ensure_connection = ensure_connection
        liveness.mark()
        return super().ensure_connected(conn)

    def register_with_event_loop(self, hub: Any) -> None:
        super().register_with_event_loop(hub)
        # Registered on every (re)connection, cancelled with the connection's other timer entries when it is lost.
        liveness.mark()
        hub.call_repeatedly(TICK_SECONDS, liveness.mark)

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        # The tasks of the lost connection keep running (worker_cancel_long_running_tasks_on_connection_loss is
        # off): their messages stay unacked, to be restored after the visibility timeout, when those tasks are
        # over. kombu would otherwise push them back while closing the channels (if Redis already answers again),
        # and a second delivery of a running task would be counted as a crash of its job.
        transport = getattr(self.connection, "transport", None) if self.connection else None
        for channel in getattr(transport, "channels", None) or ():
            channel.do_restore = False
        liveness.mark()
        super().on_connection_error_after_connected(exc)
        liveness.mark()
        self._pause_if_refused(exc)

    def on_connection_error_before_connected(self, exc: Exception) -> None:
        super().on_connection_error_before_connected(exc)
        self._pause_if_refused(exc)

    @staticmethod
    def _pause_if_refused(exc: Exception) -> None:
        if isinstance(exc, redis.ResponseError):
            interval = get_worker_settings().broker_reconnect_interval
            log.warning("the broker refused a write (%s); consuming again in %.1f s", exc, interval)
            pause(interval)


def pause(seconds: float) -> None:
    """Sleep ``seconds``, marking progress every tick: a pause the consumer decided on is not a stall (a
    ``broker_reconnect_interval`` of up to 30 s slept in one piece outlasted the liveness window, even the
    stall allowance)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        liveness.mark()
        time.sleep(min(TICK_SECONDS, left))
    liveness.mark()
