"""Job state transitions, on the real Redis (no worker: the transitions are called directly)."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from forecasting import ForecastInputs
from tests.services import SHARED_REDIS_URL, RedisServer, unique_prefix
from tests.workers.conftest import japan_forecast, run, settings_for
from workers import compute, tasks
from workers.celery_app import queue_keys
from workers.client import RedisService
from workers.jobs import Job, JobStore
from workers.requests import JobSpec
from workers.settings import WorkerSettings

STALE = (85.0, 6.0, 85.0, 1800.0)


@pytest.fixture
def settings(prefix: str) -> WorkerSettings:
    return settings_for(prefix)


@pytest.fixture
def store(settings: WorkerSettings) -> Iterator[JobStore]:
    client = redis.Redis.from_url(SHARED_REDIS_URL)
    yield JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl)
    client.close()


@pytest.fixture
def spec(japan_inputs: ForecastInputs) -> JobSpec:
    return japan_forecast(japan_inputs)


def submit(store: JobStore, spec: JobSpec) -> str:
    return store.submit(spec.key, spec.kind, json.dumps(spec.summary), json.dumps(spec.payload), STALE)


def job(store: JobStore, key: str) -> Job:
    return Job.from_hash(key, store.client.hgetall(store.keys.job(key)))


def marks(store: JobStore, key: str) -> list[str]:
    """The fit-count marks in job ``key``'s hash (:data:`workers.jobs.SUCCEED`)."""
    names = [name.decode() if isinstance(name, bytes) else name for name in store.client.hkeys(store.keys.job(key))]
    return sorted(name for name in names if name.startswith("counted:"))


class TestSubmit:
    def test_first_submit_creates_a_queued_job_and_stores_the_payload(self, store: JobStore, spec: JobSpec) -> None:
        assert submit(store, spec) == "created"
        queued = job(store, spec.key)
        assert (queued.state, queued.attempts, queued.kind, queued.summary) == ("queued", 0, "forecast", spec.summary)
        assert json.loads(store.payload(spec.key) or b"") == spec.payload
        assert 0 < store.client.ttl(store.keys.job(spec.key)) <= store.job_ttl

    def test_identical_submits_share_the_job(self, store: JobStore, spec: JobSpec) -> None:
        assert [submit(store, spec) for _ in range(3)] == ["created", "existing", "existing"]

    def test_a_failed_job_is_reset_and_queued_again(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.fail(spec.key, "boom")
        assert submit(store, spec) == "created"
        again = job(store, spec.key)
        assert (again.state, again.attempts, again.error) == ("queued", 0, None)

    def test_a_job_whose_result_exists_is_succeeded(self, store: JobStore, spec: JobSpec) -> None:
        store.client.set(store.keys.result(spec.key), b"{}")
        assert submit(store, spec) == "existing"
        assert job(store, spec.key).state == "succeeded"

    def test_a_job_that_expired_while_it_ran_is_not_half_recreated(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.client.delete(store.keys.job(spec.key))  # its TTL ran out during the fit
        store.succeed(spec.key, b"{}", 1, "run-1")
        assert store.client.exists(store.keys.job(spec.key)) == 0  # no hash without kind and summary
        assert store.client.get(store.keys.result(spec.key)) == b"{}" and store.payload(spec.key) is None
        assert submit(store, spec) == "existing" and job(store, spec.key).state == "succeeded"

    def test_a_succeeded_job_whose_result_is_gone_is_computed_again(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.succeed(spec.key, b"{}", 1, "run-1")
        store.client.delete(store.keys.result(spec.key))
        assert submit(store, spec) == "created"

    def test_a_running_job_that_lost_its_message_is_queued_again(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        assert submit(store, spec) == "existing"
        store.client.hset(store.keys.job(spec.key), "started", time.time() - STALE[0] - 1)
        assert submit(store, spec) == "created"

    def test_a_queued_job_whose_publish_was_lost_is_queued_again(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.client.hset(store.keys.job(spec.key), "queued", time.time() - STALE[1] - 1)
        assert submit(store, spec) == "created"
        store.mark_enqueued(spec.key)
        store.client.hset(store.keys.job(spec.key), "queued", time.time() - STALE[1] - 1)
        assert submit(store, spec) == "existing"  # published: it is just waiting for a worker


class TestDeliveries:
    def test_each_delivery_is_counted(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        assert store.claim(spec.key, 3, "w1") == ("claimed", 1)
        running = job(store, spec.key)
        assert (running.state, running.worker, running.started is not None) == ("running", "w1", True)
        assert store.claim(spec.key, 3, "w2") == ("claimed", 2)  # the first delivery died

    def test_after_max_deliveries_the_job_fails_instead_of_running(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        assert [store.claim(spec.key, 3, "w")[0] for _ in range(4)] == ["claimed"] * 3 + ["exhausted"]
        failed = job(store, spec.key)
        assert (failed.state, failed.attempts, failed.crashes) == ("failed", 3, 3)
        assert failed.error == "worker lost on every delivery (3 attempts); not run again for 3600 s"
        assert store.claim(spec.key, 3, "w") == ("done", 0)

    def test_only_lost_deliveries_in_a_row_count_a_success_resets_them(self, store: JobStore, spec: JobSpec) -> None:
        # A review: three Redis outages over a key's life, each costing one delivery that succeeded on the next,
        # failed the job "worker lost on every delivery (1 attempts)" though no delivery in a row was lost 3 times.
        for _ in range(3):
            submit(store, spec)
            assert store.claim(spec.key, 3, "w")[0] == "claimed"
            assert store.claim(spec.key, 3, "w")[0] == "claimed"  # the first delivery was given up: one crash
            assert job(store, spec.key).crashes == 1
            store.succeed(spec.key, b"{}", 1, "run-2")
            assert job(store, spec.key).crashes == 0
            store.client.delete(store.keys.result(spec.key))  # evicted: the next request computes it again
        submit(store, spec)
        assert [store.claim(spec.key, 3, "w")[0] for _ in range(3)] == ["claimed"] * 3
        assert job(store, spec.key).state == "running"  # two lost deliveries in a row: still trying

    def test_a_claim_that_finds_the_result_resets_the_crashes(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.claim(spec.key, 3, "w")
        assert job(store, spec.key).crashes == 1
        store.client.set(store.keys.result(spec.key), b"{}")  # the given-up delivery's result reached the cache
        assert store.claim(spec.key, 3, "w") == ("done", 0)
        done = job(store, spec.key)
        assert (done.state, done.crashes) == ("succeeded", 0)

    def test_crashes_survive_resubmission_and_a_crash_failed_job_cools_off(
        self, store: JobStore, spec: JobSpec
    ) -> None:
        submit(store, spec)
        assert [store.claim(spec.key, 3, "w")[0] for _ in range(4)] == ["claimed"] * 3 + ["exhausted"]
        assert submit(store, spec) == "existing"  # within the cool-off: not reset, its failure is the answer
        cooling = job(store, spec.key)
        assert (cooling.state, cooling.attempts, cooling.error is not None) == ("failed", 3, True)
        store.client.hset(store.keys.job(spec.key), "retry_at", time.time() - 1)  # the cool-off is over
        assert submit(store, spec) == "created"
        retried = job(store, spec.key)
        assert (retried.state, retried.attempts, retried.crashes) == ("queued", 0, 2)  # one more trial
        assert store.claim(spec.key, 3, "w") == ("claimed", 1)
        assert store.claim(spec.key, 3, "w")[0] == "exhausted"  # that trial died too
        assert submit(store, spec) == "existing"

    def test_success_stores_the_result_counts_fits_and_drops_the_payload(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.succeed(spec.key, b'{"ok":1}', 2, "run-1")
        done = job(store, spec.key)
        assert (done.state, done.error, done.finished is not None) == ("succeeded", None, True)
        assert store.client.get(store.keys.result(spec.key)) == b'{"ok":1}'
        assert 0 < store.client.ttl(store.keys.result(spec.key)) <= store.result_ttl
        assert store.client.get(store.keys.fits) == b"2"
        assert store.payload(spec.key) is None
        assert store.claim(spec.key, 3, "w") == ("done", 0)  # a late redelivery computes nothing

    def test_a_retried_success_counts_its_fits_once(self, store: JobStore, spec: JobSpec) -> None:
        # Patience calls succeed again when its reply was lost (a timeout, Redis away), though the first call may
        # have run: the same run's fits are counted once, its result and state stay as they were.
        submit(store, spec)
        assert store.claim(spec.key, 3, "w") == ("claimed", 1)
        for _ in range(3):
            assert store.succeed(spec.key, b'{"ok":1}', 2, "run-1") is True
        assert store.client.get(store.keys.fits) == b"2"
        assert (job(store, spec.key).state, store.result(spec.key)) == ("succeeded", b'{"ok":1}')

    def test_a_second_delivery_that_computed_counts_its_own_fits(self, store: JobStore, spec: JobSpec) -> None:
        # A duplicate message: both deliveries fitted, and the counter says so (it counts fits done, not jobs).
        submit(store, spec)
        store.claim(spec.key, 3, "w1")
        store.claim(spec.key, 3, "w2")
        store.succeed(spec.key, b"{}", 1, "run-2")
        store.succeed(spec.key, b"{}", 1, "run-1")
        store.succeed(spec.key, b"{}", 1, "run-1")  # the first one's retry
        assert store.client.get(store.keys.fits) == b"2"

    def test_two_runs_with_the_same_attempt_number_each_count(self, store: JobStore, spec: JobSpec) -> None:
        # A review: the mark was the claim's attempt number, which repeats (SUBMIT resets the attempts of a job it
        # takes for lost, RELEASE hands one back): a second run with attempt 1 found the first one's mark and its
        # fits went uncounted.
        submit(store, spec)
        assert store.claim(spec.key, 3, "w1") == ("claimed", 1)
        store.client.hset(store.keys.job(spec.key), "started", time.time() - STALE[0] - 1)  # taken for lost
        assert submit(store, spec) == "created"
        assert store.claim(spec.key, 3, "w2") == ("claimed", 1)  # the same attempt number
        store.succeed(spec.key, b"{}", 2, "run-b")
        store.succeed(spec.key, b"{}", 2, "run-a")  # the first run was alive and computed too
        assert store.client.get(store.keys.fits) == b"4"

    def test_every_run_of_the_task_counts_its_own_fits(
        self, store: JobStore, spec: JobSpec, settings: WorkerSettings, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The task itself (in this process, the fit replaced): while run A computes, its job is taken for lost and
        # submitted again, and run B claims it with the same attempt number and succeeds; then A succeeds too.
        monkeypatch.setattr(tasks, "get_worker_settings", lambda: settings)
        monkeypatch.setattr(tasks, "store", lambda: store)
        runs: list[str] = []

        def fit(payload: dict[str, object]) -> tuple[bytes, int]:
            runs.append(str(payload["key"]))
            if len(runs) == 1:  # run A
                store.client.hset(store.keys.job(spec.key), "started", time.time() - STALE[0] - 1)
                assert submit(store, spec) == "created"
                assert tasks.run_job.run(spec.key) == "succeeded"  # run B, to the end
                assert job(store, spec.key).attempts == 1
            return b"{}", 2

        monkeypatch.setattr(compute, "run", fit)
        submit(store, spec)
        assert tasks.run_job.run(spec.key) == "succeeded"
        assert len(runs) == 2 and store.client.get(store.keys.fits) == b"4"

    def test_the_marks_of_a_job_go_with_its_state(self, store: JobStore, spec: JobSpec) -> None:
        # One mark a run that succeeded, in the job hash (it has the job's TTL); a resubmission starts afresh.
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.succeed(spec.key, b"{}", 1, "run-1")
        assert marks(store, spec.key) == ["counted:run-1"]
        assert 0 < store.client.ttl(store.keys.job(spec.key)) <= store.job_ttl
        assert not store.client.exists(store.keys.counted(spec.key))
        store.client.delete(store.keys.result(spec.key))
        submit(store, spec)
        assert marks(store, spec.key) == []

    def test_a_retried_success_of_a_job_that_expired_while_it_ran_counts_once(
        self, store: JobStore, spec: JobSpec
    ) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w1")
        store.claim(spec.key, 3, "w2")  # a duplicate delivery, also running
        store.client.delete(store.keys.job(spec.key))  # its TTL ran out during the fit
        store.succeed(spec.key, b"{}", 3, "run-1")
        store.succeed(spec.key, b"{}", 3, "run-1")
        assert store.client.get(store.keys.fits) == b"3"
        assert store.client.exists(store.keys.job(spec.key)) == 0
        store.succeed(spec.key, b"{}", 3, "run-2")  # the duplicate computed too: its fits count
        assert store.client.get(store.keys.fits) == b"6"
        assert 0 < store.client.ttl(store.keys.counted(spec.key)) <= store.job_ttl
        assert submit(store, spec) == "existing"  # the result is there: a succeeded hash again
        store.succeed(spec.key, b"{}", 3, "run-1")  # a retry after that counts once all the same
        assert store.client.get(store.keys.fits) == b"6"

    def test_a_released_delivery_does_not_count(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.release(spec.key, "retrying after a Redis error")
        released = job(store, spec.key)
        assert (released.state, released.attempts) == ("queued", 0)

    def test_a_failure_never_overwrites_a_success(self, store: JobStore, spec: JobSpec) -> None:
        submit(store, spec)
        store.claim(spec.key, 3, "w")
        store.succeed(spec.key, b"{}", 1, "run-1")
        store.fail(spec.key, "late failure of a duplicate delivery")
        assert job(store, spec.key).state == "succeeded"

    def test_a_delivery_for_an_unknown_job_does_nothing(self, store: JobStore) -> None:
        assert store.claim("0" * 64, 3, "w") == ("missing", 0)
        assert not store.client.exists(store.keys.job("0" * 64))


class TestLostMessage:
    def test_a_published_job_whose_message_is_gone_is_queued_again(self, settings: WorkerSettings,
                                                                    spec: JobSpec) -> None:
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        queues = queue_keys(settings)
        store = JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl, queues=queues)
        try:
            assert submit(store, spec) == "created"
            store.mark_enqueued(spec.key)  # published; then the message was taken and lost (no claim)
            store.client.hset(store.keys.job(spec.key), "queued", time.time() - STALE[2] - 1)
            client.lpush(queues[0], "another job's message")
            assert submit(store, spec) == "existing"  # the queue is busy: it may be waiting in it
            client.delete(queues[0])
            assert submit(store, spec) == "created"  # the queue is empty: its message is gone
            store.client.hset(store.keys.job(spec.key), "enqueued", "1")
            client.lpush(queues[0], "another job's message")
            store.client.hset(store.keys.job(spec.key), "queued", time.time() - STALE[3] - 1)
            assert submit(store, spec) == "created"  # behind a busy queue, after the longer bound
        finally:
            client.close()


    def test_the_sweep_finds_a_job_whose_message_is_gone(self, settings: WorkerSettings, spec: JobSpec,
                                                         japan_inputs: ForecastInputs) -> None:
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        queues = queue_keys(settings)
        store = JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl, queues=queues)
        recent = japan_forecast(japan_inputs, "restriction")
        try:
            for each in (spec, recent):
                submit(store, each)
                store.mark_enqueued(each.key)
            store.client.hset(store.keys.job(spec.key), "queued", time.time() - STALE[2] - 1)
            client.lpush(queues[0], "another job's message")
            assert store.lost_messages(STALE[2]) == []  # it may be waiting in the queue
            client.delete(queues[0])
            assert store.lost_messages(STALE[2]) == [spec.key]  # not the recent one
            lost = store.client.hgetall(store.keys.job(spec.key))
            assert lost[b"enqueued"] == b"0" and lost[b"state"] == b"queued"  # to be published again
            store.mark_enqueued(spec.key)
            assert store.lost_messages(STALE[2]) == []  # its wait starts again
        finally:
            client.close()


    def test_the_sweep_publishes_a_job_whose_publish_never_happened(self, settings: WorkerSettings, spec: JobSpec
                                                                    ) -> None:
        """SUBMIT ran but its reply timed out (the API answered 503), or the publish and the FAIL recording it both
        failed: the job is queued, never published. A client retrying at once gets it as existing; the sweep
        publishes it once it has waited stale_queued with the queue empty (until now it waited for its TTL)."""
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        queues = queue_keys(settings)
        store = JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl, queues=queues)
        try:
            assert submit(store, spec) == "created"  # and no publish
            assert submit(store, spec) == "existing"  # the client's retry a second later
            assert store.lost_messages(STALE[2]) == []  # it may be only late
            store.client.hset(store.keys.job(spec.key), "queued", time.time() - STALE[2] - 1)
            client.lpush(queues[0], "another job's message")
            assert store.lost_messages(STALE[2]) == []  # a busy queue: its message may be in it
            client.delete(queues[0])
            assert store.lost_messages(STALE[2]) == [spec.key]
            job = store.client.hgetall(store.keys.job(spec.key))
            assert job[b"state"] == b"queued" and job[b"enqueued"] == b"0"
            store.mark_enqueued(spec.key)
            assert store.lost_messages(STALE[2]) == []  # published: its wait starts again
        finally:
            client.close()

    def test_a_stale_delivery_cannot_fail_a_job_another_worker_claimed(self, settings: WorkerSettings,
                                                                       spec: JobSpec) -> None:
        """A worker frozen past its redelivery fails at its overdue soft time limit when it resumes: the job is the
        live delivery's (it showed 422 "Forecast failed" until that one succeeded)."""
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        store = JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl,
                         queues=queue_keys(settings))
        try:
            assert submit(store, spec) == "created"
            assert store.claim(spec.key, 3, "celery@host", "run-1")[0] == "claimed"
            # run-1 was taken for lost; the redelivery went to another pool process of the same worker (one name)
            assert store.claim(spec.key, 3, "celery@host", "run-2") == ("claimed", 2)
            assert not store.fail(spec.key, "stopped at the soft time limit", "run-1")
            assert store.client.hget(store.keys.job(spec.key), "state") == b"running"
            assert store.payload(spec.key) is not None  # run-2 still reads it
            assert store.fail(spec.key, "a real failure", "run-2")
            assert store.client.hget(store.keys.job(spec.key), "error") == b"a real failure"
        finally:
            client.close()

    def test_a_claim_retried_after_its_reply_was_lost_is_the_same_claim(self, settings: WorkerSettings,
                                                                        spec: JobSpec) -> None:
        """A Redis stall past the socket timeout, after CLAIM ran: the run retries it and finds its own token (it
        counted a crash of the key per stall, each using up one of max_deliveries)."""
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        store = JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl,
                         queues=queue_keys(settings))
        try:
            assert submit(store, spec) == "created"
            assert store.claim(spec.key, 3, "w1", "run-a") == ("claimed", 1)
            assert store.claim(spec.key, 3, "w1", "run-a") == ("claimed", 1)  # the retry
            job = store.client.hgetall(store.keys.job(spec.key))
            assert job[b"attempts"] == b"1" and job[b"crashes"] == b"0"
            assert store.claim(spec.key, 3, "w1", "run-b") == ("claimed", 2)  # another run: run-a was lost
            assert store.client.hget(store.keys.job(spec.key), "crashes") == b"1"
        finally:
            client.close()

    def test_a_job_that_ends_without_a_result_drops_its_payload(self, settings: WorkerSettings,
                                                                spec: JobSpec) -> None:
        """Failed (by its delivery, or after every delivery was lost): nothing reads the payload again, and it sat
        on the noeviction instance for the job's TTL (7 days); a resubmission stores it again."""
        client = redis.Redis.from_url(SHARED_REDIS_URL)
        store = JobStore(client, settings.key_prefix, settings.job_ttl, settings.result_ttl,
                         queues=queue_keys(settings))
        try:
            assert submit(store, spec) == "created" and store.payload(spec.key) is not None
            assert store.claim(spec.key, 3, "w1", "run-a")[0] == "claimed"
            assert store.fail(spec.key, "an error", "run-a")
            assert store.payload(spec.key) is None
            assert submit(store, spec) == "created" and store.payload(spec.key) is not None
            for run in ("r1", "r2", "r3"):
                store.claim(spec.key, 3, "w1", run)
            assert store.claim(spec.key, 3, "w1", "r4")[0] == "exhausted"
            assert store.payload(spec.key) is None
        finally:
            client.close()

class TestJobView:
    def test_to_dict_has_iso_times_and_age(self) -> None:
        job = Job("k", "forecast", "running", created=1_700_000_000.0, queued=1_700_000_000.0,
                  started=1_700_000_002.5, attempts=1)
        view = job.to_dict(now=1_700_000_010.0)
        assert view["created_at"] == "2023-11-14T22:13:20Z"
        assert view["started_at"] == "2023-11-14T22:13:22Z"
        assert (view["finished_at"], view["error"], view["age_seconds"]) == (None, None, 10.0)
        assert "worker" not in view


class TestRedisServiceState:
    def test_submit_get_job_idempotency_and_counters(self, settings: WorkerSettings, spec: JobSpec) -> None:
        async def scenario() -> None:
            service = RedisService(settings)
            try:
                assert await service.get_job(spec.key) is None
                assert await service.get_result(spec.key) is None
                created = await service.submit(spec)
                assert (created.state, created.key) == ("queued", spec.key)
                fetched = await service.get_job(spec.key)
                assert fetched is not None and fetched.state == "queued"
                assert await service.idempotency("idem-1", "hash-a", spec.key) is None
                assert await service.idempotency("idem-1", "hash-b", spec.key) == "hash-a"
                assert await service.fits_counted() == 0
                assert await service.workers_online() == 0
            finally:
                await service.aclose()

        run(scenario())


class TestMemoryLimit:
    """On a ``noeviction`` Redis at its limit, new work is refused and accepted work still finishes."""

    def test_submit_is_refused_at_the_mark_and_an_accepted_job_still_finishes(
        self, japan_inputs: ForecastInputs
    ) -> None:
        accepted, refused = japan_forecast(japan_inputs), japan_forecast(japan_inputs, "restriction")
        with RedisServer("--maxmemory-policy", "noeviction") as server, RedisServer(
            "--maxmemory-policy", "allkeys-lru"
        ) as cache:  # as in compose: results on their own, evicting instance
            client, results = server.client(), cache.client()
            jobs = JobStore(client, "tivcast-test-full", 3600, 3600, results, accept_max_memory=0.8)
            try:
                assert submit(jobs, accepted) == "created"
                used = int(client.info("memory")["used_memory"])
                client.config_set("maxmemory", int(used / 0.8) - 1)  # just above the mark
                assert submit(jobs, refused) == "full"
                assert not client.exists(jobs.keys.job(refused.key), jobs.keys.payload(refused.key))
                client.config_set("maxmemory", used // 2)  # now far past the limit: plain writes fail
                with pytest.raises(redis.exceptions.OutOfMemoryError):
                    client.set("ballast", "x")
                assert jobs.claim(accepted.key, 3, "w") == ("claimed", 1)
                jobs.succeed(accepted.key, b'{"ok":1}', 1, "run-1")
                assert (job(jobs, accepted.key).state, jobs.result(accepted.key)) == ("succeeded", b'{"ok":1}')
                assert jobs.payload(accepted.key) is None
            finally:
                client.close()
                results.close()

    def test_results_never_take_the_room_of_the_state_instance(self, japan_inputs: ForecastInputs) -> None:
        """One Redis for both roles: a result that would leave it above result_max_memory is not written; the
        job fails with the reason, and the broker keeps room for its acks."""
        spec = japan_forecast(japan_inputs)
        with RedisServer("--maxmemory-policy", "noeviction") as server:
            client = server.client()
            jobs = JobStore(client, "tivcast-test-results", 3600, 3600, accept_max_memory=0.8, result_max_memory=0.9)
            try:
                assert submit(jobs, spec) == "created"
                used = int(client.info("memory")["used_memory"])
                client.config_set("maxmemory", int(used / 0.85))  # below the result bound, above the admission mark
                assert jobs.claim(spec.key, 3, "w") == ("claimed", 1)
                body = b"x" * 80_000  # a large result (65-82 KB were seen)
                assert jobs.succeed(spec.key, body, 1, "run-1") is False
                failed = job(jobs, spec.key)
                assert failed.state == "failed" and "was not stored" in (failed.error or "")
                assert not client.exists(jobs.keys.result(spec.key), jobs.keys.payload(spec.key))
                memory = client.info("memory")
                assert int(memory["used_memory"]) < int(memory["maxmemory"])
                client.set("kombu-ack-room", "x")  # a plain write still succeeds: nothing is wedged
            finally:
                client.close()
        with RedisServer("--maxmemory-policy", "noeviction") as state, RedisServer(
            "--maxmemory-policy", "allkeys-lru"
        ) as cache:
            client, results = state.client(), cache.client()
            jobs = JobStore(client, "tivcast-test-results", 3600, 3600, results)
            try:  # on its own (evicting) instance a result is not bounded by the state instance's memory
                submit(jobs, spec)
                used = int(client.info("memory")["used_memory"])
                client.config_set("maxmemory", int(used / 0.85))
                jobs.claim(spec.key, 3, "w")
                assert jobs.succeed(spec.key, b"x" * 80_000, 1, "run-1") is True
                assert job(jobs, spec.key).state == "succeeded"
            finally:
                client.close()
                results.close()

    def test_idempotency_keys_are_not_stored_past_the_mark(self, japan_inputs: ForecastInputs) -> None:
        spec = japan_forecast(japan_inputs)
        with RedisServer("--maxmemory-policy", "noeviction") as server:
            settings = settings_for(unique_prefix("idem"), server.url())

            async def scenario() -> None:
                service = RedisService(settings)
                try:
                    assert await service.idempotency("below", "hash-a", spec.key) is None
                    client = server.client()
                    used = int(client.info("memory")["used_memory"])
                    client.config_set("maxmemory", int(used / 0.8) - 1)
                    assert await service.idempotency("above", "hash-a", spec.key) is None
                    assert await service.idempotency_seen("below") == "hash-a"
                    assert await service.idempotency_seen("above") is None  # nothing stored past the mark
                    assert 0 < int(client.ttl(service.keys.idempotency("below"))) <= 3600
                    client.close()
                finally:
                    await service.aclose()

            run(scenario())


def test_a_task_waits_out_a_redis_that_cannot_persist() -> None:
    """MISCONF (a failed snapshot: Redis refuses writes) is an outage to a task, as a stopped Redis is: its Redis
    operations wait until Redis takes writes again (it failed the task, and the FAIL recording it failed too)."""
    with RedisServer("--save", "3600 1") as server:
        client = server.client()
        shutil.rmtree(server.dir)  # where it saves: gone, so the next snapshot fails
        client.bgsave()
        deadline = time.monotonic() + 10
        while client.info("persistence")["rdb_last_bgsave_status"] != "err":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(redis.ResponseError, match="MISCONF"):
            client.set("k", "v")
        server.dir.mkdir()  # for close()
        operator = server.client()  # the fix an operator makes: let it take writes again without saving
        timer = threading.Timer(0.6, lambda: operator.config_set("stop-writes-on-bgsave-error", "no"))
        timer.start()
        started = time.monotonic()
        assert tasks.Patience(settings_for(unique_prefix("misconf")))(lambda: client.set("k", "v"), "write")
        assert 0.5 < time.monotonic() - started < 5
        timer.join()
        operator.close()
        client.close()
