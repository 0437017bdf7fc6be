"""Content negotiation of the data endpoints: JSON or CSV, chosen by ``format=`` or by ``Accept``.

``Accept`` is read as RFC 9110 says: comma-separated media ranges, case-insensitive, each with an
optional ``q`` weight (``q=0`` refuses). The most specific range that matches a representation gives
its weight; the highest weight wins and JSON wins a tie. A header that accepts neither is a 406
(never JSON labelled as a success); no header, or an empty one, is JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from pydantic import BeforeValidator

from api.errors import NotAcceptable

Format = Literal["json", "csv"]
JSON_TYPES = ("application/json", "application/problem+json")  # what a JSON-only route sends: a result or a problem
MEDIA: dict[Format, tuple[str, str]] = {"json": ("application", "json"), "csv": ("text", "csv")}
CSV_TYPE = "text/csv; charset=utf-8"


def _lower(value: object) -> object:
    """``format=CSV`` is ``format=csv``: the value is matched in any case, as ``Accept`` is."""
    return value.lower() if isinstance(value, str) else value


FormatQuery = Annotated[
    Format | None,
    BeforeValidator(_lower),
    Query(
        description="json or csv, in any case (CSV is csv); overrides the Accept header (text/csv or application/json)"
    ),
]


def parse_accept(header: str) -> list[tuple[str, str, float]]:
    """``[(type, subtype, q)]`` of an Accept header; malformed ranges are skipped, bad weights count as 0."""
    ranges = []
    for item in header.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if "/" not in media:
            continue
        kind, sub = (p.strip().lower() for p in media.split("/", 1))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((kind, sub, q))
    return ranges


def weight(media: tuple[str, str], ranges: Sequence[tuple[str, str, float]]) -> float:
    best, specificity = 0.0, -1
    for kind, sub, q in ranges:
        if kind == media[0] and sub == media[1]:
            level = 2
        elif kind == media[0] and sub == "*":
            level = 1
        elif kind == "*" and sub == "*":
            level = 0
        else:
            continue
        if level > specificity:
            best, specificity = q, level
    return best


def choose(request: Request, fmt: Format | None) -> Format:
    """The representation to send: ``format=`` if given, else the best match of ``Accept``; 406 if none."""
    if fmt is not None:
        return fmt
    header = request.headers.get("accept", "").strip()
    if not header:
        return "json"
    ranges = parse_accept(header)
    weights = {name: weight(media, ranges) for name, media in MEDIA.items()}
    name: Format = max(weights, key=lambda n: (weights[n], n == "json"))
    if weights[name] <= 0:
        raise NotAcceptable(
            f"this endpoint sends application/json or text/csv, and Accept {header[:200]!r} allows neither; "
            "send Accept: text/csv or application/json, or add format=csv or format=json"
        )
    return name


def acceptable(header: str, media_types: Sequence[str]) -> bool:
    """Whether an Accept header allows one of ``media_types`` (``type/subtype``); no or an empty header allows all."""
    if not header.strip():
        return True
    ranges = parse_accept(header)
    return any(weight((kind, sub), ranges) > 0 for kind, _, sub in (m.partition("/") for m in media_types))


def require(request: Request, *media_types: str) -> None:
    """406 unless ``Accept`` allows one of ``media_types``: the only representations the route sends."""
    header = request.headers.get("accept", "")
    if not acceptable(header, media_types):
        allows = "allows neither" if len(media_types) > 1 else "does not allow it"
        raise NotAcceptable(
            f"this endpoint only sends {' or '.join(media_types)}, and Accept {header.strip()[:200]!r} {allows}; "
            f"send Accept: {media_types[0]}, or no Accept header"
        )


async def json_only(request: Request) -> None:
    """The dependency of routes that only send JSON (and problem+json): a 406 for an Accept allowing neither."""
    require(request, *JSON_TYPES)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list | tuple):
        return "|".join(cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def csv_bytes(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """One header line, then one line per row (lists joined with ``|``); UTF-8, ``\\n`` line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue().encode()
