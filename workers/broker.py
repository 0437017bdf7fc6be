"""kombu's Redis transport, with acknowledgements that survive the loss of their channel.

Named by ``broker_transport`` (:mod:`workers.celery_app`). With late acks, a task that runs through a Redis
restart finishes after its consumer reconnected: its message belongs to the channel of the lost connection,
which kombu closed (``channel.connection = None``, its connection pools dropped). kombu's ``QoS.ack`` and
``QoS.reject`` then build a new pool for that channel, read ``self.connection.client`` and raise
``AttributeError: 'NoneType' object has no attribute 'client'``: not a connection error, so Celery's
``ack_log_error`` lets it through, it escapes the event loop, and the worker stops (``CRITICAL Unrecoverable
error``), exiting or, with tasks still in its pool, hanging with its heartbeat thread alive.

Here a message is settled whatever became of its channel:

* an ack on a closed channel is done with a client of its own, on the parameters the channel was opened with:
  the unacked records are two keys shared by every channel (``unacked``, ``unacked_index``, under the global
  prefix), so removing them from another connection is the same ack;
* a requeue on a closed channel is left to the visibility sweep (the message stays unacknowledged: kombu
  restores it ``visibility_timeout`` after its delivery), since requeueing needs the channel's exchange table;
* a connection error while settling (Redis still away) is logged and the message stays unacknowledged, to be
  restored by the sweep and found done by the claim (:data:`workers.jobs.CLAIM`); a refused write (past
  ``maxmemory``) still propagates, for the consumer to pause and reconnect (:mod:`workers.consumer`).

The bookkeeping of the channel's own QoS is updated in every case, so nothing is counted as delivered twice.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from redis.backoff import NoBackoff
from redis.retry import Retry

__all__ = ["SETTLE_TIMEOUT", "Channel", "QoS", "Transport"]

log = logging.getLogger(__name__)
SETTLE_TIMEOUT = 2.0  # seconds: an ack runs in the consumer's event loop, which must not wait long
# Redis away. A write Redis refuses (OutOfMemoryError past maxmemory) still propagates: a channel error, on which the
# consumer pauses and reconnects (workers.consumer), as it always did.
SETTLE_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class QoS(kombu_redis.QoS):
    """kombu's Redis QoS; ack and reject never raise, and work on a closed channel."""

    def ack(self, delivery_tag: Any) -> None:
        try:
            if _closed(self.channel):
                self._ack_apart(delivery_tag)
            else:
                cast(Any, self)._remove_from_indices(delivery_tag).execute()
        except SETTLE_ERRORS as exc:
            log.warning("could not acknowledge message %s (%r): it stays unacknowledged, is restored after the "
                        "visibility timeout and found done by its claim", delivery_tag, exc)
        finally:
            virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if not requeue:
            self.ack(delivery_tag)
            return
        try:
            if _closed(self.channel):
                log.info("message %s of a lost connection stays unacknowledged: the visibility sweep restores it",
                         delivery_tag)
            else:
                self.restore_by_tag(delivery_tag, leftmost=True)
        except SETTLE_ERRORS as exc:
            log.warning("could not requeue message %s (%r): the visibility sweep restores it", delivery_tag, exc)
        finally:
            virtual.QoS.ack(self, delivery_tag)

    def _ack_apart(self, delivery_tag: Any) -> None:
        channel: Any = self.channel
        params = dict(channel.settle_params)
        timeout = min(float(params.get("socket_timeout") or SETTLE_TIMEOUT), SETTLE_TIMEOUT)
        params.update(socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1))
        pool = redis.ConnectionPool(**params)
        client = kombu_redis.PrefixedStrictRedis(connection_pool=pool, global_keyprefix=channel.global_keyprefix)
        try:
            cast(Any, self)._remove_from_indices(delivery_tag, client.pipeline()).execute()
            log.info("message %s of a lost connection acknowledged on a new one", delivery_tag)
        finally:
            pool.disconnect()


def _closed(channel: Any) -> bool:
    return bool(getattr(channel, "closed", False)) or getattr(channel, "connection", None) is None


class Channel(kombu_redis.Channel):
    """kombu's Redis channel; remembers how it connected, for acks after it was closed."""

    QoS = QoS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Synchronous parameters (a plain connection class, no hook into this channel's poller).
        self.settle_params: dict[str, Any] = cast(Any, self)._connparams(asynchronous=False)


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel
