"""Ingest of Japan's deal pipeline (``japan-export-pipeline``): a table validated deal by deal.

The file must have the dataset's exact header; every row must describe a
possible deal (the forecasting core's own rules: a status it knows, 0 <= low <=
central <= high TIV per unit, probabilities in [0, 1], a committed deal at
probability 1, no delivery before the order, delivered <= ordered), a unique
``deal_id`` and a known recipient. Every error names its line and column, and
nothing is written unless the whole file passes.

Each cell must also be of its column's type in the dataset's schema (:data:`CELLS`), written plainly, so that
what is stored is what the schema says and what the forecasts read:

* ``deal_id``: required, a deal id as scenarios name it (lower case letters, digits, ``-`` and ``_``);
  ``recipient_code``: a country's code, as the countries resource writes it (not its name);
* numbers (units, TIV per unit, probabilities, slip): required (``units_remaining_low``/``_high``: both or
  neither), ASCII digits with an optional decimal point (no comma, underscore, exponent, ``nan`` or ``inf``);
* integers (``order_year``, ``register_deal_id``): whole ASCII digits; a year is in 1950-2100;
* ``requires_liberalisation``: required, ``true``/``false`` (``True``, ``TRUE``, ``1`` / ``False``,
  ``FALSE``, ``0``: Table Schema's boolean values);
* ``delivery_years``: years separated by ``;``, each once; ``past_deliveries``: ``year:TIV`` entries separated
  by ``;``, each year once, no earlier than the order, each TIV a number >= 0.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence

from api.datasets.parsers import decode
from api.errors import InvalidFile
from forecasting import InvalidInputs
from forecasting.parsing_pipeline import check_catalogue
from forecasting.pipeline import Deal, deal_from_row

__all__ = ["CELLS", "PIPELINE", "check_cells", "parse_pipeline_file"]

PIPELINE = "japan-export-pipeline"
# The core names a deal's fields; the file names its columns.
COLUMNS = {"probability": "probability_baseline", "tiv_per_unit": "tiv_per_unit_central",
           "units_range": "units_remaining_low", "units_delivered": "units_delivered"}

YEAR_MIN, YEAR_MAX = 1950, 2100  # as a scenario's delivery years
DEAL_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")  # forecasting.parsing_pipeline's: scenarios edit deals by id
NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")  # not negative: no column of the table can be
INTEGER = re.compile(r"[0-9]+")
TRUE, FALSE = ("true", "True", "TRUE", "1"), ("false", "False", "FALSE", "0")  # Table Schema's defaults
PAST = re.compile(r"([0-9]{4}):([^;:]*)")


def _number(cell: str) -> str | None:
    if NUMBER.fullmatch(cell):
        return None
    if re.fullmatch(r"-[0-9.]+", cell):
        return "cannot be negative"
    if re.fullmatch(r"[0-9]*,[0-9]+", cell):
        return "is not a number (a decimal comma? use a point)"
    return "is not a number (digits with an optional decimal point, such as 13 or 0.25)"


def _year(cell: str) -> str | None:
    if not INTEGER.fullmatch(cell):
        return "is not a year (four digits)"
    if not YEAR_MIN <= int(cell) <= YEAR_MAX:
        return f"is not a year in {YEAR_MIN}-{YEAR_MAX}"
    return None


def _integer(cell: str) -> str | None:
    return None if INTEGER.fullmatch(cell) else "is not a whole number"


def _boolean(cell: str) -> str | None:
    return None if cell in TRUE or cell in FALSE else "is not true or false (true, false, 1 or 0)"


def _years(cell: str) -> str | None:
    years = cell.split(";")
    for year in years:
        if (why := _year(year)) is not None:
            return f"is not years separated by ';': {year!r} {why}"
    repeated = next((y for i, y in enumerate(years) if y in years[:i]), None)
    return None if repeated is None else f"gives {repeated} twice"


def _past(cell: str) -> str | None:
    years: list[str] = []
    for entry in cell.split(";"):
        match = PAST.fullmatch(entry)
        if match is None:
            return f"is not year:TIV entries separated by ';': {entry!r} is not year:TIV"
        year, tiv = match.groups()
        if (why := _year(year)) is not None:
            return f"entry {entry!r}: {year!r} {why}"
        if (why := _number(tiv)) is not None:
            return f"entry {entry!r}: the TIV {tiv!r} {why}"
        if year in years:
            return f"gives {year} twice"
        years.append(year)
    return None


# Each column's check of a non-empty cell (the reason it is not of the column's type, else None) and whether
# the column may be empty; the columns left out are text (``depends_on`` is checked across rows).
Check = Callable[[str], str | None]
CELLS: dict[str, tuple[Check, bool]] = {
    "order_year": (_year, True),
    "units_ordered": (_number, False),
    "units_delivered": (_number, False),
    "units_remaining_low": (_number, True),
    "units_remaining_high": (_number, True),
    "tiv_per_unit_low": (_number, False),
    "tiv_per_unit_central": (_number, False),
    "tiv_per_unit_high": (_number, False),
    "delivery_years": (_years, True),
    "probability_baseline": (_number, False),
    "probability_liberalised": (_number, False),
    "requires_liberalisation": (_boolean, False),
    "slip_probability": (_number, False),
    "past_deliveries": (_past, True),
    "register_deal_id": (_integer, True),
}


def check_cells(clean: Mapping[str, str], countries: Mapping[str, str], line: int) -> None:
    """Each cell of one row is of its column's type (module docstring), else :class:`InvalidFile` naming the line,
    the column and the value."""
    deal_id = clean["deal_id"]
    if not DEAL_ID.fullmatch(deal_id):
        raise InvalidFile(f"deal_id {deal_id!r} is not a deal id: 1 to 64 lower-case letters, digits, '-' and '_' "
                          "(scenarios name deals by it)", line=line, column="deal_id")
    code = clean["recipient_code"]
    known = countries.get(code.upper())
    if known is None:
        raise InvalidFile(f"unknown recipient {code!r}", line=line, column="recipient_code")
    if known != code:
        raise InvalidFile(f"recipient_code {code!r} is not a country code; write {known!r}", line=line,
                          column="recipient_code")
    for column, (check, optional) in CELLS.items():
        cell = clean[column]
        if not cell:
            if optional:
                continue
            raise InvalidFile(f"{column} is empty; every deal states it", line=line, column=column)
        why = check(cell)
        if why is not None:
            raise InvalidFile(f"{column} {cell!r} {why}", line=line, column=column)
    low, high = clean["units_remaining_low"], clean["units_remaining_high"]
    if bool(low) != bool(high):
        column = "units_remaining_high" if low else "units_remaining_low"
        raise InvalidFile("units_remaining_low and units_remaining_high go together: give both (the range of the "
                          "remaining units) or neither", line=line, column=column)


def parse_pipeline_file(data: bytes, columns: Sequence[str], countries: Mapping[str, str]) -> list[dict[str, str]]:
    """The rows of a pipeline file, validated (module docstring)."""
    reader = csv.DictReader(io.StringIO(decode(data), newline=""))
    header = list(reader.fieldnames or [])
    if header != list(columns):
        missing = [c for c in columns if c not in header]
        extra = [c for c in header if c not in columns]
        column = next(iter(missing + extra), None)
        raise InvalidFile(f"the header must be exactly {','.join(columns)}", line=1, column=column)
    rows: list[dict[str, str]] = []
    deals: list[Deal] = []  # each row's deal, built once: checked alone here, then across rows
    seen: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if None in row or any(v is None for v in row.values()):
                raise InvalidFile("the row does not have one value per column", line=line)
            clean = {k: (v or "").strip() for k, v in row.items()}
            if clean["deal_id"] in seen:
                raise InvalidFile(f"deal {clean['deal_id']!r} repeats line {seen[clean['deal_id']]}", line=line,
                                  column="deal_id")
            seen[clean["deal_id"]] = line
            check_cells(clean, countries, line)
            try:
                deals.append(deal_from_row(clean))
            except InvalidInputs as exc:
                name = (exc.field or "").rsplit(".", 1)[-1]
                raise InvalidFile(str(exc), line=line, column=COLUMNS.get(name, name) or None) from None
            except (ValueError, KeyError) as exc:
                raise InvalidFile(f"not a number or year where one is needed ({exc})", line=line) from None
            rows.append(clean)
    except csv.Error as exc:
        raise InvalidFile(f"malformed CSV ({exc}); is the file truncated?", line=reader.line_num) from None
    if not rows:
        raise InvalidFile("the file has a header but no deals")
    try:  # the rules across rows (a line and the contract it depends on)
        check_catalogue(deals)
    except InvalidInputs as exc:
        deal_id, _, name = (exc.field or "").removeprefix("pipeline.").rpartition(".")
        raise InvalidFile(str(exc), line=seen.get(deal_id), column=COLUMNS.get(name, name) or None) from None
    return rows
