"""The OpenAPI document declares the headers each response carries: caching (ETag, Cache-Control,
Last-Modified, Vary), paging (Link, X-Total-Count), bulk files (Content-Disposition, X-Release), job polling
(Location, Retry-After, Content-Location) and back-off (Retry-After on 503).

The routes set these headers in many places (the data routes, the replay cache, the forecast routes, the
error handlers); this module only *documents* them, by rule, on the built document. A header is declared
``required`` only where every response of that operation and status carries it: the generated-client test
(``tests/api/test_generated_client.py``) checks each real response of every operation against the document.
"""

from __future__ import annotations

from typing import Any

HEADERS: dict[str, tuple[str, str]] = {
    # name: (description, JSON-schema type)
    "ETag": ("The content's entity tag; send it back in If-None-Match for a 304 while it is unchanged", "string"),
    "Cache-Control": ("How long the response may be reused (data: public, max-age; a computed forecast: "
                      "immutable; jobs, probes and 202s: no-store)", "string"),
    "Last-Modified": ("When the release served became current (HTTP date)", "string"),
    "Vary": ("Accept: the same URL answers JSON or CSV by the Accept header", "string"),
    "Link": ("first / prev / next / last pages (RFC 8288), each pinned to the release the first page came "
             "from", "string"),
    "X-Total-Count": ("Rows the whole query matches, across every page", "integer"),
    "Content-Disposition": ("attachment, with a file name that names the dataset and release", "string"),
    "X-Release": ("The release id the file holds", "string"),
    "Location": ("The URL of the result (GET it until it is 200)", "string"),
    "Content-Location": ("The result's own immutable URL, under its content key", "string"),
    "Retry-After": ("Seconds to wait before asking again", "integer"),
    "X-Request-ID": ("This request's id, as in the access log (the client's own X-Request-ID when it sent "
                     "one)", "string"),
}

DATA_PREFIXES = ("/v1/datasets", "/v1/observations", "/v1/countries", "/v1/arms-exports", "/v1/policy-events")
FORECAST_PREFIXES = ("/v1/forecasts", "/v1/backtests")


def _data_200(path: str) -> list[str]:
    """The headers every 200 of a data GET carries."""
    required = ["ETag", "Cache-Control", "Last-Modified"]
    if path.endswith("/download"):
        return [*required, "Content-Disposition", "X-Release", "X-Total-Count"]
    required.append("Vary")
    if path.endswith("/datapackage"):
        required += ["Content-Disposition", "X-Release"]
    elif path == "/v1/datasets/{dataset_id}/observations":
        required += ["Link", "X-Total-Count"]
    elif path == "/v1/observations":
        required.append("X-Total-Count")
    return required


def headers_for(method: str, path: str, status: str) -> tuple[list[str], list[str]]:
    """(required, optional) response headers of ``method path`` answering ``status``, besides X-Request-ID."""
    if status in ("429", "503"):
        return ["Retry-After"], []
    admin = path.startswith("/v1/admin")
    if status == "409" and admin:
        return [], ["Retry-After"]  # when another load held the lock
    forecast = path.startswith(FORECAST_PREFIXES)
    if status == "202" and forecast:
        return ["Location", "Retry-After", "Cache-Control"], []
    if status == "304":
        return ["ETag", "Cache-Control"], ["Last-Modified", "Vary"]
    if status != "200" or admin:
        return [], []
    if path in ("/healthz", "/readyz") or path.startswith("/v1/jobs"):
        return ["Cache-Control"], ["Location"] if path.startswith("/v1/jobs") else []
    if forecast:
        return ["ETag", "Cache-Control"], ["Content-Location"]
    if path.startswith("/v1/scenarios"):
        return ["ETag", "Cache-Control"], []
    if method == "get" and path.startswith(DATA_PREFIXES):
        return _data_200(path), []
    return [], []


def declare_response_headers(schema: dict[str, Any]) -> None:
    """Add ``headers`` to every response of ``schema``, in place (inline: OpenAPI 3.1 lets a ``$ref`` to
    ``components/headers`` carry no ``required`` of its own, and whether a header is required depends on the
    operation)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            for status, response in operation.get("responses", {}).items():
                required, optional = headers_for(method, path, status)
                declared = response.setdefault("headers", {})
                for name in required + optional:
                    declared[name] = _header(name, required=name in required)
                declared["X-Request-ID"] = _header("X-Request-ID", required=True)


def _header(name: str, *, required: bool) -> dict[str, Any]:
    """The header object of ``name``."""
    about, kind = HEADERS[name]
    return {"description": about, "required": required, "schema": {"type": kind}}
