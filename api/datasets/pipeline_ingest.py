"""Ingest of Japan's deal pipeline (``japan-export-pipeline``): a table validated deal by deal.

The file must have the dataset's exact header; every row must describe a
possible deal (the forecasting core's own rules: a status it knows, 0 <= low <=
central <= high TIV per unit, probabilities in [0, 1], a committed deal at
probability 1, no delivery before the order, delivered <= ordered), a unique
``deal_id`` and a known recipient. Every error names its line and column, and
nothing is written unless the whole file passes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence

from api.datasets.parsers import decode
from api.errors import InvalidFile
from forecasting import InvalidInputs
from forecasting.parsing_pipeline import check_catalogue
from forecasting.pipeline import Deal, deal_from_row

__all__ = ["PIPELINE", "parse_pipeline_file"]

PIPELINE = "japan-export-pipeline"
# The core names a deal's fields; the file names its columns.
COLUMNS = {"probability": "probability_baseline", "tiv_per_unit": "tiv_per_unit_central",
           "units_range": "units_remaining_low", "units_delivered": "units_delivered"}


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
            if clean["recipient_code"].upper() not in countries:
                raise InvalidFile(f"unknown recipient {clean['recipient_code']!r}", line=line, column="recipient_code")
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
