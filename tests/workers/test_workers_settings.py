"""The production settings keep the promises that lose nothing (issue item 4)."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from workers.celery_app import make_celery
from workers.settings import WorkerSettings


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> WorkerSettings:
    """The settings a deployment gets: defaults plus only the Redis URL."""
    for name in list(os.environ):
        if name.startswith("TIVCAST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TIVCAST_REDIS_URL", "redis://redis:6379/0")
    return WorkerSettings()


class TestProductionSettings:
    def test_time_limits_are_ordered_below_the_visibility_timeout(self, production: WorkerSettings) -> None:
        conf = make_celery(production).conf
        visibility = conf.broker_transport_options["visibility_timeout"]
        assert conf.task_soft_time_limit < conf.task_time_limit < visibility

    def test_a_killed_worker_is_redelivered_within_a_minute(self, production: WorkerSettings) -> None:
        options = make_celery(production).conf.broker_transport_options
        assert options["unacked_restore_throttle"] == 1  # otherwise the sweep runs 10x less often
        assert options["visibility_timeout"] + options["unacked_restore_interval"] <= 60

    def test_acknowledgement_is_late_and_a_lost_worker_requeues(self, production: WorkerSettings) -> None:
        conf = make_celery(production).conf
        assert conf.task_acks_late is True
        assert conf.task_reject_on_worker_lost is True
        assert conf.worker_prefetch_multiplier == 1

    def test_no_result_backend_and_results_expire(self, production: WorkerSettings) -> None:
        conf = make_celery(production).conf
        assert conf.task_ignore_result is True
        assert conf.result_backend is None
        assert 0 < production.result_ttl <= 30 * 86_400
        assert 0 < production.job_ttl <= 30 * 86_400

    def test_redeliveries_are_capped(self, production: WorkerSettings) -> None:
        assert production.max_deliveries == 3

    def test_a_job_is_taken_for_lost_once_kombu_would_have_restored_its_message(
        self, production: WorkerSettings
    ) -> None:
        # Nothing but kombu's unacked records holds a message off the queue (no task retries with a countdown):
        # the visibility timeout, a sweep, and a sweep of margin; no retry countdown in the bound any more.
        options = make_celery(production).conf.broker_transport_options
        assert production.stale_queued_seconds == options["visibility_timeout"] + 2 * options[
            "unacked_restore_interval"] == 55
        assert production.stale[2] == 55 and production.stale[3] == production.stale_queued_busy_seconds

    def test_acks_survive_a_lost_channel_and_a_stopped_consumer_is_noticed(self, production: WorkerSettings) -> None:
        conf = make_celery(production).conf
        assert conf.broker_transport == "workers.broker:Transport"  # workers.broker
        # A task waits out a Redis outage well before its soft limit, and a silent consumer is noticed long after
        # the liveness window yet well before a supervisor would give up on the container.
        assert production.soft_time_limit - production.broker_socket_timeout - 1 > 5
        assert production.heartbeat_ttl < production.consumer_stall_seconds <= 60

    def test_api_side_redis_calls_fail_fast(self, production: WorkerSettings) -> None:
        assert production.redis_socket_timeout <= 0.25
        assert production.redis_connect_timeout <= 0.25
        assert production.redis_operation_timeout <= 0.25
        assert production.breaker_failures >= 1 and production.breaker_reset_seconds > 0

    def test_each_child_has_a_memory_cap_and_the_worker_outlives_redis(self, production: WorkerSettings) -> None:
        conf = make_celery(production).conf
        assert conf.worker_max_memory_per_child == production.max_memory_per_child_kb > 0
        assert conf.broker_connection_retry_on_startup is True
        assert conf.broker_connection_max_retries is None

    def test_tasks_go_to_the_configured_queue(self, production: WorkerSettings) -> None:
        conf = make_celery(production).conf
        assert conf.task_default_queue == production.queue
        assert conf.beat_schedule["warm-cache"]["task"] == "tivcast.cache.warm"
        assert conf.beat_schedule["warm-cache"]["schedule"] == production.warm_interval_seconds
        # Lost messages are looked for twice per stale bound (a job whose message is gone waits at most ~1.5 bounds).
        assert conf.beat_schedule["reconcile-jobs"]["task"] == "tivcast.jobs.reconcile"
        assert conf.beat_schedule["reconcile-jobs"]["schedule"] == production.stale_queued_seconds / 2
        # A refused write restarts the consumer instead of stopping the worker; a lost connection cancels no task.
        assert conf.broker_channel_error_retry is True
        assert conf.worker_cancel_long_running_tasks_on_connection_loss is False


class TestValidation:
    @pytest.mark.parametrize(
        ("soft", "hard", "visibility"),
        [(30, 30, 45), (31, 30, 45), (20, 45, 45), (20, 50, 45)],
    )
    def test_refuses_limits_out_of_order(self, soft: int, hard: int, visibility: int) -> None:
        with pytest.raises(ValidationError, match="soft_time_limit < time_limit < visibility_timeout"):
            WorkerSettings(soft_time_limit=soft, time_limit=hard, visibility_timeout=visibility)

    def test_a_leftover_retry_backoff_setting_is_ignored(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # TIVCAST_RETRY_BACKOFF_MAX is gone (no task retries with a countdown): an environment that still sets it,
        # even to a value the old check refused, starts, and the bound does not depend on it.
        monkeypatch.setenv("TIVCAST_RETRY_BACKOFF_MAX", "45")
        settings = WorkerSettings(visibility_timeout=45, unacked_restore_interval=5)
        assert "retry_backoff_max" not in WorkerSettings.model_fields
        assert settings.stale_queued_seconds == 55

    def test_reads_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TIVCAST_WARM_COUNTRIES", '["JPN"]')
        monkeypatch.setenv("TIVCAST_MAX_DELIVERIES", "5")
        settings = WorkerSettings()
        assert settings.warm_countries == ("JPN",)
        assert settings.max_deliveries == 5
