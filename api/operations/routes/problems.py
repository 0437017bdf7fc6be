"""``GET /problems/{type}``: the page each problem ``type`` URI of an error body resolves to (RFC 9457 §3.1.1).

Every ``type`` tivcast sends is ``/problems/<slug>`` (a reference relative to the API's origin); each has a
page here saying what it means and what to do, as HTML for people and JSON for programs (``Accept``)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.errors import NotFound
from api.web.negotiation import parse_accept, weight


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    meaning: str
    remedy: str


TYPES: dict[str, ProblemType] = {
    "invalid-parameter": ProblemType(
        422, "Invalid parameter",
        "A query, path or body field is wrong: out of range, malformed, unknown (a typo such as countries=), "
        "given twice, or a cursor from another query. errors[] names each field.",
        "Fix the named field; see /docs for each endpoint's parameters.",
    ),
    "not-found": ProblemType(
        404, "Not found", "The dataset, release, country, scenario, forecast or path does not exist.",
        "Check the identifier against /v1/datasets, /v1/countries or /v1/scenarios.",
    ),
    "not-acceptable": ProblemType(
        406, "Not acceptable", "The Accept header allows none of the representations the endpoint sends.",
        "Send Accept: application/json or text/csv, or add format=json or format=csv.",
    ),
    "invalid-file": ProblemType(
        422, "Invalid file",
        "An uploaded or ingested file is wrong (header, number, duplicate, unknown country, a value above the "
        "world total, encoding, truncation). errors[] names the line and column. Nothing was stored.",
        "Correct the file at the named line and column and send it again.",
    ),
    "conflict": ProblemType(
        409, "Conflict",
        "The request conflicts with what is stored: a release id taken by other content, or a file that would "
        "replace a much larger release without replace=true.",
        "Choose another release id, or confirm the replacement with replace=true (tivcast ingest --replace).",
    ),
    "unauthorized": ProblemType(
        401, "Unauthorized", "An admin route was called without a valid API key.",
        "Send Authorization: Bearer <key> or X-API-Key: <key>.",
    ),
    "too-many-requests": ProblemType(
        429, "Too many requests", "This client is over its rate limit.", "Wait for the seconds in Retry-After.",
    ),
    "content-too-large": ProblemType(
        413, "Content too large", "The request body is over the size limit.", "Send a smaller body.",
    ),
    "unsupported-media-type": ProblemType(
        415, "Unsupported media type", "The body is not of a type this endpoint reads.",
        "Send the Content-Type the endpoint documents; the problem names the ones it reads, as does Accept-Post "
        "(uploads: application/octet-stream, text/csv, text/plain or multipart/form-data).",
    ),
    "method-not-allowed": ProblemType(
        405, "Method not allowed", "The path exists but not with this method.", "Use a method listed in Allow.",
    ),
    "dependency-unavailable": ProblemType(
        503, "Service unavailable",
        "A dependency (the database, Redis, the forecast workers) is not answering. Nothing was changed.",
        "Retry after the seconds in Retry-After.",
    ),
    "invalid-stored-data": ProblemType(
        422, "Stored data cannot be forecast",
        "The stored release breaks an invariant the forecasting model relies on (for example a country above "
        "the world total); the detail names the dataset, country and year.",
        "An administrator must load a corrected release; other countries still forecast.",
    ),
    "invalid-forecast": ProblemType(
        422, "Invalid forecast request", "The forecast request (target, scenario, horizon, ...) is not valid.",
        "Fix the named field; GET /v1/scenarios lists the built-in scenarios and their drivers.",
    ),
    "forecast-failed": ProblemType(
        422, "Forecast failed", "The forecast job ran and failed; the detail says why.",
        "Change the request (e.g. the scenario or horizon); the same request fails the same way.",
    ),
    "internal": ProblemType(
        500, "Internal server error", "An unexpected error; it has been logged with the request id.",
        "Report it with the X-Request-ID of the response.",
    ),
    "error": ProblemType(
        400, "Error", "Another HTTP error; the status and detail say which.", "See the detail.",
    ),
}  # fmt: skip
router = APIRouter(include_in_schema=False)


@router.get("/problems/{slug}")
async def problem_type(request: Request, slug: str = Path(max_length=64, pattern=r"^[a-z0-9-]+$")) -> Response:
    """What a problem type means and what to do about it."""
    found = TYPES.get(slug)
    if found is None:
        raise NotFound(f"no problem type {slug!r}; known: {', '.join(sorted(TYPES))}")
    ranges = parse_accept(request.headers.get("accept", ""))
    wants_json = weight(("application", "json"), ranges) > weight(("text", "html"), ranges)
    headers = {"Cache-Control": "public, max-age=86400"}
    if wants_json:
        body = {"type": f"/problems/{slug}", "status": found.status, "title": found.title,
                "meaning": found.meaning, "remedy": found.remedy}  # fmt: skip
        return JSONResponse(body, headers=headers)
    page = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(found.title)} - tivcast</title>"
        f"<h1>{html.escape(found.title)}</h1><p>HTTP status {found.status}. Problem type "
        f"<code>/problems/{html.escape(slug)}</code> (RFC 9457).</p><h2>What it means</h2>"
        f"<p>{html.escape(found.meaning)}</p><h2>What to do</h2><p>{html.escape(found.remedy)}</p>"
        '<p><a href="/docs">API documentation</a></p></html>'
    )
    return HTMLResponse(page, headers=headers)
