"""Rate limits on POST /v1/forecasts: per client, shared through Redis, and never a 500 when the store fails."""

from __future__ import annotations

import logging
from contextlib import ExitStack

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Databases
from tests.security.conftest import assert_problem, serve
from tests.services import SHARED_REDIS_URL, RedisServer, delete_prefix, free_port, redis_settings, unique_prefix

# Schema-valid but refused by the model (an unknown scenario): counted like any request, computes nothing.
BODY = {"target": {"country": "JPN"}, "scenario": "no-such-scenario"}


def post(client: TestClient, **headers: str) -> int:
    return client.post("/v1/forecasts", json=BODY, headers=headers).status_code


class TestInMemory:
    def test_the_request_over_the_limit_is_a_429_with_retry_after(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), rate_limit="3/minute") as client:
            assert [post(client) for _ in range(3)] == [422, 422, 422]
            response = client.post("/v1/forecasts", json=BODY)
            body = assert_problem(response, 429)
            assert 1 <= int(response.headers["retry-after"]) <= 60
            assert "3 per 1 minute" in body["detail"]

    def test_reads_are_never_limited(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), rate_limit="1/minute") as client:
            post(client)
            assert {client.get("/v1/countries").status_code for _ in range(20)} == {200}
            assert {client.get("/v1/scenarios/baseline").status_code for _ in range(5)} == {200}

    def test_each_client_has_its_own_budget(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), rate_limit="1/minute", client=("192.0.2.1", 4000)) as first:
            second = TestClient(first.app, client=("192.0.2.2", 4000))  # the same running app, another peer
            assert post(first) == 422 and post(first) == 429
            assert post(second) == 422

    def test_x_forwarded_for_counts_only_from_a_trusted_proxy(self, sqlite: Databases) -> None:
        # Untrusted peer: a forged X-Forwarded-For does not buy a fresh budget.
        with serve(sqlite.copy(), rate_limit="1/minute", client=("192.0.2.9", 4000)) as client:
            assert post(client, **{"X-Forwarded-For": "198.51.100.1"}) == 422
            assert post(client, **{"X-Forwarded-For": "198.51.100.2"}) == 429
        # Behind a trusted proxy, each forwarded client is counted on its own.
        options = {"rate_limit": "1/minute", "trusted_proxies": ["10.0.0.0/8"], "client": ("10.1.2.3", 4000)}
        with serve(sqlite.copy(), **options) as client:  # type: ignore[arg-type]
            assert post(client, **{"X-Forwarded-For": "198.51.100.1"}) == 422
            assert post(client, **{"X-Forwarded-For": "198.51.100.2"}) == 422
            assert post(client, **{"X-Forwarded-For": "198.51.100.1"}) == 429

    def test_no_limit_when_unset(self, sqlite: Databases) -> None:
        with serve(sqlite.copy(), rate_limit="") as client:
            assert {post(client) for _ in range(40)} == {422}


class TestRedis:
    def test_two_api_processes_share_one_budget(self, sqlite: Databases) -> None:
        prefix = unique_prefix("rate")
        worker = redis_settings(prefix)
        try:
            with ExitStack() as stack:
                a = stack.enter_context(serve(sqlite.copy(), worker, rate_limit="3/minute"))
                b = stack.enter_context(serve(sqlite.copy(), worker, rate_limit="3/minute"))
                assert [post(a), post(b), post(a)] == [422, 422, 422]
                assert post(b) == 429 and post(a) == 429
        finally:
            delete_prefix(SHARED_REDIS_URL, prefix)

    def test_a_store_that_is_down_lets_requests_through_and_says_so(
        self, sqlite: Databases, caplog: pytest.LogCaptureFixture
    ) -> None:
        dead = f"redis://127.0.0.1:{free_port()}/0"
        with caplog.at_level(logging.WARNING, "api.operations.security"):
            with serve(sqlite.copy(), rate_limit="1/minute", rate_limit_storage_url=dead) as client:
                assert {post(client) for _ in range(5)} == {422}
        assert "rate limit store unavailable" in caplog.text

    def test_redis_dying_mid_run_never_turns_into_a_500(self, sqlite: Databases) -> None:
        with RedisServer() as server:
            with serve(sqlite.copy(), rate_limit="2/minute", rate_limit_storage_url=server.url()) as client:
                assert [post(client), post(client), post(client)] == [422, 422, 429]
                server.stop()
                assert {post(client) for _ in range(5)} == {422}  # fail open, not 500, not 429
