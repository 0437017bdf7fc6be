"""The worker's Celery consumer, with a constant reconnect interval (named by ``worker_consumer``).

Celery's consumer reconnects to a lost broker through kombu's
``ensure_connection`` with its defaults: waits of 2, 4, 6, ... up to 30 s,
which Celery gives no setting for. After a 45 s outage the next attempt came
12-14 s after Redis was back. This consumer retries every
``broker_reconnect_interval`` seconds (1 s) for as long as the outage lasts,
so a worker consumes again within about that long of Redis returning, and
the attempts stay cheap (a refused connection fails at once; a silent network
within ``broker_socket_timeout``).

Only the worker imports this module (by name, from the Celery setting), never the API.
"""

from __future__ import annotations

import functools
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

from workers.settings import get_worker_settings

__all__ = ["Consumer"]


class Consumer(CeleryConsumer):
    """Celery's consumer; only the reconnect schedule differs."""

    def ensure_connected(self, conn: Any) -> Any:
        interval = get_worker_settings().broker_reconnect_interval
        # Celery calls conn.ensure_connection(errback, max_retries, callback=...): add the schedule to that call.
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_start=interval, interval_step=0, interval_max=interval
        )
        return super().ensure_connected(conn)
