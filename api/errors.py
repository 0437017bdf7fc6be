"""Typed errors and the single handler that renders them as RFC 9457 problem+json.

TivcastError                 500  base; only real bugs end up as a bare 500
 ├── Unauthorized            401  admin route without a valid API key; carries WWW-Authenticate
 ├── NotFound                404  unknown dataset, country, release
 ├── InvalidParameter        422  a query or body field is wrong (names the field)
 ├── InvalidFile             422  an ingested file is wrong (names line and column)
 ├── NotAcceptable           406  Accept allows none of the representations (JSON, CSV)
 ├── UnsupportedMediaType    415  a body of a type the route does not read (names the types it does)
 ├── Conflict                409  e.g. a release id reused for different content
 ├── TooManyRequests         429  a client over its rate limit; carries Retry-After
 └── DependencyUnavailable   503  database or Redis away; carries Retry-After

forecasting.InvalidInputs escaping from building a forecast's inputs means the *stored* data breaks an
invariant the model relies on (the ingest refuses such files; a database edited by hand may still hold one):
a 422 ``invalid-stored-data`` naming the dataset, country and year. Any other ForecastingError that escapes
a route is a 422 ``invalid-forecast`` with the core's message. Neither is ever a 500.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from forecasting import ForecastingError, InvalidInputs
from workers.client import Unavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class TivcastError(Exception):
    status = 500
    title = "Internal server error"
    slug = "internal"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class NotFound(TivcastError):
    status, title, slug = 404, "Not found", "not-found"


class InvalidParameter(TivcastError):
    status, title, slug = 422, "Invalid parameter", "invalid-parameter"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])
        self.field = field


class InvalidFile(TivcastError):
    status, title, slug = 422, "Invalid file", "invalid-file"

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None) -> None:
        where = ", ".join(p for p in (f"line {line}" if line else "", f"column {column!r}" if column else "") if p)
        super().__init__(f"{where}: {message}" if where else message)
        self.line, self.column, self.message = line, column, message
        self.errors = [{"line": line, "column": column, "message": message}]


class NotAcceptable(TivcastError):
    status, title, slug = 406, "Not acceptable", "not-acceptable"


class UnsupportedMediaType(TivcastError):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"

    def __init__(self, media_type: str, accepted: tuple[str, ...], how: str) -> None:
        """``accepted``: the media types the route reads (also sent as ``Accept-Post``); ``how``: how to send the
        body in one of them."""
        given = repr(media_type) if media_type else "no Content-Type"
        message = f"{given} is not a type this route reads; it accepts {', '.join(accepted)}: {how}"
        super().__init__(
            f"Content-Type: {message}",
            errors=[{"field": "Content-Type", "message": message}],
            headers={"Accept-Post": ", ".join(accepted)},
        )


class Conflict(TivcastError):
    status, title, slug = 409, "Conflict", "conflict"


class Unauthorized(TivcastError):
    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str, *, challenge: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class TooManyRequests(TivcastError):
    status, title, slug = 429, "Too many requests", "too-many-requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


class DependencyUnavailable(TivcastError):
    status, title, slug = 503, "Service unavailable", "dependency-unavailable"

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    slug: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


# Which stored dataset (and whose row) each field of forecasting.ForecastInputs is built from (api/forecasts/inputs.py).
INPUT_FIELDS = {
    "inputs.target_tiv": ("arms-exports", None),
    "inputs.world_tiv": ("arms-exports", "WLD"),
    "inputs.drivers.world_military_expenditure": ("milex-constant-usd", "WLD"),
    "inputs.drivers.japan_defence_spending": ("milex-constant-usd", None),
    "inputs.drivers.own_military_expenditure": ("milex-constant-usd", None),
    "inputs.policy_events": ("policy-events", None),
}
_FIELD = re.compile(r"^(?P<name>[a-z_.]+)(?:\[(?P<year>\d{4})\])?")


async def _requested_country(request: Request) -> str | None:
    """The country a forecast route was asked about: ``?country=`` or the JSON body's ``target.country``."""
    country = request.query_params.get("country")
    if country:
        return country.split(",")[0].strip().upper() or None
    try:
        body = json.loads(await request.body() or b"null")
    except (ValueError, RuntimeError):  # not JSON, or the body stream was already consumed elsewhere
        return None
    target = body.get("target") if isinstance(body, dict) else None
    code = target.get("country") if isinstance(target, dict) else None
    return code.upper() if isinstance(code, str) else None


async def stored_data_problem(request: Request, exc: InvalidInputs) -> JSONResponse:
    match = _FIELD.match(exc.field or "")
    dataset, whose = INPUT_FIELDS.get(match.group("name") if match else "", ("arms-exports", None))
    country = whose or await _requested_country(request) or "the requested country"
    year = match.group("year") if match else None
    where = f"dataset {dataset!r}, country {country}" + (f", year {year}" if year else "")
    detail = (
        f"the stored data cannot be forecast ({where}): {exc.message}. The release breaks the dataset's own "
        "invariants; an administrator must load a corrected release."
    )
    log.error("stored data breaks a forecasting invariant: %s", detail)
    error: dict[str, Any] = {"field": exc.field or "inputs", "message": exc.message, "dataset": dataset,
                             "country": country}
    if year:
        error["year"] = int(year)
    return problem(
        422,
        "Stored data cannot be forecast",
        detail,
        slug="invalid-stored-data",
        errors=[error],
        instance=request.url.path,
    )


def full_allow(allow: str) -> str:
    """The ``Allow`` of a path whose routes take ``allow``: every path also answers OPTIONS, and a GET route
    HEAD (api/web/semantics.py), so a 405 and an OPTIONS name the same methods."""
    methods = {m.strip().upper() for m in allow.split(",") if m.strip()}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods | {"OPTIONS"}))


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("query", "path", "body", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _validation_error(error: Any, body: Any) -> dict[str, str]:
    """One entry of a RequestValidationError as ``{field, message}``. A body that is not JSON is the field
    ``body``: FastAPI's location for it is the parser's character offset (from 0), which the message gives
    instead, with the line and column (from 1)."""
    loc = tuple(error["loc"])
    if error.get("type") != "json_invalid" or not loc or not isinstance(loc[-1], int):
        return {"field": _field_name(loc), "message": error["msg"]}
    offset = loc[-1]
    reason = str((error.get("ctx") or {}).get("error") or error["msg"])
    where = f"at offset {offset}"
    if isinstance(body, str) and offset <= len(body):
        line, line_start = body.count("\n", 0, offset) + 1, body.rfind("\n", 0, offset) + 1
        where += f" (line {line}, column {offset - line_start + 1})"
    return {"field": "body", "message": f"not valid JSON: {reason} {where}"}


def add_exception_handlers(app: FastAPI) -> None:
    """Install the handlers: every error leaves the app as problem+json."""

    @app.exception_handler(TivcastError)
    async def _tivcast(request: Request, exc: TivcastError) -> JSONResponse:
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            slug=exc.slug,
            errors=exc.errors,
            headers=exc.headers,
            instance=request.url.path,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_validation_error(e, exc.body) for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(
            422, "Invalid parameter", detail, slug="invalid-parameter", errors=errors, instance=request.url.path
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. bytes that are not UTF-8 JSON)
            message = "the body could not be parsed; send UTF-8 JSON"
            return problem(
                422,
                "Invalid parameter",
                f"body: {message}",
                slug="invalid-parameter",
                errors=[{"field": "body", "message": message}],
                instance=request.url.path,
            )
        title = {
            404: "Not found",
            405: "Method not allowed",
            406: "Not acceptable",
            413: "Content too large",
            415: "Unsupported media type",
        }.get(exc.status_code, "Error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405 and "Allow" in headers:
            headers["Allow"] = full_allow(headers["Allow"])
        return problem(
            exc.status_code,
            title,
            str(exc.detail),
            slug=title.lower().replace(" ", "-"),
            headers=headers,
            instance=request.url.path,
        )

    @app.exception_handler(InvalidInputs)
    async def _stored_data(request: Request, exc: InvalidInputs) -> JSONResponse:
        return await stored_data_problem(request, exc)

    @app.exception_handler(ForecastingError)
    async def _forecasting(request: Request, exc: ForecastingError) -> JSONResponse:
        return problem(
            422,
            "Invalid forecast request",
            str(exc),
            slug="invalid-forecast",
            errors=[{"field": exc.field or "body", "message": exc.message}],
            instance=request.url.path,
        )

    @app.exception_handler(Unavailable)
    async def _service_down(request: Request, exc: Unavailable) -> JSONResponse:
        return problem(
            503,
            "Service unavailable",
            str(exc) or "The forecast service is unavailable; retry shortly.",
            slug="dependency-unavailable",
            headers={"Retry-After": str(exc.retry_after)},
            instance=request.url.path,
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: DBAPIError) -> JSONResponse:
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return problem(
            503,
            "Service unavailable",
            "The database is not answering; try again shortly.",
            slug="dependency-unavailable",
            headers={"Retry-After": "5"},
            instance=request.url.path,
        )

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            500,
            "Internal server error",
            "An unexpected error occurred; it has been logged.",
            slug="internal",
            instance=request.url.path,
        )
