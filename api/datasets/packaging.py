"""What a served data package says of the CSVs it ships: a schema that holds for the rows in them, and the
vocabularies its field descriptions name.

The dataset's descriptor is written for the shipped release. A release loaded later may leave an optional column
empty (a long CSV without ``source_release`` is stored and served with nulls), use a flag or a source release the
shipped vocabulary does not list, or publish a table cell the declared type does not read. The package describes
the release it ships, so each field's constraints are those its column meets, and each vocabulary a description
points to (``see tivcast.flags``) lists what the column uses.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from typing import Any

from api.datasets.queries import FALSE, TRUE

MISSING = ""  # the CSV writes a null as an empty cell (the schemas' missingValues)
INTEGER = re.compile(r"[+-]?\d+")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|NaN|-?INF")
DEFAULT_TRUE, DEFAULT_FALSE = frozenset({"true", "True", "TRUE", "1"}), frozenset({"false", "False", "FALSE", "0"})
REFERENCE = re.compile(r"\btivcast((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
RELEASE_VOCABULARY = "release"  # a vocabulary under tivcast.release is the shipped release's, not the dataset's
SIPRI_GENERATED = re.compile(r"sipri-(\d{4}-\d{2}-\d{2})")


def read_columns(data: bytes) -> dict[str, list[str]]:
    """The CSV's cells by column (header name -> every row's cell, in order)."""
    reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
    header = next(reader, [])
    columns: dict[str, list[str]] = {name: [] for name in header}
    for row in reader:
        for name, value in zip(header, row, strict=False):
            columns[name].append(value)
    return columns


def _reads_as(kind: str, values: list[str]) -> bool:
    if kind == "integer":
        return all(INTEGER.fullmatch(v) for v in values)
    if kind == "number":
        return all(NUMBER.fullmatch(v) for v in values)
    if kind == "boolean":
        return all(v in TRUE or v in FALSE for v in values)
    return True


def _holds(name: str, rule: Any, kind: str, values: list[str], rows: int) -> bool:
    """Does the constraint ``name: rule`` hold for a column's ``values`` (its non-empty cells, of ``rows``)?"""
    numeric = kind in ("integer", "number")
    if name == "required":
        return not rule or len(values) == rows
    if name == "unique":  # compared as the validator reads them (1 and 01 are the same integer)
        read = [float(v) for v in values] if numeric else values
        return not rule or len(set(read)) == len(read)
    if name == "pattern":
        pattern = re.compile(str(rule))
        return all(pattern.fullmatch(v) for v in values)
    if name == "enum":
        allowed = {str(v) for v in rule}
        return kind != "string" or all(v in allowed for v in values)
    if name in ("minimum", "maximum") and numeric:
        bound = float(rule)
        return all((float(v) >= bound) if name == "minimum" else (float(v) <= bound) for v in values)
    if name == "minLength":
        return all(len(v) >= int(rule) for v in values)
    if name == "maxLength":
        return all(len(v) <= int(rule) for v in values)
    return True  # a constraint tivcast's descriptors do not use: kept as written


def fit_field(field: Mapping[str, Any], cells: list[str]) -> dict[str, Any]:
    """``field`` as its column is: required only if no cell is empty, each other constraint only if every cell
    meets it, and the type text where a published cell does not read as the declared one (the API, too, serves
    such a cell as text)."""
    fitted = dict(field)
    values = [v for v in cells if v != MISSING]
    kind = str(field.get("type", "string"))
    if not _reads_as(kind, values):
        kind = fitted["type"] = "string"
        for key in ("format", "trueValues", "falseValues", "bareNumber", "decimalChar", "groupChar"):
            fitted.pop(key, None)
    elif kind == "boolean" and not set(values) <= DEFAULT_TRUE | DEFAULT_FALSE:
        # queries.typed reads yes/no too; say so, or a validator would take them for errors
        fitted["trueValues"], fitted["falseValues"] = sorted(TRUE), sorted(FALSE)
    constraints = {
        name: rule
        for name, rule in dict(field.get("constraints", {})).items()
        if (kind in ("integer", "number") or name not in ("minimum", "maximum"))
        and _holds(name, rule, kind, values, len(cells))
    }
    if field.get("constraints", {}).get("required") and "required" not in constraints:
        empty = len(cells) - len(values)
        fitted["description"] = f"{field.get('description', '')} Empty in {empty} of {len(cells)} rows.".strip()
    if constraints:
        fitted["constraints"] = constraints
    else:
        fitted.pop("constraints", None)
    return fitted


def fit_schema(schema: Mapping[str, Any], columns: Mapping[str, list[str]]) -> dict[str, Any]:
    """The schema with every field fitted to its column (:func:`fit_field`), and its primary key only if the key
    identifies every row (no empty cell in it, no two rows alike)."""
    fitted = dict(schema)
    fitted["fields"] = [fit_field(f, columns.get(f["name"], [])) for f in schema.get("fields", [])]
    key = schema.get("primaryKey")
    if key:
        names = [key] if isinstance(key, str) else list(key)
        rows = list(zip(*(columns.get(n, []) for n in names), strict=False))
        rows_count = len(next(iter(columns.values()), []))
        if len(rows) != rows_count or any(MISSING in row for row in rows) or len(set(rows)) != len(rows):
            fitted.pop("primaryKey")
    return fitted


def references(texts: Iterable[Any]) -> list[tuple[str, ...]]:
    """The ``tivcast.<path>`` paths that ``texts`` (descriptions) point to, in order of first mention."""
    found: dict[tuple[str, ...], None] = {}
    for text in texts:
        for match in REFERENCE.finditer(str(text or "")):
            found[tuple(match.group(1).strip(".").split("."))] = None
    return list(found)


def _get(meta: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = meta
    for part in path:
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _unknown(token: str, release_id: str) -> str:
    generated = SIPRI_GENERATED.fullmatch(token)
    if generated:
        return f"SIPRI data generated {generated.group(1)} (the 'Data generated' line of the file loaded)."
    return f"Named in the file loaded as release {release_id!r}; tivcast has no description of it."


def vocabularies(
    fields: Iterable[Mapping[str, Any]],
    meta: Mapping[str, Any],
    columns: Mapping[str, list[str]],
    *,
    shipped: bool,
    release_id: str,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The resource's ``tivcast`` block: each vocabulary a field description points to, at the path it names.

    A vocabulary is a mapping of the column's tokens (``;``-separated) to what they mean, from the dataset's
    descriptor ``meta``. Tokens the column uses and the descriptor does not list are added (``labels``, the
    package's release labels, or a plain "tivcast has no description of it"). A vocabulary about the shipped
    release (under ``release``) lists, for any other release, only the tokens that release uses."""
    block: dict[str, Any] = {}
    for field in fields:
        used = sorted({t.strip() for v in columns.get(field["name"], []) for t in v.split(";") if t.strip()})
        for path in references([field.get("description")]):
            known = _get(meta, path)
            vocabulary = dict(known) if isinstance(known, Mapping) else {}
            if path[0] == RELEASE_VOCABULARY and not shipped:
                vocabulary = {k: v for k, v in vocabulary.items() if k in used}
            for token in used:
                if token not in vocabulary:
                    vocabulary[token] = (labels or {}).get(token) or _unknown(token, release_id)
            node = block
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = vocabulary
    return block


def series_coverage(columns: Mapping[str, list[str]]) -> dict[str, Any]:
    """A series' countries and years, overall and by country (``tivcast.coverage``, which gap notes point to)."""
    by_country: dict[str, dict[str, int]] = {}
    for code, year in zip(columns.get("country_code", []), columns.get("year", []), strict=False):
        if not code or not INTEGER.fullmatch(year):
            continue
        entry = by_country.setdefault(code, {"start": int(year), "end": int(year), "rows": 0})
        entry["start"], entry["end"] = min(entry["start"], int(year)), max(entry["end"], int(year))
        entry["rows"] += 1
    starts = [e["start"] for e in by_country.values()]
    ends = [e["end"] for e in by_country.values()]
    return {
        "countries": sorted(by_country),
        "start": min(starts) if starts else None,
        "end": max(ends) if ends else None,
        "by_country": dict(sorted(by_country.items())),
    }
