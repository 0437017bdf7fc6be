"""The API's logs: JSON lines (:class:`workers.logs.JsonFormatter`), one access line per request,
and the request id that ties them together.

``X-Request-ID`` from the client is kept when it is a plausible id (1–128 characters of
``[A-Za-z0-9._:+/=-]``), otherwise a new one is made; either way it is bound to the log context for
the request (so every line logged while answering it carries ``request_id``), sent with any task
the request publishes, and echoed in the response. Bodies and query strings are never logged.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import threading
import time
from typing import Any

from workers import logs
from workers.logs import JsonFormatter

__all__ = ["ACCESS", "REQUEST_ID", "access", "request_id_from", "uvicorn_log_config"]

REQUEST_ID = b"x-request-id"
_VALID = re.compile(rb"^[A-Za-z0-9._:+/=-]{1,128}$")
ACCESS = logging.getLogger("tivcast.access")


def request_id_from(headers: list[tuple[bytes, bytes]]) -> str:
    """The client's ``X-Request-ID`` when it is well formed, else a new random id."""
    for name, value in headers:
        if name == REQUEST_ID:
            if _VALID.match(value):
                return value.decode("ascii")
            break
    return os.urandom(16).hex()  # as random as a uuid4, a quarter of the cost


def access(method: str, path: str, route: str, status: int, seconds: float) -> None:
    """One line per answered request (the request id comes from the bound context).

    The record is built directly: ``Logger.info`` would walk the stack to find its caller, which costs
    more than formatting the line, for a file and line number the access log never shows."""
    if ACCESS.isEnabledFor(logging.INFO):
        handler = _direct_handler()
        if handler is not None:  # the serve configuration: the same JSON line, without a LogRecord
            document = {
                "timestamp": dt.datetime.fromtimestamp(time.time(), dt.UTC).isoformat(timespec="milliseconds"),
                "level": "INFO",
                "logger": ACCESS.name,
                "message": f"{method} {path} {status}",
                **logs._context.get(),
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1e3, 3),
            }
            handler.write(json.dumps(document, ensure_ascii=False, default=str) + handler.terminator)
            return
        record = logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, "%s %s %d", (method, path, status), None)
        record.method, record.path, record.route, record.status = method, path, route, status
        record.duration_ms = round(seconds * 1e3, 3)
        ACCESS.handle(record)


def _direct_handler() -> BufferedStreamHandler | None:
    """The access logger's only handler when it is the serve configuration's (a BufferedStreamHandler with
    the JSON formatter, no filters, not propagating): then a line can be written without a LogRecord, with
    exactly the bytes JsonFormatter would give. Anything else (a test's capture handler, another config)
    goes through logging as usual."""
    handlers = ACCESS.handlers
    if len(handlers) != 1 or ACCESS.propagate or ACCESS.filters:
        return None
    handler = handlers[0]
    if type(handler) is BufferedStreamHandler and type(handler.formatter) is JsonFormatter and not handler.filters:
        return handler
    return None


class BufferedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that writes lines in batches: at most every ``interval`` seconds, or when
    ``limit`` bytes are waiting, and at close. One ``write`` per batch instead of a write and a flush per
    request; a line waits at most ``interval`` seconds. Used for the access log, which has a line per request."""

    def __init__(self, stream: Any = None, interval: float = 0.25, limit: int = 65536) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._size, self._limit, self._interval = 0, limit, interval
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._drain, name="access-log-writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self.write(line)

    def write(self, line: str) -> None:
        """Queue one formatted line (with its terminator)."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            self._size += len(line)
            full = self._size >= self._limit
        if full:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            pending, self._pending, self._size = self._pending, [], 0
            if pending and self.stream is not None:
                self.stream.write("".join(pending))
                self.stream.flush()

    def _drain(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            try:
                self.flush()
            except (OSError, ValueError):  # the stream went away (shutdown): nothing more to write
                return

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        try:
            self.flush()
        finally:
            super().close()


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """``logging.config.dictConfig`` for ``tivcast serve``: every logger (uvicorn's too) writes JSON to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "workers.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
            # one line per request: written in batches (api.log_config.BufferedStreamHandler)
            "access": {"()": BufferedStreamHandler, "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "tivcast.access": {"handlers": ["access"], "propagate": False},
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},  # replaced by tivcast.access
        },
    }
