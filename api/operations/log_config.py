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
import random
import re
import threading
import time
from collections.abc import Mapping
from json.encoder import encode_basestring as _quote  # the C encoder json.dumps uses
from typing import Any

from workers import logs
from workers.logs import JsonFormatter

__all__ = ["ACCESS", "REQUEST_ID", "access", "access_line", "iso_millis", "request_id_from", "uvicorn_log_config"]

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
    # 32 hex digits like os.urandom(16).hex(), without a system call per request: an id must be unique, not
    # secret. The random module reseeds itself in a forked child, so processes never share a sequence.
    return random.randbytes(16).hex()


def access(method: str, path: str, route: str, status: int, seconds: float) -> None:
    """One line per answered request (the request id comes from the bound context).

    In the serve configuration the line's fields are handed straight to the handler, which formats them
    with the batch they are written in (see :class:`BufferedStreamHandler`); anything else gets a record
    through logging as usual."""
    if ACCESS.isEnabledFor(logging.INFO):
        handler = _direct_handler()
        if handler is not None:
            handler.defer((method, path, route, status, seconds, time.time_ns(), logs._context.get()))
            return
        record = logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, "%s %s %d", (method, path, status), None)
        record.method, record.path, record.route, record.status = method, path, route, status
        record.duration_ms = round(seconds * 1e3, 3)
        ACCESS.handle(record)


# An access line's fields as the request ends: method, path, route, status, seconds, time (ns), bound context.
AccessFields = tuple[str, str, str, int, float, int, Mapping[str, str]]

_OWN_FIELDS = frozenset({"timestamp", "level", "logger", "message", "method", "path", "route", "status", "duration_ms"})
_LOGGER = _quote(ACCESS.name)


def access_line(
    method: str,
    path: str,
    route: str,
    status: int,
    seconds: float,
    ns: int | None = None,
    context: Mapping[str, str] | None = None,
) -> str:
    """The access line as :class:`~workers.logs.JsonFormatter` formats its record (same fields, order and
    bytes), without a ``LogRecord``, ``Logger.info``'s stack walk, a dict or ``json.dumps``: the fixed parts
    are a template and each string goes through the C encoder that ``json.dumps`` itself uses. A bound field
    named like one of the line's own (or one that is not text) takes the dict path, which merges as the
    formatter does. ``ns`` and ``context``: the request's end time and bound fields (default: now, and the
    current context)."""
    ns = time.time_ns() if ns is None else ns
    context = logs._context.get() if context is None else context
    duration = round(seconds * 1e3, 3)
    bound = ""
    for key, value in context.items():
        if key in _OWN_FIELDS or type(key) is not str or type(value) is not str:
            break
        bound += f", {_quote(key)}: {_quote(value)}"
    else:
        around = _around.get((method, path, route, status))
        if around is None:
            around = _around_bound(method, path, route, status)
        return f'{{"timestamp": "{iso_millis(ns)}{around[0]}{bound}{around[1]}{duration!r}}}'
    document = {
        "timestamp": iso_millis(ns),
        "level": "INFO",
        "logger": ACCESS.name,
        "message": f"{method} {path} {status}",
        **context,
        "method": method,
        "path": path,
        "route": route,
        "status": status,
        "duration_ms": duration,
    }
    return json.dumps(document, ensure_ascii=False, default=str)


_around: dict[tuple[str, str, str, int], tuple[str, str]] = {}  # what a line has before and after its bound fields


def _around_bound(method: str, path: str, route: str, status: int) -> tuple[str, str]:
    """The encoded text of a line between its timestamp and its bound fields, and from them to its duration."""
    around = (
        f'", "level": "INFO", "logger": {_LOGGER}, "message": {_quote(f"{method} {path} {status}")}',
        f', "method": {_quote(method)}, "path": {_quote(path)}, "route": {_quote(route)}, "status": {int(status)}, '
        '"duration_ms": ',
    )
    if len(_around) >= 4096:  # paths are the client's: keep the most recent few
        _around.clear()
    _around[(method, path, route, status)] = around
    return around


_second: tuple[int, str] = (-1, "")  # the last second formatted, as its date and time of day
_milli: tuple[int, str] = (-1, "")  # the last millisecond formatted, as the whole timestamp


def iso_millis(ns: int) -> str:
    """A time in nanoseconds since the epoch as JsonFormatter writes timestamps
    (``2026-12-01T09:00:00.123+00:00``: UTC, milliseconds cut, not rounded). Each second's date and time of
    day is formatted once and each millisecond's text is reused: at a few thousand lines a second, many
    lines share one."""
    global _second, _milli
    milli, text = _milli
    now = ns // 1_000_000
    if now == milli:
        return text
    whole, part = divmod(now, 1000)
    second, day_time = _second
    if whole != second:
        day_time = dt.datetime.fromtimestamp(whole, dt.UTC).isoformat(timespec="seconds")[:19]
        _second = whole, day_time
    text = f"{day_time}.{part:03d}+00:00"
    _milli = now, text
    return text


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
    request; a line waits at most ``interval`` seconds. Used for the access log, which has a line per request.

    :meth:`defer` takes an access line's fields instead of its text: the lines of a batch are then formatted
    together when it is written, which costs a fraction of formatting each one between two requests (measured
    by ``bench/http_reads.py``: the formatting code stays hot in the processor's caches)."""

    DEFERRED_SIZE = 320  # about an access line's length: what a deferred line counts towards ``limit``

    def __init__(self, stream: Any = None, interval: float = 0.25, limit: int = 65536) -> None:
        super().__init__(stream)
        self._pending: list[str | AccessFields] = []
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

    def defer(self, fields: AccessFields) -> None:
        """Queue one access line's fields, formatted (by :func:`access_line`) when the batch is written."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(fields)
            self._size += self.DEFERRED_SIZE
            full = self._size >= self._limit
        if full:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            pending, self._pending, self._size = self._pending, [], 0
            if pending and self.stream is not None:
                end = self.terminator
                try:
                    text = "".join(e if isinstance(e, str) else access_line(*e) + end for e in pending)
                except Exception:  # a line that cannot be formatted: again, one by one, without it
                    text = "".join(self._text(entry) for entry in pending)
                self.stream.write(text)
                self.stream.flush()

    def _text(self, entry: str | AccessFields) -> str:
        """A queued line's text; a deferred line that cannot be formatted is reported (``handleError``) and
        left out, and the rest of its batch is written."""
        if isinstance(entry, str):
            return entry
        try:
            return access_line(*entry) + self.terminator
        except Exception:
            method, path, _, status, *_ = entry
            self.handleError(logging.LogRecord(ACCESS.name, logging.INFO, __file__, 0, "%s %s %s",
                                               (method, path, status), None))
            return ""

    def _drain(self) -> None:
        while not self._closed:
            self._wake.wait(self._interval)
            try:
                self.flush()
            except (OSError, ValueError):  # the stream went away (shutdown) or is unusable: report, keep going
                if self._closed:
                    return
                self.handleError(logging.LogRecord(ACCESS.name, logging.ERROR, __file__, 0,
                                                   "access log: writing a batch failed", None, None))

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
            # one line per request: written in batches (api.operations.log_config.BufferedStreamHandler)
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
