"""Structured logs: one JSON object per line, carrying the request id that started the work.

Every record becomes ``{"timestamp", "level", "logger", "message", ...}`` plus the fields bound to
the current context (:func:`bind`: ``request_id`` in the API while it answers a request, and
``request_id``, ``task_id`` and ``job`` in a worker while it runs a task) and any ``extra=`` fields
of the call. The API binds the request id it accepted or generated (``X-Request-ID``); the forecast
client sends it as a Celery message header (:data:`REQUEST_ID_HEADER`) with the task it publishes,
and the worker binds it again around that task (:mod:`workers.runtime`), so one id leads from the
API's access log to the worker's log of the job it started.

A Celery worker or beat configures its logging here (the ``setup_logging`` signal: Celery then
leaves logging alone); the API's ``tivcast serve`` does through uvicorn's ``log_config``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any

from celery.signals import setup_logging

__all__ = ["REQUEST_ID_HEADER", "JsonFormatter", "bind", "bound", "clear", "configure", "reset"]

REQUEST_ID_HEADER = "request_id"  # Celery message header carrying the API request's id
_context: ContextVar[Mapping[str, str]] = ContextVar("tivcast_log_context", default={})  # noqa: B039 (never mutated)
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged as a field.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}


def bind(**fields: str) -> Token[Mapping[str, str]]:
    """Add ``fields`` to every record logged in this context (and in tasks and threads started from it)."""
    return _context.set({**_context.get(), **fields})


def reset(token: Token[Mapping[str, str]]) -> None:
    """Undo a :func:`bind` (same context)."""
    _context.reset(token)


def clear() -> None:
    """Forget every bound field (a worker, after each task)."""
    _context.set({})


def bound(name: str) -> str | None:
    """A field bound to the current context, e.g. ``bound("request_id")``."""
    return _context.get().get(name)


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC, ms), level, logger, message, bound and extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "timestamp": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context.get(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def configure(level: int | str = logging.INFO) -> None:
    """JSON lines on stderr for the whole process (replaces the root logger's handlers)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


@setup_logging.connect
def _celery_logging(loglevel: int | str | None = None, **_: Any) -> None:
    """Celery worker and beat: JSON logs at the ``--loglevel`` given."""
    configure(loglevel or logging.INFO)
