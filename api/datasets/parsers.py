"""Parse uploaded series files into validated rows, before anything touches the database.

Two layouts are accepted:

* tivcast's long CSV: ``country_code,year,value[,flag][,source_release]`` (``country_name``
  may be present and is ignored: codes are authoritative);
* SIPRI's own CSV export of a TIV table: a preamble, then ``Exports by,1950,...,2024,<totals>``
  with one row per country *name*. An empty cell means "no deliveries identified" (no row);
  ``0`` means "between 0 and 0.5 million TIV" and is kept with the flag ``lt_0.5m``.

What a dataset accepts beyond that (which SIPRI tables, the values' bounds, the countries, the form of
``source_release``) is its :class:`Rules`, read from its descriptor by :mod:`api.datasets.ingest`.
Every problem raises :class:`InvalidFile` naming the line and column.
"""

from __future__ import annotations

import _csv
import csv
import hashlib
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from api.errors import InvalidFile

LONG_REQUIRED = ("country_code", "year", "value")
LONG_OPTIONAL = ("country_name", "flag", "source_release")
SIPRI_EXPORTS = ("exports by", "supplier")  # the first header cell of SIPRI's TIV tables, by direction
SIPRI_IMPORTS = ("imports by", "recipient")
SIPRI_HEADERS = SIPRI_EXPORTS + SIPRI_IMPORTS
YEAR_MIN, YEAR_MAX = 1900, 2100
LT_HALF = "lt_0.5m"


@dataclass(frozen=True, slots=True)
class Rules:
    """What one dataset accepts (its descriptor's constraints, and which of SIPRI's tables it takes).

    ``sipri_tables``: the first header cells of the SIPRI TIV tables the dataset takes (empty: tivcast's long
    CSV only); ``minimum``/``maximum`` bound ``value``; ``countries`` is the set of codes a single-country
    dataset takes; the patterns are Table Schema ``pattern`` constraints (the whole value must match)."""

    dataset: str
    sipri_tables: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit_label: str | None = None
    countries: frozenset[str] | None = None
    code_pattern: str | None = None
    source_pattern: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    country_code: str
    year: int
    value: float
    flag: str | None
    source_release: str | None
    line: int | None = field(default=None, compare=False)  # where the value was read (for error messages)
    column: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    layout: str
    rows: tuple[Row, ...]
    generated: date | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(self.rows)


def content_hash(rows: tuple[Row, ...] | list[Row]) -> str:
    """sha256 of the canonical, sorted rows: equal content gives an equal version, whatever the layout."""
    lines = sorted(
        f"{r.country_code},{r.year},{format_value(r.value)},{r.flag or ''},{r.source_release or ''}" for r in rows
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def format_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def decode(data: bytes) -> str:
    """Strict UTF-8 (a BOM is allowed); anything else is refused with its line and byte."""
    if not data.strip():
        raise InvalidFile("the file is empty")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidFile(
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8 "
            "(SIPRI's trade register, for one, is Windows-1252)",
            line=line,
        ) from None


def parse_series(
    data: bytes,
    countries: Mapping[str, str],
    *,
    source_release: str | None = None,
    rules: Rules | None = None,
) -> ParsedFile:
    """Parse either layout. ``countries`` maps codes, names and aliases (upper-cased) to codes. With ``rules``,
    every row must also satisfy the dataset's :class:`Rules` (errors in file order, naming line and column)."""
    text = decode(data)
    lines = text.splitlines()
    for number, line in enumerate(lines[:40], start=1):
        first = line.split(",", 1)[0].strip().strip('"').lower()
        if first in SIPRI_HEADERS:
            if rules is not None:
                _check_table(rules, first, line.split(",", 1)[0].strip().strip('"'), number)
            return _parse_sipri(lines, number, countries, source_release, rules)
    return _parse_long(text, countries, rules)


def _check_table(rules: Rules, first: str, cell: str, line: int) -> None:
    """A SIPRI TIV table is accepted only by the dataset it measures, in its direction (exports or imports)."""
    if first in rules.sipri_tables:
        return
    what = "imports (by recipient)" if first in SIPRI_IMPORTS else "exports (by supplier)"
    if rules.sipri_tables:
        takes = " or ".join(repr(h.capitalize()) for h in rules.sipri_tables)
        raise InvalidFile(
            f"this is a SIPRI TIV table of arms {what} ({cell!r}); {rules.dataset} takes only SIPRI's {takes} "
            "tables (or tivcast's long CSV)",
            line=line,
            column=cell,
        )
    raise InvalidFile(
        f"this is a SIPRI TIV table of arms {what} ({cell!r}), in trend-indicator values; {rules.dataset} takes only "
        "tivcast's long CSV (country_code,year,value[,flag][,source_release]) of its own unit",
        line=line,
        column=cell,
    )


def check_row(rules: Rules | None, row: Row, *, country_column: str, source_column: str | None) -> None:
    """The dataset's constraints on one parsed row (its value's bounds, its country, its source_release)."""
    if rules is None:
        return
    unit = f" ({rules.unit_label})" if rules.unit_label else ""
    value = format_value(row.value)
    if rules.minimum is not None and row.value < rules.minimum:
        below = "negative" if rules.minimum == 0 else f"below {format_value(rules.minimum)}"
        raise InvalidFile(
            f"value {value} is {below}; {rules.dataset}{unit} cannot be {below}", line=row.line, column=row.column
        )
    if rules.maximum is not None and row.value > rules.maximum:
        raise InvalidFile(
            f"value {value} is above {format_value(rules.maximum)}, the largest {rules.dataset}{unit} can be; "
            "is this file another dataset's?",
            line=row.line,
            column=row.column,
        )
    if rules.countries is not None and row.country_code not in rules.countries:
        raise InvalidFile(
            f"{row.country_code}: {rules.dataset} has values for {', '.join(sorted(rules.countries))} only",
            line=row.line,
            column=country_column,
        )
    if rules.code_pattern is not None and not re.fullmatch(rules.code_pattern, row.country_code):
        raise InvalidFile(
            f"country code {row.country_code!r} does not match {rules.code_pattern}",
            line=row.line,
            column=country_column,
        )
    source = row.source_release
    if source is not None and rules.source_pattern is not None and not re.fullmatch(rules.source_pattern, source):
        raise InvalidFile(
            f"source_release {source!r} is not a source release name (lower case, with its year, such as "
            "sipri-at-2025 or sipri-2025-03-10); is the file cut off?",
            line=row.line,
            column=source_column,
        )
    if source is not None and rules.source_pattern is not None and (wrong := impossible_date(source)) is not None:
        raise InvalidFile(
            f"source_release {source!r} names {wrong}; a date in a source release name is YYYY-MM-DD, a real day "
            "(sipri-2025-03-10), or YYYY-NN: a month if NN is 01-12 (mof-finance-2024-04), else a year range whose "
            "two-digit end is later than its start (mof-fy2024-25, mtdp-2019-23)",
            line=row.line,
            column=source_column,
        )


# A date in a source release name: the year, then two digits (a month, or a range's end) and maybe a day
# (sipri-2025-03-10, mof-finance-2024-04, mof-fy2024-25).
SOURCE_DATE = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})-([0-9]{2})(?:-([0-9]{2}))?(?![0-9])")


def impossible_date(name: str) -> str | None:
    """What is wrong with the first date in a source release name that is not one, else None. The descriptors'
    pattern takes any two digits after the year: YYYY-MM-DD must be a real day; YYYY-NN is a month when NN is 01-12
    and otherwise a year range's two-digit end (fy2024-25, 2019-23), which must come after the start year's last
    two digits (2024-13 is neither a month nor a range ending after it starts)."""
    for match in SOURCE_DATE.finditer(name):
        year, second, day = match.groups()
        if day is not None:
            try:
                date(int(year), int(second), int(day))
            except ValueError:
                return f"the date {match.group(0)}, which does not exist"
        elif int(second) == 0 or 12 < int(second) <= int(year[2:]):
            return (
                f"{match.group(0)}, which is neither a month (01-12) nor a year range ending after it starts "
                f"({second} is not after {year[2:]})"
            )
    return None


def _reader(text: str) -> _csv.Reader:
    return csv.reader(io.StringIO(text, newline=""), strict=True)


def _parse_long(text: str, countries: Mapping[str, str], rules: Rules | None) -> ParsedFile:
    reader = _reader(text)
    try:
        header = [h.strip() for h in next(reader)]
        _check_long_header(header)
        rows: list[Row] = []
        seen: dict[tuple[str, int], int] = {}
        for record in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(header):
                raise InvalidFile(
                    f"expected {len(header)} fields, found {len(record)} (truncated or malformed row)", line=line
                )
            cells = dict(zip(header, (c.strip() for c in record), strict=True))
            row = Row(
                country_code=_country(cells["country_code"], countries, line, "country_code"),
                year=_year(cells["year"], line, "year"),
                value=_value(cells["value"], line, "value"),
                flag=cells.get("flag") or None,
                source_release=cells.get("source_release") or None,
                line=line,
                column="value",
            )
            check_row(rules, row, country_column="country_code", source_column="source_release")
            _no_duplicate(seen, row, line)
            rows.append(row)
    except csv.Error as exc:
        raise InvalidFile(f"malformed CSV ({exc}); is the file truncated?", line=reader.line_num) from None
    if not rows:
        raise InvalidFile("the file has a header but no data rows")
    return ParsedFile("long", tuple(rows))


def _check_long_header(header: list[str]) -> None:
    expected = ",".join(LONG_REQUIRED) + "[," + ",".join(LONG_OPTIONAL) + "]"
    for name in header:
        if name not in LONG_REQUIRED + LONG_OPTIONAL:
            raise InvalidFile(f"unexpected column {name!r}; expected header {expected}", line=1, column=name)
    for name in LONG_REQUIRED:
        if name not in header:
            raise InvalidFile(f"missing column {name!r}; expected header {expected}", line=1, column=name)
    if len(set(header)) != len(header):
        raise InvalidFile("a column name is repeated in the header", line=1)


def _parse_sipri(
    lines: list[str],
    header_line: int,
    countries: Mapping[str, str],
    source_release: str | None,
    rules: Rules | None,
) -> ParsedFile:
    generated = _generated_date(lines[: header_line - 1])
    body = "\n".join(lines[header_line - 1 :])
    reader = _reader(body)
    header = [h.strip() for h in next(reader)]
    years = _year_columns(header, header_line)
    rows: list[Row] = []
    seen: dict[tuple[str, int], int] = {}
    try:
        for record in reader:
            line = header_line + reader.line_num - 1
            if not any(cell.strip() for cell in record):
                break  # SIPRI ends the table with a blank line; notes may follow
            if len(record) != len(header):
                raise InvalidFile(
                    f"expected {len(header)} fields, found {len(record)} (truncated or malformed row)", line=line
                )
            code = _country(record[0].strip(), countries, line, header[0])
            for index, year in years:
                cell = record[index].strip()
                if not cell:
                    continue  # no deliveries identified: no observation
                value = _value(cell, line, str(year))
                row = Row(code, year, value, LT_HALF if value == 0 else None, source_release, line, str(year))
                check_row(rules, row, country_column=header[0], source_column=None)
                _no_duplicate(seen, row, line)
                rows.append(row)
    except csv.Error as exc:
        raise InvalidFile(
            f"malformed CSV ({exc}); is the file truncated?", line=header_line + reader.line_num - 1
        ) from None
    if not rows:
        raise InvalidFile("the table has no values", line=header_line)
    return ParsedFile("sipri", tuple(rows), generated)


def _year_columns(header: list[str], line: int) -> list[tuple[int, int]]:
    years: list[tuple[int, int]] = []
    for index, name in enumerate(header[1:], start=1):
        if re.fullmatch(r"\d{4}", name):
            years.append((index, _year(name, line, name)))
        elif not years:
            raise InvalidFile(f"expected a year column, found {name!r}", line=line, column=name)
        else:
            break  # SIPRI's trailing totals and percentages
    if not years:
        raise InvalidFile("the header has no year columns", line=line)
    return years


def _generated_date(preamble: list[str]) -> date | None:
    for line in preamble:
        match = re.search(r"Data generated:\s*(\d{1,2} \w{3} \d{4})", line)
        if match:
            return datetime.strptime(match.group(1), "%d %b %Y").date()
    return None


def _country(cell: str, countries: Mapping[str, str], line: int, column: str) -> str:
    key = cell.strip().upper()
    code = countries.get(key) or countries.get(key.rstrip("*").strip())
    if code is None:
        raise InvalidFile(f"unknown country {cell!r}", line=line, column=column)
    return code


def _year(cell: str, line: int, column: str) -> int:
    try:
        year = int(cell)
    except ValueError:
        raise InvalidFile(f"year {cell!r} is not a whole number", line=line, column=column) from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidFile(f"year {year} is outside {YEAR_MIN}-{YEAR_MAX}", line=line, column=column)
    return year


def _value(cell: str, line: int, column: str) -> float:
    """A finite number (its bounds are the dataset's :class:`Rules`, checked by :func:`check_row`)."""
    try:
        value = float(cell.replace(",", ""))
    except ValueError:
        raise InvalidFile(f"value {cell!r} is not a number", line=line, column=column) from None
    if not math.isfinite(value):
        raise InvalidFile(f"value {cell!r} is not a finite number", line=line, column=column)
    return value


def _no_duplicate(seen: dict[tuple[str, int], int], row: Row, line: int) -> None:
    key = (row.country_code, row.year)
    if key in seen:
        raise InvalidFile(
            f"duplicate value for {row.country_code} {row.year} (first given on line {seen[key]})", line=line
        )
    seen[key] = line
