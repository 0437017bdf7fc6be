"""The invariants of a dataset's world totals, checked on a parsed file before anything is stored.

A series whose ``WLD`` row is the world total of its countries' values (amounts, not ratios) must give it
where its source does (:func:`require_world`): without it a year's shares are empty and its forecasts fail;
and no country may exceed it, nor the listed countries add up to more than it beyond the source's rounding
(:func:`check_totals`). Every refusal names the line and column to fix.
"""

from __future__ import annotations

import math
import statistics

from api.datasets.parsers import ParsedFile, Row, format_value
from api.errors import InvalidFile

__all__ = ["ADDITIVE", "LISTED", "WORLD", "WORLD_REQUIRED", "check_totals", "require_world"]

WORLD = "WLD"
LISTED = "sum_of_listed_suppliers"  # a world value that is tivcast's sum of the listed suppliers, not SIPRI's
# Series whose WLD row is the world total of the countries' values (amounts, not ratios): no country can
# exceed it, and the countries listed cannot add up to more than it.
ADDITIVE = frozenset({"arms-exports", "milex-constant-usd", "milex-current-usd"})
# The years a file must give a world total (WLD) for, where its source has one: SIPRI's TIV tables have a world
# total every year (the shares divide by it); SIPRI's military expenditure has one at constant prices from 1988,
# except 1991 ("a meaningful world total is not possible before 1988"; the descriptor's gaps). At current
# prices SIPRI gives the world total for its newest year only, and its workbook none: nothing is required there
# (a WLD row given is still checked against the countries).
WORLD_REQUIRED: dict[str, tuple[int | None, frozenset[int], str]] = {
    "arms-exports": (None, frozenset(), "every year of the file (the shares divide by it)"),
    "milex-constant-usd": (1988, frozenset({1991}), "every year from 1988 but 1991 (SIPRI's world total)"),
}


def require_world(parsed: ParsedFile, dataset_id: str) -> None:
    """A world total (WLD) for every year the dataset's source has one for (``WORLD_REQUIRED``): without it a
    year's shares are empty and its forecasts fail. Refused naming the first year without one, at its first value
    (long CSV: that row's country_code; SIPRI's table: the year's column of its first row)."""
    if dataset_id not in WORLD_REQUIRED:
        return
    first, excepted, which = WORLD_REQUIRED[dataset_id]
    given = {r.year for r in parsed.rows if r.country_code == WORLD}
    firsts: dict[int, Row] = {}
    for row in parsed.rows:
        firsts.setdefault(row.year, row)
    for year in sorted(firsts):
        if year in given or year in excepted or (first is not None and year < first):
            continue
        row = firsts[year]
        raise InvalidFile(
            f"no world total ({WORLD} row) for {year}: {dataset_id} needs one for {which}; {year} first appears here",
            line=row.line,
            column="country_code" if parsed.layout == "long" else row.column,
        )


def check_totals(rows: tuple[Row, ...], aggregates: frozenset[str]) -> None:
    """The dataset's own invariants, per year with a world row: no country above the world total, and (where
    the world value is the source's own total) the listed countries not adding up to more than it, beyond
    the source's rounding (each cell is rounded to a whole number: half a unit per cell summed).

    A value that breaks them (say a typo multiplying a country's TIV by 100) would make every share and
    forecast of that year meaningless, so the whole file is refused, naming the line and the column: the
    country's, or the world total's when it is the world total that looks wrong (:func:`_world_too_low`)."""
    world = {r.year: r for r in rows if r.country_code == WORLD}
    values = {(r.country_code, r.year): r.value for r in rows}
    parts: dict[int, list[Row]] = {}
    for row in rows:
        if row.country_code not in aggregates and row.year in world:
            parts.setdefault(row.year, []).append(row)
    for year in sorted(parts):
        total = world[year]
        above = sorted((r for r in parts[year] if r.value > total.value), key=lambda r: -r.value)
        if above:
            _world_too_low(total, above, parts[year], values)
        # A world total that is tivcast's sum of every listed supplier (2024) is checked too: the countries of
        # the file are some of those suppliers, so their sum cannot exceed it either.
        listed_sum = bool(total.flag and LISTED in total.flag.split(";"))
        listed = sum(r.value for r in parts[year])
        slack = 0.5 * (len(parts[year]) + 1)
        if listed > total.value + slack:
            largest = sorted(parts[year], key=lambda r: -r.value)[:3]
            named = ", ".join(f"{r.country_code} = {format_value(r.value)} (line {r.line})" for r in largest)
            what = "the sum of the suppliers SIPRI listed" if listed_sum else "the world total"
            raise InvalidFile(
                f"{what} for {year} ({WORLD} = {format_value(total.value)}) is below the sum of the "
                f"{len(parts[year])} countries listed for {year} ({format_value(round(listed, 6))}), by more than "
                f"the source's rounding ({format_value(slack)}); either it or a country is wrong (the largest: "
                f"{named})",
                line=total.line,
                column=total.column,
            )


OUT_OF_LINE = math.log(2.0)  # a value under half or over twice its neighbouring years' median is out of line


def _out_of_line(code: str, year: int, value: float, values: dict[tuple[str, int], float]) -> float | None:
    """How far ``value`` lies from the median of the same series' values two years either side (absolute log
    ratio; infinite for a zero among positive neighbours); ``None`` without positive neighbours."""
    near = [values[(code, y)] for y in (year - 2, year - 1, year + 1, year + 2) if values.get((code, y), 0) > 0]
    if not near:
        return None
    middle = statistics.median(near)
    return math.inf if value <= 0 else abs(math.log(value / middle))


def _world_too_low(total: Row, above: list[Row], countries: list[Row],
                   values: dict[tuple[str, int], float]) -> None:
    """Countries above their year's world total: which line is wrong? A world total below two or more
    countries, or below the sum of the others, is the world total's own mistake; so is one out of line with its
    neighbouring years while the country is not (a dropped digit: 2,910 among 27,900 and 29,300). Otherwise one
    country far above a world total the others fit under is that country's typo (say its TIV times 100)."""
    largest, year = above[0], total.year
    others = sum(r.value for r in countries if r is not largest)
    world_off = _out_of_line(WORLD, year, total.value, values)
    country_off = _out_of_line(largest.country_code, year, largest.value, values)
    world_is_odd = (world_off is not None and world_off > OUT_OF_LINE
                    and (country_off is None or world_off > country_off))
    if len(above) > 1 or others > total.value + 0.5 * len(countries) or world_is_odd:
        raise InvalidFile(
            f"the world total for {year} looks wrong: {WORLD} = {format_value(total.value)} is below "
            f"{len(above)} of the countries listed for {year}, the largest {largest.country_code} = "
            f"{format_value(largest.value)} (line {largest.line}); no country can exceed the world",
            line=total.line,
            column=total.column,
        )
    raise InvalidFile(
        f"{largest.country_code} {year} = {format_value(largest.value)} is above the world total for {year} "
        f"({WORLD} = {format_value(total.value)}, line {total.line}), which the other countries fit under; "
        "no country can exceed the world",
        line=largest.line,
        column=largest.column,
    )
