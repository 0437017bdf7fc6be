"""The access log's fast path (``tivcast serve``'s configuration) writes what JsonFormatter would write."""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator

import pytest

from api.log_config import ACCESS, BufferedStreamHandler, access, uvicorn_log_config
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


def test_lines_are_batched_and_written_at_close(serve_config: BufferedStreamHandler) -> None:
    stream = serve_config.stream
    for status in (200, 304, 404):
        access("GET", "/v1/countries", "/v1/countries", status, 0.001)
    serve_config.close()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]  # type: ignore[attr-defined]
    assert [line["status"] for line in lines] == [200, 304, 404]
