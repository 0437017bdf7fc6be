"""The Celery application: Redis broker, no result backend, settings that lose nothing.

``celery -A workers.celery_app worker`` (or ``tivcast worker``) uses the
module-level :data:`app`; the API builds its own producer with
:func:`make_celery` from the settings it was given, and sends tasks by name.

Why each setting (see also :mod:`workers.settings`):

* no result backend (``task_ignore_result``): results and job state are
  written by the tasks themselves (:mod:`workers.jobs`), so a Redis outage
  cannot wedge a result-backend connection in the API;
* ``task_acks_late`` + ``task_reject_on_worker_lost``: a message is removed
  only after its task returned, and goes back to the queue at once when the
  child process running it dies; the job hash counts deliveries, because the
  broker does not (:data:`workers.jobs.CLAIM`);
* ``worker_prefetch_multiplier=1``: a worker holds only messages it is
  running, so a killed worker strands at most its running tasks;
* soft and hard time limits, below kombu's ``visibility_timeout`` (otherwise
  a slow task is handed to a second worker while the first still runs), and
  ``unacked_restore_interval``/``unacked_restore_throttle=1`` so that a
  killed worker's messages are swept back within about
  ``visibility_timeout + unacked_restore_interval`` seconds (kombu's default
  is an hour);
* ``global_keyprefix``: kombu's keys (queues, unacked index) live under the
  same prefix as tivcast's own, so one prefix holds (and removes) everything;
* broker connection retried forever, also on start-up, every
  ``broker_reconnect_interval`` (1 s; :mod:`workers.consumer`, instead of
  Celery's waits growing to 30 s): a worker outlives a Redis outage of any
  length and consumes again about a second after Redis returns;
* a write the broker refuses (``OutOfMemoryError``) restarts the consumer
  after a pause instead of stopping the worker (``broker_channel_error_retry``,
  :mod:`workers.consumer`);
* a task keeps running through a lost broker connection
  (``worker_cancel_long_running_tasks_on_connection_loss=False``): its job
  state is written by the task on its own connection (waiting out the outage,
  :class:`workers.tasks.Patience`), and its late ack, whose channel was closed
  with the lost connection, is done on a connection of its own
  (``broker_transport``, :mod:`workers.broker`; kombu's own raised an
  ``AttributeError`` there, an unrecoverable error that stopped the worker);
  cancelling it instead made every Redis restart cost the job one of its
  ``max_deliveries``;
* the forecast task never publishes (no ``self.retry``): publishing to a broker
  that is away blocks, and Celery turns its failure into a dropped message;
* ``worker_max_memory_per_child``: a child that grew past the cap is
  replaced after its current task.
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from workers import logs  # noqa: F401  (connects Celery's setup_logging: JSON logs in worker and beat)
from workers.settings import WorkerSettings, get_worker_settings

__all__ = ["FORECAST_TASK", "RECONCILE_TASK", "WARM_TASK", "app", "make_celery", "queue_keys"]

FORECAST_TASK = "tivcast.forecast.run"
WARM_TASK = "tivcast.cache.warm"
RECONCILE_TASK = "tivcast.jobs.reconcile"


def transport_options(settings: WorkerSettings) -> dict[str, Any]:
    """kombu Redis transport options (worker and producer alike)."""
    return {
        "visibility_timeout": settings.visibility_timeout,
        "unacked_restore_interval": settings.unacked_restore_interval,
        "unacked_restore_throttle": 1,
        "socket_timeout": settings.broker_socket_timeout,
        "socket_connect_timeout": settings.broker_socket_timeout,
        "health_check_interval": 10,
        "global_keyprefix": f"{settings.key_prefix}:celery:",
    }


def queue_keys(settings: WorkerSettings) -> list[str]:
    """The Redis lists holding the queue's waiting messages: kombu's list per priority step (only the
    first is used unless a message sets a priority), under ``global_keyprefix``."""
    prefix = transport_options(settings)["global_keyprefix"]
    return [f"{prefix}{settings.queue}"] + [f"{prefix}{settings.queue}\x06\x16{step}" for step in (3, 6, 9)]


def make_celery(settings: WorkerSettings) -> Celery:
    """A Celery app configured from ``settings``; creating it connects to nothing."""
    celery = Celery("tivcast", broker=settings.redis_url, include=["workers.tasks"])
    celery.conf.update(
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure=True,  # failures are recorded in the job; redelivering would not help
        task_acks_on_timeout=True,  # likewise (the hard limit is recorded by workers.runtime)
        task_soft_time_limit=settings.soft_time_limit,
        task_time_limit=settings.time_limit,
        task_default_queue=settings.queue,
        task_routes={"tivcast.*": {"queue": settings.queue}},
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_max_memory_per_child=settings.max_memory_per_child_kb,
        # A task outlives a lost broker connection (it is bounded by time_limit, below visibility_timeout, so no
        # second delivery starts while it runs): cancelling it cost the job a delivery per Redis restart.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        broker_channel_error_retry=True,  # a write Redis refuses (OOM) restarts the consumer (workers.consumer)
        worker_hijack_root_logger=False,
        broker_transport="workers.broker:Transport",  # acks that survive their lost channel (workers.broker)
        broker_transport_options=transport_options(settings),
        broker_connection_timeout=settings.broker_socket_timeout,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        worker_consumer="workers.consumer:Consumer",
        beat_schedule={
            "warm-cache": {
                "task": WARM_TASK,
                "schedule": float(settings.warm_interval_seconds),
                # a sweep nobody ran within its interval is superseded by the next one
                "options": {"queue": settings.queue, "expires": settings.warm_interval_seconds},
            },
            "reconcile-jobs": {  # jobs whose message was lost (workers.tasks.reconcile)
                "task": RECONCILE_TASK,
                "schedule": settings.stale_queued_seconds / 2,
                "options": {"queue": settings.queue, "expires": settings.stale_queued_seconds / 2},
            },
        },
    )
    return celery


app = make_celery(get_worker_settings())
