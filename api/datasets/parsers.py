"""Parse uploaded series files into validated rows, before anything touches the database.

Two layouts are accepted:

* tivcast's long CSV: ``country_code,year,value[,flag][,source_release]`` (``country_name``
  may be present and is ignored: codes are authoritative);
* SIPRI's own CSV export of a TIV table: a preamble, then ``Exports by,1950,...,2024,<totals>``
  with one row per country *name*. An empty cell means "no deliveries identified" (no row);
  ``0`` means "between 0 and 0.5 million TIV" and is kept with the flag ``lt_0.5m``.

A value is a plain number: ASCII digits, an optional sign, decimal point and exponent (``13``, ``0.033``,
``-2.5``, ``5.39e+18``). Anything else Python's ``float`` would take is refused, because in a CSV it is more
likely a mistake than a number: a comma (``0,5`` is a decimal comma, not five; none of SIPRI's exports nor the
shipped files group thousands), an underscore (``2_1``), non-ASCII digits, ``nan`` or ``inf``. A year is
whole ASCII digits.

A ``flag`` is empty or ``;``-separated terms of the dataset's vocabulary (its descriptor's ``tivcast.flags``:
``lt_0.5m`` and ``sum_of_listed_suppliers`` for arms-exports, ``sipri_estimate`` ... for military expenditure),
each at most once, and consistent with the row where the vocabulary gives the term a meaning: ``lt_0.5m``
(SIPRI printed ``0``) needs the value 0, ``sum_of_listed_suppliers`` is a world total's (``WLD``), and a row
has one ``basis=``.

What a dataset accepts beyond that (which SIPRI tables, the values' bounds, the countries, the form of
``source_release``) is its :class:`Rules`, read from its descriptor by :mod:`api.datasets.ingest`.
Every problem raises :class:`InvalidFile` naming the line and column.
"""

from __future__ import annotations

import _csv
import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from importlib import resources

from api.errors import InvalidFile

LONG_REQUIRED = ("country_code", "year", "value")
LONG_OPTIONAL = ("country_name", "flag", "source_release")
SIPRI_EXPORTS = ("exports by", "supplier")  # the first header cell of SIPRI's TIV tables, by direction
SIPRI_IMPORTS = ("imports by", "recipient")
SIPRI_HEADERS = SIPRI_EXPORTS + SIPRI_IMPORTS
YEAR_MIN, YEAR_MAX = 1900, 2100
LT_HALF = "lt_0.5m"
LISTED = "sum_of_listed_suppliers"  # a world total that is tivcast's sum of the listed suppliers
WORLD = "WLD"
BASIS = "basis="
# A number as a CSV writes it (ASCII only; no grouping, no underscores): what _value accepts.
NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")


@dataclass(frozen=True, slots=True)
class Rules:
    """What one dataset accepts (its descriptor's constraints, and which of SIPRI's tables it takes).

    ``sipri_tables``: the first header cells of the SIPRI TIV tables the dataset takes (empty: tivcast's long
    CSV only); ``minimum``/``maximum`` bound ``value``; ``countries`` is the set of codes a single-country
    dataset takes; the patterns are Table Schema ``pattern`` constraints (the whole value must match);
    ``flags`` is the dataset's flag vocabulary (None: the shipped descriptor's ``tivcast.flags`` of ``dataset``,
    :func:`shipped_flags`)."""

    dataset: str
    sipri_tables: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit_label: str | None = None
    countries: frozenset[str] | None = None
    code_pattern: str | None = None
    source_pattern: str | None = None
    flags: frozenset[str] | None = None


@cache
def shipped_flags(dataset: str) -> frozenset[str] | None:
    """The flag vocabulary of a shipped dataset (the keys of its resource's ``tivcast.flags`` in
    ``api/data/datapackage.json``; empty if it has none); None for a dataset the package does not describe."""
    package = json.loads((resources.files("api") / "data" / "datapackage.json").read_text(encoding="utf-8"))
    for resource in package.get("resources", []):
        if resource.get("name") == dataset:
            return frozenset(resource.get("tivcast", {}).get("flags", {}))
    return None


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


def check_row(
    rules: Rules | None, row: Row, *, country_column: str, source_column: str | None, flag_column: str | None = None
) -> None:
    """The dataset's constraints on one parsed row (its value's bounds, its country, its flag, its source_release).
    ``flag_column``: where the flag was read (None: the value's column, as for SIPRI's tables, whose flag is
    derived from the value)."""
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
    _check_flag(rules, row, flag_column or row.column)
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


def _check_flag(rules: Rules, row: Row, column: str | None) -> None:
    """A flag is ``;``-separated terms of the dataset's vocabulary, each once, consistent with the row (module
    docstring)."""
    if row.flag is None:
        return
    vocabulary = rules.flags if rules.flags is not None else shipped_flags(rules.dataset)
    if vocabulary is None:
        return  # a dataset without a descriptor of its own (a test's Rules): nothing to check against
    allowed = ", ".join(sorted(vocabulary)) or "none (leave the column empty)"
    several = "; several are separated by ';'" if len(vocabulary) > 1 else ""
    terms = row.flag.split(";")
    for term in terms:
        if term not in vocabulary:
            what = "has an empty term" if not term.strip() else f"{term!r} is not a flag of {rules.dataset}"
            raise InvalidFile(
                f"flag {row.flag!r}: {what}; {rules.dataset}'s flags: {allowed}{several}",
                line=row.line,
                column=column,
            )
    repeated = next((t for i, t in enumerate(terms) if t in terms[:i]), None)
    if repeated is not None:
        raise InvalidFile(f"flag {row.flag!r} repeats {repeated!r}", line=row.line, column=column)
    if LT_HALF in terms and row.value != 0:
        raise InvalidFile(
            f"flag {LT_HALF} means SIPRI printed 0 (deliveries worth less than 0.5 million TIV), but the value is "
            f"{format_value(row.value)}; give the value 0, or no flag",
            line=row.line,
            column=column,
        )
    if LISTED in terms and row.country_code != WORLD:
        raise InvalidFile(
            f"flag {LISTED} marks a world total ({WORLD}) that is the sum of the listed suppliers, not "
            f"{row.country_code}'s value",
            line=row.line,
            column=column,
        )
    bases = [t for t in terms if t.startswith(BASIS)]
    if len(bases) > 1:
        raise InvalidFile(
            f"flag {row.flag!r} gives {len(bases)} bases ({', '.join(bases)}); a value has one",
            line=row.line,
            column=column,
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
            check_row(
                rules, row, country_column="country_code", source_column="source_release", flag_column="flag"
            )
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
        if re.fullmatch(r"[0-9]{4}", name):
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
    if not re.fullmatch(r"[0-9]+", cell):  # int() would also take "2_024", "+2024" and non-ASCII digits
        raise InvalidFile(f"year {cell!r} is not a whole number", line=line, column=column)
    year = int(cell)
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise InvalidFile(f"year {year} is outside {YEAR_MIN}-{YEAR_MAX}", line=line, column=column)
    return year


def _value(cell: str, line: int, column: str) -> float:
    """A finite plain number (module docstring; its bounds are the dataset's :class:`Rules`, checked by
    :func:`check_row`)."""
    try:
        value = float(cell) if NUMBER.fullmatch(cell) else None
        lenient = float(cell)  # what Python would make of it: nan and inf are named as such
    except ValueError:
        lenient = None
    if lenient is not None and not math.isfinite(lenient):
        raise InvalidFile(f"value {cell!r} is not a finite number", line=line, column=column)
    if value is None:
        raise InvalidFile(f"value {cell!r} is not a number{_why_not(cell, lenient)}", line=line, column=column)
    return value


def _why_not(cell: str, lenient: float | None) -> str:
    """Why a cell is not a plain number, as a parenthesis ("" when there is nothing more to say)."""
    if GROUPED.fullmatch(cell):
        decimal = "" if "." in cell or cell.count(",") > 1 else "; or, if ',' is a decimal comma, use a point"
        return f" (thousands separators are not accepted: write {cell.replace(',', '')}{decimal})"
    if DECIMAL_COMMA.fullmatch(cell):
        return " (a decimal comma? use a point)"
    if "," in cell:
        return " (a comma is never part of a number here)"
    if "_" in cell:
        return " (write the digits without '_')"
    if lenient is not None:
        return " (write it with the ASCII digits 0-9, an optional sign, a decimal point and an exponent)"
    return ""


def _no_duplicate(seen: dict[tuple[str, int], int], row: Row, line: int) -> None:
    key = (row.country_code, row.year)
    if key in seen:
        raise InvalidFile(
            f"duplicate value for {row.country_code} {row.year} (first given on line {seen[key]})", line=line
        )
    seen[key] = line
