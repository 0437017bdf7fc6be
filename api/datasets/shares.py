"""Shares of world arms exports, computed from a release of the arms-exports dataset.

The denominator is SIPRI's own world total (country code WLD). For 2024 SIPRI published
no world total; the shipped WLD 2024 value is the sum of the suppliers SIPRI lists for
that year, flagged ``sum_of_listed_suppliers`` (a lower bound), and every share computed
from it says so in ``world_basis``. A year without any denominator gives no share.

SIPRI leaves a cell empty when no deliveries were identified. With ``window=1`` such
years are omitted (nothing is filled in); five-year totals count them as zero, exactly as
SIPRI's own totals do, and report how many years had a value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from api.datasets.schemas import SharePublic
from api.datasets.tables import Observation

WORLD = "WLD"
LISTED = "sum_of_listed_suppliers"


def _basis(row: Observation) -> str:
    return LISTED if row.flag and LISTED in row.flag.split(";") else "sipri_world_total"


def _share(tiv: float, world: float) -> float:
    return round(100.0 * tiv / world, 6)


def yearly(data: Mapping[str, Mapping[int, Observation]], countries: Sequence[str]) -> list[SharePublic]:
    world = data.get(WORLD, {})
    out: list[SharePublic] = []
    for code in countries:
        for year, row in sorted(data.get(code, {}).items()):
            total = world.get(year)
            if total is None or total.value <= 0:
                continue
            out.append(
                SharePublic(
                    country=code,
                    period=str(year),
                    start=year,
                    end=year,
                    tiv=row.value,
                    world_tiv=total.value,
                    share=_share(row.value, total.value),
                    world_basis=_basis(total),
                    years_with_data=1,
                    source_releases=sorted({r for r in (row.source_release, total.source_release) if r}),
                )
            )
    return out


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
) -> list[SharePublic]:
    world = data.get(WORLD, {})
    out: list[SharePublic] = []
    for low, high in periods(sorted(world), start, end, size):
        years = range(low, high + 1)
        world_total = sum(world[y].value for y in years)
        bases = {_basis(world[y]) for y in years}
        basis = next(iter(bases)) if len(bases) == 1 else "mixed"  # one denominator, the same for every country
        for code in countries:
            rows = [data.get(code, {}).get(y) for y in years]
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
                    source_releases=sorted(
                        {r.source_release for r in [*present, *(world[y] for y in years)] if r.source_release}
                    ),
                )
            )
    return sorted(out, key=lambda s: (countries.index(s.country), s.start))
