"""The access log's fast path (``tivcast serve``'s configuration) writes what JsonFormatter would write."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import logging.config
import random
import time
from collections.abc import Iterator

import pytest

from api.operations import log_config
from api.operations.log_config import ACCESS, BufferedStreamHandler, access, access_line, iso_millis, uvicorn_log_config
from workers import logs
from workers.logs import JsonFormatter


@pytest.fixture
def serve_config() -> Iterator[BufferedStreamHandler]:
    root = logging.getLogger()
    saved = (ACCESS.handlers[:], ACCESS.propagate, ACCESS.level)
    saved_root = (root.handlers[:], root.level)
    logging.config.dictConfig(uvicorn_log_config("info"))
    handler = ACCESS.handlers[0]
    assert isinstance(handler, BufferedStreamHandler)
    handler.setStream(io.StringIO())
    try:
        yield handler
    finally:
        handler.close()
        ACCESS.handlers[:], ACCESS.propagate = saved[0], saved[1]
        ACCESS.setLevel(saved[2])
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])


def test_the_direct_line_equals_the_formatted_record(serve_config: BufferedStreamHandler) -> None:
    token = logs.bind(request_id="req-1")
    try:
        access("GET", "/v1/countries", "/v1/countries", 200, 0.0012345)
        serve_config.flush()
        direct = json.loads(serve_config.stream.getvalue())  # type: ignore[attr-defined]
        captured = io.StringIO()
        extra = logging.StreamHandler(captured)
        extra.setFormatter(JsonFormatter())
        ACCESS.addHandler(extra)  # another handler: the record path (what tests and other configs see)
        access("GET", "/v1/countries", "/v1/countries", 200, 0.0012345)
        ACCESS.removeHandler(extra)
    finally:
        logs.reset(token)
    through_logging = json.loads(captured.getvalue())
    assert direct.pop("timestamp").endswith("+00:00") and through_logging.pop("timestamp")
    assert list(direct.items()) == list(through_logging.items())
    assert direct["request_id"] == "req-1" and direct["duration_ms"] == 1.234


def test_a_line_written_later_keeps_its_request_s_time_and_fields(
    serve_config: BufferedStreamHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ACCESS, "handlers", [serve_config])  # alone, as in serve (pytest adds its capture)
    ns = 1_764_590_674_875_000_000
    monkeypatch.setattr(log_config.time, "time_ns", lambda: ns)
    token = logs.bind(request_id="req-early")
    try:
        access("GET", "/v1/countries", "/v1/countries", 200, 0.0012345)
    finally:
        logs.reset(token)
    monkeypatch.setattr(log_config.time, "time_ns", lambda: ns + 5 * 10**9)  # written 5 s later, unbound
    token = logs.bind(request_id="req-late")
    try:
        serve_config.flush()
    finally:
        logs.reset(token)
    line = json.loads(serve_config.stream.getvalue())  # type: ignore[attr-defined]
    assert line["timestamp"] == "2025-12-01T12:04:34.875+00:00"
    assert line["request_id"] == "req-early" and line["status"] == 200


def test_a_full_batch_is_written_without_waiting(
    serve_config: BufferedStreamHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ACCESS, "handlers", [serve_config])
    lines = serve_config._limit // serve_config.DEFERRED_SIZE + 1
    for _ in range(lines):
        access("GET", "/v1/countries", "/v1/countries", 200, 0.001)
    written = serve_config.stream.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(written) == lines and all(json.loads(line)["path"] == "/v1/countries" for line in written)


def test_a_line_that_cannot_be_formatted_costs_only_itself(
    serve_config: BufferedStreamHandler, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise ValueError("no text")

    reported: list[logging.LogRecord] = []
    monkeypatch.setattr(serve_config, "handleError", reported.append)
    good = ("GET", "/v1/countries", "/v1/countries", 200, 0.001, 1_764_590_674_875_000_000, {"request_id": "a"})
    bad = ("GET", "/v1/bad", "/v1/bad", 200, 0.001, 1_764_590_674_875_000_000, {"request_id": Unprintable()})
    serve_config.defer(good)
    serve_config.defer(bad)  # type: ignore[arg-type]
    serve_config.defer((*good[:-1], {"request_id": "b"}))
    deadline = time.monotonic() + 5
    while not serve_config.stream.getvalue() and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)  # the writer thread's next batch (every 0.25 s)
    lines = [json.loads(line) for line in serve_config.stream.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert [line["request_id"] for line in lines] == ["a", "b"]
    assert [r.args for r in reported] == [("GET", "/v1/bad", 200)]
    serve_config.defer(good)  # the writer thread lives on
    deadline = time.monotonic() + 5
    while len(serve_config.stream.getvalue().splitlines()) < 3 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.05)
    assert len(serve_config.stream.getvalue().splitlines()) == 3  # type: ignore[attr-defined]


def test_lines_are_batched_and_written_at_close(serve_config: BufferedStreamHandler) -> None:
    stream = serve_config.stream
    for status in (200, 304, 404):
        access("GET", "/v1/countries", "/v1/countries", status, 0.001)
    serve_config.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert [line["status"] for line in lines] == [200, 304, 404]


@pytest.mark.parametrize(
    "path", ["/v1/countries", '/v1/"quoted"\\back', "/v1/caf\u00e9/\u65e5\u672c", "/v1/ctl\n\t\x01\x7f\u2028"]
)
def test_the_direct_line_has_the_bytes_of_the_formatted_record(path: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ns = 1_764_590_674_875_000_000
    moment = ns / 1e9  # exact in binary
    monkeypatch.setattr(log_config.time, "time_ns", lambda: ns)
    record = logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, "%s %s %d", ("GET", path, 404), None)
    record.created = moment
    record.method, record.path, record.route, record.status = "GET", path, "unmatched", 404
    record.duration_ms = round(0.0456789 * 1e3, 3)
    for fields in ({"request_id": "req-1"}, {"request_id": "req-2", "task": 'a"b'}, {}):
        token = logs.bind(**fields) if fields else logs._context.set({})
        try:
            expected = JsonFormatter().format(record)
            assert access_line("GET", path, "unmatched", 404, 0.0456789) == expected
        finally:
            logs.reset(token)


def test_a_bound_field_named_like_an_own_field_is_formatted_as_the_record_would_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ns = 1_764_590_674_250_000_000
    moment = ns / 1e9  # exact in binary
    monkeypatch.setattr(log_config.time, "time_ns", lambda: ns)
    record = logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, "%s %s %d", ("GET", "/x", 200), None)
    record.created = moment
    record.method, record.path, record.route, record.status, record.duration_ms = "GET", "/x", "/x", 200, 1.0
    token = logs.bind(request_id="r", path="bound")
    try:
        assert access_line("GET", "/x", "/x", 200, 0.001) == JsonFormatter().format(record)
    finally:
        logs.reset(token)


def test_timestamps_are_those_of_datetime() -> None:
    rng = random.Random(7)
    moments = [rng.randrange(0, 4 * 10**18) for _ in range(20_000)]
    moments += [s * 10**9 + f for s in (0, 1, 1_764_590_674) for f in (0, 999_999, 1_000_000, 999_999_999)]
    moments += [1_764_590_674 * 10**9 + k * 99_991 for k in range(20_000)]
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    for ns in sorted(moments) + moments[::-1]:  # each second's and millisecond's text, reused and refreshed
        expected = (epoch + dt.timedelta(microseconds=ns // 1000)).isoformat(timespec="milliseconds")
        assert iso_millis(ns) == expected
