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
* a requeue on a closed channel (a delivery given up while Redis was away, :func:`workers.tasks.give_up`) is
  done by the next channel this process opens, as soon as Redis answers again; until then, or if this
  process dies first, the message stays unacknowledged and kombu's sweep restores it ``visibility_timeout``
  after its delivery. The redelivery then comes about a second after Redis is back instead of up to the
  visibility timeout later (its job reads ``running`` until then: its state could not be handed back either).
  The requeue is done only if the message's unacknowledged record is still the one of the delivery given up
  (:func:`requeue_deferred`): kombu keeps a message's delivery tag across restores, so once a sweep (another
  worker's, reconnecting first) restored it and it was delivered again, the tag names a live delivery, whose
  record must not be taken from it (that pushed the message a second time: two runs, the second counted as a
  crash by its claim);
* a connection error while settling (Redis still away) is logged and the message stays unacknowledged, to be
  restored by the sweep (a requeue: by the next channel) and found done by the claim
  (:data:`workers.jobs.CLAIM`); a refused write (past
  ``maxmemory``) still propagates, for the consumer to pause and reconnect (:mod:`workers.consumer`).

The bookkeeping of the channel's own QoS is updated in every case, so nothing is counted as delivered twice.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any, cast

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual
from kombu.utils.encoding import bytes_to_str
from kombu.utils.json import loads
from redis.backoff import NoBackoff
from redis.retry import Retry

from workers import liveness

__all__ = ["SETTLE_TIMEOUT", "Channel", "QoS", "Transport", "requeue_deferred"]

log = logging.getLogger(__name__)
SETTLE_TIMEOUT = 2.0  # seconds: an ack runs in the consumer's event loop, which must not wait long
# Redis away. A write Redis refuses (OutOfMemoryError past maxmemory) still propagates: a channel error, on which the
# consumer pauses and reconnects (workers.consumer), as it always did.
SETTLE_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)
# Delivery tags of this process whose requeue could not be done (their channel closed, Redis away), each with the
# time it was last deferred (epoch seconds, the clock of kombu's unacked index): an open channel requeues them, at
# once if there is one, else the next one opened. Only ended deliveries get here (a reject comes after its task
# returned), so none of them is still running; but by the time Redis answers, the tag may name a later delivery of
# the same message (restored by a sweep, delivered again: kombu keeps the tag), which is left alone (requeue_deferred).
_deferred: dict[Any, float] = {}
_channels: weakref.WeakSet[Channel] = weakref.WeakSet()  # this process's channels (the open ones requeue)


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
                _deferred[delivery_tag] = time.time()
                log.info("message %s of a lost connection: to be requeued on an open channel", delivery_tag)
                live = next((channel for channel in list(_channels) if not _closed(channel)), None)
                if live is not None:  # the consumer reconnected before the task's reject came back from the pool
                    requeue_deferred(cast(QoS, live.qos))
            else:
                self.restore_by_tag(delivery_tag, leftmost=True)
        except SETTLE_ERRORS as exc:
            _deferred[delivery_tag] = time.time()
            log.warning("could not requeue message %s (%r): to be requeued once Redis answers again", delivery_tag,
                        exc)
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
        _channels.add(self)
        requeue_deferred(cast(QoS, self.qos))  # the channel's connection answered (kombu pinged it)


def requeue_deferred(qos: QoS) -> None:
    """Requeue the messages whose requeue had to wait for Redis (:data:`_deferred`), on ``qos``'s open channel.

    Each is requeued only if its unacknowledged record is still the one of the delivery given up: its entry in the
    unacked index dates from before the deferral. Otherwise it is dropped: the record is gone (acknowledged, or
    restored by a sweep, the message waiting in its queue) or belongs to a later delivery of the same message (the
    same tag). Runs in the consumer's connection attempt: each restore, which may wait for a connect and a reply
    timeout, is a mark of progress (:mod:`workers.liveness`), and only a connection error stops the round (the next
    channel tries again); any other error drops the tag, for the sweep to deal with the record.
    """
    for tag, deferred_at in list(_deferred.items()):
        liveness.mark()
        try:
            requeued = _requeue_if_undelivered(qos, tag, deferred_at)
        except (redis.RedisError, OSError) as exc:  # never fails the channel: the sweep remains
            log.warning("could not requeue message %s yet (%r): the next channel tries again", tag, exc)
            return
        except Exception:
            _deferred.pop(tag, None)
            log.exception("could not requeue message %s: left unacknowledged, for kombu's sweep", tag)
            continue
        finally:
            liveness.mark()
        _deferred.pop(tag, None)
        if requeued:
            log.info("message %s of a lost connection requeued", tag)
        else:
            log.info("message %s of a lost connection not requeued: already restored or delivered again", tag)


def _requeue_if_undelivered(qos: QoS, tag: Any, deferred_at: float) -> bool:
    """kombu's ``restore_by_tag`` (leftmost), in a transaction that first checks the tag's unacked index entry
    dates from before ``deferred_at``; ``False`` (nothing done) if not."""
    channel: Any = qos.channel
    index = _full_key(channel, qos.unacked_index_key)

    def restore(pipe: Any) -> bool:
        score = pipe.execute_command("ZSCORE", index, tag)
        if score is None or float(score) > deferred_at:
            return False
        raw = pipe.hget(qos.unacked_key, tag)
        message = None
        if raw:
            payload, exchange, routing_key = loads(bytes_to_str(raw))  # a malformed record raises here, untouched
            message = payload, exchange, routing_key
        pipe.multi()
        cast(Any, qos)._remove_from_indices(tag, pipe)
        if message is not None:
            channel._do_restore_message(*message, pipe, True)
        return True

    with channel.conn_or_acquire() as client:
        return bool(client.transaction(restore, qos.unacked_key, qos.unacked_index_key, value_from_callable=True))


def _full_key(channel: Any, name: str) -> str:
    """Key ``name`` with kombu's global prefix, for a command its prefixed client passes as it is (ZSCORE)."""
    prefix = getattr(channel, "global_keyprefix", "") or ""
    if not prefix or "ZSCORE" in kombu_redis.GlobalKeyPrefixMixin.PREFIXED_SIMPLE_COMMANDS:
        return name
    return prefix + name


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`Channel`."""

    Channel = Channel
