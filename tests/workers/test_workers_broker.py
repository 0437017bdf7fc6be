"""The deferred requeue of :mod:`workers.broker`, on a private Redis: kombu's channels and QoS, no worker process.

A delivery given up while Redis was away is rejected (requeue) on its closed channel: the requeue waits for the next
channel this process opens. kombu keeps a message's delivery tag across restores, so by then the tag may name a
later delivery of the same message (another worker's sweep restored it, a consumer took it again), which the
requeue must leave alone.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, cast

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue

from tests.services import RedisServer, unique_prefix
from workers import broker, liveness


@dataclass
class Broker:
    server: RedisServer
    prefix: str  # kombu's global key prefix
    queue: str
    ours: Connection  # this process's connection (workers.broker's transport)
    other: Connection  # another worker's (kombu's own transport: none of this process's deferred tags)
    redis: redis.Redis

    def waiting(self) -> int:
        return int(self.redis.llen(f"{self.prefix}{self.queue}"))

    def unacked(self, tag: str) -> bool:
        return self.redis.zscore(f"{self.prefix}unacked_index", tag) is not None and bool(
            self.redis.hexists(f"{self.prefix}unacked", tag))

    def publish(self) -> None:
        channel: Any = self.ours.channel()
        exchange = Exchange(self.queue, type="direct")
        Queue(self.queue, exchange, routing_key=self.queue)(channel).declare()
        Producer(channel).publish({"n": 1}, exchange=exchange, routing_key=self.queue)
        channel.close()

    def deliver_and_defer(self) -> str:
        """A delivery on this process's channel, whose connection is then lost and whose task gives it up."""
        channel: Any = self.ours.channel()  # kombu's virtual channel (its StdChannel type has no basic_get)
        message = channel.basic_get(self.queue, no_ack=False)
        assert message is not None and self.waiting() == 0 and self.unacked(message.delivery_tag)
        channel.closed = True  # as kombu leaves a channel of a lost connection
        message.requeue()  # the task's Reject(requeue=True): deferred, Redis is "away"
        assert message.delivery_tag in broker._deferred
        return str(message.delivery_tag)


@pytest.fixture
def kombu_broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[Broker]:
    # This test's own deferred tags and channels (the process may hold other tests' channels).
    monkeypatch.setattr(broker, "_deferred", type(broker._deferred)())
    monkeypatch.setattr(broker, "_channels", weakref.WeakSet())
    label = unique_prefix("broker")
    with RedisServer() as server, ExitStack() as stack:
        options = {"global_keyprefix": f"{label}:celery:", "visibility_timeout": 3600}
        ours = stack.enter_context(Connection(server.url(), transport=broker.Transport, transport_options=options))
        other = stack.enter_context(Connection(server.url(), transport_options=options))
        client = server.client()
        stack.callback(client.close)
        yield Broker(server, f"{label}:celery:", label, ours, other, client)


def test_a_deferred_requeue_leaves_a_later_delivery_of_the_same_message_alone(kombu_broker: Broker) -> None:
    # A review reproduced it: deliver, defer, sweep, deliver again (the same tag), open a new channel: the message
    # was pushed again (0 -> 1 waiting) and the live delivery's unacked record removed: two runs of one message.
    b = kombu_broker
    b.publish()
    tag = b.deliver_and_defer()
    # Another worker reconnects first; its sweep finds the message unacknowledged past the visibility timeout.
    b.redis.zadd(f"{b.prefix}unacked_index", {tag: time.time() - 7200})
    sweeper: Any = b.other.channel()
    sweeper.qos.restore_visible(num=10, interval=1)
    assert (b.waiting(), b.unacked(tag)) == (1, False)
    again = sweeper.basic_get(b.queue, no_ack=False)  # delivered again, running on that worker
    assert again is not None and again.delivery_tag == tag and b.unacked(tag)
    b.ours.channel()  # this process's consumer reconnects: its deferred requeue runs
    assert (b.waiting(), b.unacked(tag)) == (0, True)
    assert not broker._deferred
    again.ack()
    assert not b.unacked(tag)


def test_a_deferred_requeue_is_done_by_the_next_channel(kombu_broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    b = kombu_broker
    b.publish()
    tag = b.deliver_and_defer()
    assert (b.waiting(), b.unacked(tag)) == (0, True)  # nothing could be done while Redis was away
    liveness._last = time.monotonic() - 1000  # the consumer's last progress was long ago
    with caplog.at_level(logging.INFO, logger=broker.__name__):
        b.ours.channel()
    assert (b.waiting(), b.unacked(tag)) == (1, False)
    assert not broker._deferred
    assert liveness.silent_for() < 100  # each restore marks progress (it may wait for a connect and a reply)
    assert f"message {tag} of a lost connection requeued" in caplog.text


def test_a_deferred_requeue_whose_message_the_sweep_restored_is_dropped(kombu_broker: Broker) -> None:
    b = kombu_broker
    b.publish()
    tag = b.deliver_and_defer()
    b.redis.zadd(f"{b.prefix}unacked_index", {tag: time.time() - 7200})
    cast(Any, b.other.channel()).qos.restore_visible(num=10, interval=1)  # restored, waiting in its queue
    b.ours.channel()
    assert (b.waiting(), b.unacked(tag)) == (1, False)  # not pushed twice
    assert not broker._deferred


def test_a_malformed_unacked_record_does_not_fail_the_channel(
    kombu_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    b = kombu_broker
    b.publish()
    tag = b.deliver_and_defer()
    b.redis.hset(f"{b.prefix}unacked", tag, "not json")
    with caplog.at_level(logging.INFO, logger=broker.__name__):
        channel: Any = b.ours.channel()  # opens: the record is left for kombu's sweep
    assert not channel.closed and b.unacked(tag) and b.waiting() == 0
    assert not broker._deferred  # not tried again on every channel
    assert f"could not requeue message {tag}: left unacknowledged" in caplog.text
