"""The plain-data inputs of the forecasting core: :class:`ForecastInputs`.

Workers build one from the database and ship it through Redis as JSON
(:meth:`ForecastInputs.to_dict` / :meth:`ForecastInputs.from_dict`); a
notebook builds one from CSV files. Values are validated on construction and
normalised (integer years, float values, sorted), so equal data gives equal
objects and byte-identical JSON. How absent years and lower-bound world
totals are read is described in :mod:`forecasting.series`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from forecasting.drivers import INPUT_DRIVERS, PRE_PRINCIPLES, REGIMES, parse_event_date
from forecasting.errors import InvalidInputs
from forecasting.panel import Panel
from forecasting.parsing_pipeline import check_catalogue
from forecasting.pipeline import Deal, deal_from_row

__all__ = ["YEAR_MAX", "YEAR_MIN", "ForecastInputs"]

YEAR_MIN, YEAR_MAX = 1900, 2100
_ISO3 = re.compile(r"^[A-Z]{3}$")


def _years(raw: Mapping[Any, Any], where: str, positive: bool = False) -> dict[int, float]:
    out: dict[int, float] = {}
    for key, value in raw.items():
        try:
            year = int(key)
        except (TypeError, ValueError):
            raise InvalidInputs(f"year keys must be integers, got {key!r}", field=where) from None
        if not YEAR_MIN <= year <= YEAR_MAX or isinstance(value, bool):
            raise InvalidInputs(f"bad year or value {key!r}: {value!r}", field=f"{where}[{key}]")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInputs(f"value must be a number, got {value!r}", field=f"{where}[{year}]") from None
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            sign = "> 0" if positive else ">= 0"
            raise InvalidInputs(f"value must be finite and {sign}, got {value!r}", field=f"{where}[{year}]")
        out[year] = number
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class ForecastInputs:
    """Plain-data inputs for one country; JSON round trip via to_dict/from_dict.

    Parameters
    ----------
    country
        ISO3 code of the country whose exports are given.
    target_tiv
        The country's arms exports by year, TIV million; absent years follow
        ``absent_target_years`` (see :mod:`forecasting.series`).
    world_tiv
        World total arms exports by year, TIV million (SIPRI ``WLD``); may be
        empty when only ``tiv`` is forecast.
    drivers
        Driver histories by name (see :mod:`forecasting.drivers`), each by year.
    policy_events
        ``(ISO date, regime id)`` pairs from the policy timeline; an empty
        regime id marks an event that does not change the regime.
    data_version
        Content version of the data these values came from.
    world_tiv_lower_bound_years
        Years whose world total is a lower bound (sum of listed suppliers).
    absent_target_years
        ``"zero"`` (SIPRI: no deliveries identified) or ``"missing"``.
    notes
        Provenance notes passed through to every forecast (e.g. vintages).
    pipeline
        Rows of the ``japan-export-pipeline`` dataset, see
        :mod:`forecasting.pipeline`: Japan's forecast is built from them, and
        every other supplier's baseline makes room for Japan's (shares add
        up to 100 %); empty, no supplier makes room.
    panel_tiv
        Every listed supplier's exports by year (TIV million), the target
        included, so that the forecast is coherent across suppliers
        (:mod:`forecasting.coherent`). Empty: the target alone against the
        rest of the world.
    """

    country: str
    target_tiv: dict[int, float]
    world_tiv: dict[int, float]
    drivers: dict[str, dict[int, float]]
    policy_events: tuple[tuple[str, str], ...]
    data_version: str
    world_tiv_lower_bound_years: tuple[int, ...] = ()
    absent_target_years: Literal["zero", "missing"] = "zero"
    notes: tuple[str, ...] = field(default=())
    panel_tiv: dict[str, dict[int, float]] = field(default_factory=dict)
    pipeline: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.country, str) or not _ISO3.match(self.country):
            raise InvalidInputs(f"'country' must be an ISO3 code, got {self.country!r}", field="inputs.country")
        if not isinstance(self.data_version, str) or not self.data_version:
            raise InvalidInputs("'data_version' must be a non-empty string", field="inputs.data_version")
        if self.absent_target_years not in ("zero", "missing"):
            raise InvalidInputs(
                f"'absent_target_years' must be 'zero' or 'missing', got {self.absent_target_years!r}",
                field="inputs.absent_target_years",
            )
        target = _years(self.target_tiv, "inputs.target_tiv")
        world = _years(self.world_tiv, "inputs.world_tiv", positive=True)
        for year, value in target.items():
            if year in world and value > world[year]:
                raise InvalidInputs(
                    f"target TIV {value} exceeds the world total {world[year]} in {year}",
                    field=f"inputs.target_tiv[{year}]",
                )
        drivers = {}
        for name in sorted(self.drivers):
            if name not in INPUT_DRIVERS:
                raise InvalidInputs(
                    f"unknown driver {name!r}; expected one of {', '.join(INPUT_DRIVERS)}",
                    field=f"inputs.drivers.{name}",
                )
            drivers[name] = _years(self.drivers[name], f"inputs.drivers.{name}", positive=True)
        object.__setattr__(self, "target_tiv", target)
        object.__setattr__(self, "world_tiv", world)
        object.__setattr__(self, "drivers", drivers)
        object.__setattr__(self, "policy_events", _events(self.policy_events))
        bounds = tuple(sorted({int(y) for y in self.world_tiv_lower_bound_years}))
        if any(y not in world for y in bounds):
            raise InvalidInputs(
                "'world_tiv_lower_bound_years' lists years without a world total: "
                f"{[y for y in bounds if y not in world]}",
                field="inputs.world_tiv_lower_bound_years",
            )
        object.__setattr__(self, "world_tiv_lower_bound_years", bounds)
        object.__setattr__(self, "notes", tuple(str(n) for n in self.notes))
        panel = {}
        for code in sorted(self.panel_tiv):
            if not isinstance(code, str) or not _ISO3.match(code) or code == "WLD":
                raise InvalidInputs(f"panel supplier codes must be ISO3 codes other than WLD, got {code!r}",
                                    field="inputs.panel_tiv")
            panel[code] = _years(self.panel_tiv[code], f"inputs.panel_tiv.{code}")
        object.__setattr__(self, "panel_tiv", panel)
        rows = tuple({str(k): v for k, v in row.items()} for row in self.pipeline)
        ids = [str(r.get("deal_id")) for r in rows]
        if len(set(ids)) != len(ids):
            raise InvalidInputs("pipeline deal ids must be unique", field="inputs.pipeline")
        check_catalogue([deal_from_row(row) for row in rows])  # every field, naming the deal; then across rows
        object.__setattr__(self, "pipeline", rows)

    def deals(self) -> tuple[Deal, ...]:
        """The pipeline's deals (Japan's committed and prospective exports)."""
        return tuple(deal_from_row(r) for r in self.pipeline)

    def panel(self) -> Panel:
        """The supplier panel: ``panel_tiv`` (or the target alone) against the world total."""
        suppliers = dict(self.panel_tiv)
        if not suppliers and self.country != "WLD":
            suppliers = {self.country: self.target_tiv}
        elif self.country != "WLD":
            suppliers[self.country] = self.target_tiv
        return Panel(suppliers, self.world_tiv, self.world_tiv_lower_bound_years)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (year keys as strings)."""
        return {
            "country": self.country,
            "target_tiv": {str(y): v for y, v in self.target_tiv.items()},
            "world_tiv": {str(y): v for y, v in self.world_tiv.items()},
            "drivers": {n: {str(y): v for y, v in s.items()} for n, s in self.drivers.items()},
            "policy_events": [list(e) for e in self.policy_events],
            "data_version": self.data_version,
            "world_tiv_lower_bound_years": list(self.world_tiv_lower_bound_years),
            "absent_target_years": self.absent_target_years,
            "notes": list(self.notes),
            "panel_tiv": {c: {str(y): v for y, v in s.items()} for c, s in self.panel_tiv.items()},
            "pipeline": [dict(r) for r in self.pipeline],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForecastInputs:
        """Inverse of :meth:`to_dict`; raises :class:`InvalidInputs` on malformed data."""
        try:
            return cls(
                country=data["country"],
                target_tiv=dict(data["target_tiv"]),
                world_tiv=dict(data.get("world_tiv", {})),
                drivers={str(k): dict(v) for k, v in data.get("drivers", {}).items()},
                policy_events=tuple((str(d), str(r)) for d, r in data.get("policy_events", [])),
                data_version=data["data_version"],
                world_tiv_lower_bound_years=tuple(data.get("world_tiv_lower_bound_years", [])),
                absent_target_years=data.get("absent_target_years", "zero"),
                notes=tuple(data.get("notes", [])),
                panel_tiv={str(c): dict(s) for c, s in data.get("panel_tiv", {}).items()},
                pipeline=tuple(dict(r) for r in data.get("pipeline", [])),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputs(f"malformed inputs: {exc!r}", field="inputs") from None


def _events(raw: Any) -> tuple[tuple[str, str], ...]:
    events = []
    for i, item in enumerate(raw):
        if not isinstance(item, tuple | list) or len(item) != 2:
            raise InvalidInputs(f"expected a (date, regime id) pair, got {item!r}", field=f"inputs.policy_events[{i}]")
        date, regime = item
        try:
            parse_event_date(str(date))
        except ValueError:
            raise InvalidInputs(f"bad date {date!r}", field=f"inputs.policy_events[{i}].date") from None
        if regime and regime not in REGIMES and regime != PRE_PRINCIPLES:
            raise InvalidInputs(
                f"unknown regime id {regime!r}; expected one of {', '.join(REGIMES)}",
                field=f"inputs.policy_events[{i}].regime",
            )
        events.append((str(date), str(regime)))
    return tuple(sorted(events))
