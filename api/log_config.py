"""The API's logs: JSON lines (:class:`workers.logs.JsonFormatter`), one access line per request,
and the request id that ties them together.

``X-Request-ID`` from the client is kept when it is a plausible id (1–128 characters of
``[A-Za-z0-9._:+/=-]``), otherwise a new one is made; either way it is bound to the log context for
the request (so every line logged while answering it carries ``request_id``), sent with any task
the request publishes, and echoed in the response. Bodies and query strings are never logged.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

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
    """One line per answered request (the request id comes from the bound context)."""
    if ACCESS.isEnabledFor(logging.INFO):
        ACCESS.info(
            "%s %s %d",
            method,
            path,
            status,
            extra={
                "method": method,
                "path": path,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1e3, 3),
            },
        )


def uvicorn_log_config(level: str = "info") -> dict[str, Any]:
    """``logging.config.dictConfig`` for ``tivcast serve``: every logger (uvicorn's too) writes JSON to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "workers.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},  # replaced by tivcast.access
        },
    }
