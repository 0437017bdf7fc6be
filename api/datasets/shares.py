"""Shares of world arms exports, computed from a release of the arms-exports dataset.

The denominator is SIPRI's own world total (country code WLD). For 2024 SIPRI published
no world total; the shipped WLD 2024 value is the sum of the suppliers SIPRI lists for
that year, flagged ``sum_of_listed_suppliers`` (a lower bound), and every share computed
from it says so in ``world_basis``. A year without any denominator gives no share.

SIPRI leaves a cell empty when no deliveries were identified. With ``window=1`` such a
year after the country's first reported year (a row, even a ``0``) is served as tiv 0 and
share 0 flagged ``absent_read_as_zero``, as the forecasting panel reads it; years before
the first reported year stay absent (Russia starts in 1992, not with 40 years of zeros),
and so does a year whose denominator is the sum of the listed suppliers (2024): a supplier
missing from that list is unknown, not zero. A reported row carries its own flag
(``lt_0.5m``: SIPRI's ``0``, under 0.5 million TIV). Five-year totals count every year
without a value as zero, exactly as SIPRI's own totals do, report how many years had a
value, and carry the flags of their years (``absent_read_as_zero`` when one had none) — except a year
whose denominator is the sum of the listed suppliers: a country missing from that list has an unknown value
there, so a window holding that year is not served (it would count the unknown as zero), just as the yearly
row is not. Both are named, with the reason, in the list of :class:`ShareOmittedPublic`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from api.datasets.schemas import ShareOmittedPublic, SharePublic
from api.datasets.tables import Observation

WORLD = "WLD"
LISTED = "sum_of_listed_suppliers"
ABSENT = "absent_read_as_zero"


def _basis(row: Observation) -> str:
    return LISTED if row.flag and LISTED in row.flag.split(";") else "sipri_world_total"


def _share(tiv: float, world: float) -> float:
    return round(100.0 * tiv / world, 6)


def _flags(tokens: Iterable[str | None]) -> str | None:
    found = sorted({t for text in tokens if text for t in text.split(";") if t})
    return ";".join(found) or None


def _unknown(code: str, low: int, high: int, years: Sequence[int]) -> ShareOmittedPublic:
    period = str(low) if low == high else f"{low}-{high}"
    listed = ", ".join(map(str, years))
    return ShareOmittedPublic(
        country=code,
        period=period,
        start=low,
        end=high,
        unknown_years=list(years),
        reason=f"{code} is not among the suppliers whose sum is the denominator of {listed} "
        f"({LISTED}): its value there is unknown, not zero, so no share is served for {period}",
    )


def yearly(
    data: Mapping[str, Mapping[int, Observation]], countries: Sequence[str], first_years: Mapping[str, int]
) -> tuple[list[SharePublic], list[ShareOmittedPublic]]:
    """A row per country and year with a denominator: the reported value, or 0 flagged ``absent_read_as_zero``
    from the country's first reported year (``first_years``, over the whole release) on; and the years left out
    as unknown (after the first report, a listed sum the country is not part of)."""
    world = data.get(WORLD, {})
    out: list[SharePublic] = []
    omitted: list[ShareOmittedPublic] = []
    for code in countries:
        rows, first = data.get(code, {}), first_years.get(code)
        for year, total in sorted(world.items()):
            if total.value <= 0:
                continue
            row = rows.get(year)
            if row is None and (first is None or year < first):
                continue  # before its first report: no row, and nothing to explain
            if row is None and _basis(total) == LISTED:
                omitted.append(_unknown(code, year, year, [year]))  # not among the suppliers summed: unknown
                continue
            tiv = row.value if row is not None else 0.0
            out.append(
                SharePublic(
                    country=code,
                    period=str(year),
                    start=year,
                    end=year,
                    tiv=tiv,
                    world_tiv=total.value,
                    share=_share(tiv, total.value),
                    world_basis=_basis(total),
                    years_with_data=int(row is not None),
                    flag=(row.flag or None) if row is not None else ABSENT,
                    source_releases=sorted(
                        {r for r in (row.source_release if row else None, total.source_release) if r}
                    ),
                )
            )
    return out, omitted


def periods(world_years: Sequence[int], start: int | None, end: int | None, size: int) -> list[tuple[int, int]]:
    """Complete ``size``-year periods ending at ``end`` (default: the last year with a denominator, which
    counts 2024's sum of listed suppliers)."""
    if not world_years:
        return []
    last = min(end, world_years[-1]) if end is not None else world_years[-1]
    first = max(start, world_years[0]) if start is not None else world_years[0]
    available = set(world_years)
    out = []
    high = last
    while high - size + 1 >= first:
        low = high - size + 1
        if all(y in available for y in range(low, high + 1)):
            out.append((low, high))
        high -= size
    return sorted(out)


def windowed(
    data: Mapping[str, Mapping[int, Observation]],
    countries: Sequence[str],
    start: int | None,
    end: int | None,
    size: int,
) -> tuple[list[SharePublic], list[ShareOmittedPublic]]:
    """A row per country and complete window, and the windows left out: those holding a year whose denominator
    is a sum of listed suppliers the country is not part of (its value there is unknown; read as zero, the
    window's share would be a number SIPRI never implied)."""
    world = data.get(WORLD, {})
    out: list[SharePublic] = []
    omitted: list[ShareOmittedPublic] = []
    for low, high in periods(sorted(world), start, end, size):
        years = range(low, high + 1)
        world_total = sum(world[y].value for y in years)
        bases = {_basis(world[y]) for y in years}
        basis = next(iter(bases)) if len(bases) == 1 else "mixed"  # one denominator, the same for every country
        for code in countries:
            rows = [data.get(code, {}).get(y) for y in years]
            unknown = [y for y, r in zip(years, rows, strict=True) if r is None and _basis(world[y]) == LISTED]
            if unknown:
                omitted.append(_unknown(code, low, high, unknown))
                continue
            present = [r for r in rows if r is not None]
            tiv = sum(r.value for r in present)
            out.append(
                SharePublic(
                    country=code,
                    period=f"{low}-{high}",
                    start=low,
                    end=high,
                    tiv=tiv,
                    world_tiv=world_total,
                    share=_share(tiv, world_total),
                    world_basis=basis,
                    years_with_data=len(present),
                    flag=_flags([*(r.flag for r in present), ABSENT if len(present) < len(rows) else None]),
                    source_releases=sorted(
                        {r.source_release for r in [*present, *(world[y] for y in years)] if r.source_release}
                    ),
                )
            )
    def order(s: SharePublic | ShareOmittedPublic) -> tuple[int, int]:
        return countries.index(s.country), s.start

    return sorted(out, key=order), sorted(omitted, key=order)
