"""Targets, history windows, history preparation and the bounded scales.

Zeros and missing years (SIPRI conventions, see the curated ``SOURCES.md``):

* SIPRI leaves a cell blank when it identified no deliveries. A year that is
  absent from ``target_tiv`` but inside the span of years the source covers
  (the span of ``world_tiv``, or of ``target_tiv`` itself when no world total
  is given) is therefore read as **0**, flagged ``absent_read_as_zero``. Set
  ``absent_target_years="missing"`` for a source where absence means unknown;
  such years are then left out of the fit.
* SIPRI writes ``0`` for deliveries under 0.5 million TIV; it stays 0.
* A share needs the world total; a year without one is left out of the fit.
  A world total marked in ``world_tiv_lower_bound_years`` (2024: the sum of the
  44 listed suppliers, 28,671) is a lower bound, so that year's share is an
  upper bound. It is used in the fit (the bound is within about 1-2 % of any
  plausible total, far less than the year-to-year variation) and flagged
  ``world_total_lower_bound`` / ``share_upper_bound`` in the output.

Bounds: shares live in [0, 100] and TIV is >= 0. Prophet's logistic cap and
floor bound only its trend, not its intervals, so the model works on a
transformed scale (:class:`Scale`) and maps every point and bound back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt

from forecasting.errors import InsufficientData, InvalidTarget
from forecasting.inputs import YEAR_MAX, YEAR_MIN, ForecastInputs

__all__ = [
    "MIN_FIT_YEARS",
    "SHARE_OFFSET_PP",
    "TIV_OFFSET",
    "History",
    "HistoryPoint",
    "HistoryWindow",
    "Measure",
    "Scale",
    "Target",
    "prepare_history",
    "scale_for",
]

Measure = Literal["share", "tiv"]
MIN_FIT_YEARS = 10
# Zero offsets. SIPRI publishes whole TIV millions and writes 0 below 0.5, so
# 1 TIV million is the smallest reported amount: it is the offset for TIV, and
# for shares it is expressed against a world total of 25,000 (the 1950-2024
# median world total is about 26,000): 100 * 1 / 25,000 = 0.004 points.
TIV_OFFSET = 1.0
SHARE_OFFSET_PP = 0.004
_ISO3 = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Target:
    """What is forecast: a country (ISO 3166-1 alpha-3) and a measure.

    ``share`` is the percentage of world arms exports (TIV); ``tiv`` is the
    country's exports in TIV millions.
    """

    country: str
    measure: Measure = "share"

    def __post_init__(self) -> None:
        if not isinstance(self.country, str) or not _ISO3.match(self.country):
            raise InvalidTarget(
                f"'country' must be an ISO 3166-1 alpha-3 code such as 'JPN', got {self.country!r}",
                field="target.country",
            )
        if self.measure not in ("share", "tiv"):
            raise InvalidTarget(
                f"'measure' must be 'share' or 'tiv', got {self.measure!r}", field="target.measure"
            )

    @property
    def unit(self) -> str:
        return "percent of world arms exports (TIV)" if self.measure == "share" else "TIV million"

    def to_dict(self) -> dict[str, Any]:
        return {"country": self.country, "measure": self.measure, "unit": self.unit}


@dataclass(frozen=True)
class HistoryWindow:
    """Years of history to use, inclusive; ``None`` means all available."""

    start: int | None = None
    end: int | None = None

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not YEAR_MIN <= value <= YEAR_MAX
            ):
                raise InvalidTarget(
                    f"'{name}' must be a year between {YEAR_MIN} and {YEAR_MAX}, got {value!r}",
                    field=f"history_window.{name}",
                )
        if self.start is not None and self.end is not None and self.start > self.end:
            raise InvalidTarget(
                f"'start' ({self.start}) must not be after 'end' ({self.end})", field="history_window"
            )

    def to_dict(self) -> dict[str, int | None]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True)
class HistoryPoint:
    """One year of history: the value, its ingredients, and whether it was fitted."""

    year: int
    value: float | None  # in the target's unit; None if not computable
    tiv: float | None
    world_tiv: float | None
    used: bool
    flags: tuple[str, ...] = ()
    excluded_because: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "year": self.year, "value": self.value, "tiv": self.tiv, "world_tiv": self.world_tiv,
            "used_in_fit": self.used, "flags": list(self.flags), "excluded_because": self.excluded_because,
        }


@dataclass(frozen=True)
class History:
    """The prepared history of a target inside a window."""

    target: Target
    points: tuple[HistoryPoint, ...]

    @property
    def fit_points(self) -> tuple[HistoryPoint, ...]:
        return tuple(p for p in self.points if p.used)

    @property
    def last_year(self) -> int:
        """Last year with an observed value: the forecast starts the year after."""
        return max(p.year for p in self.points if p.value is not None)


def _raw_points(inputs: ForecastInputs, target: Target) -> list[HistoryPoint]:
    world = inputs.world_tiv
    if target.measure == "share" and not world:
        raise InsufficientData("a 'share' target needs world totals; 'world_tiv' is empty", field="inputs.world_tiv")
    span = list(world) if world else list(inputs.target_tiv)
    if not span:
        raise InsufficientData("no target data at all", field="inputs.target_tiv")
    points = []
    for year in range(min(span), max(span) + 1):
        flags: list[str] = []
        tiv = inputs.target_tiv.get(year)
        if tiv is None and inputs.absent_target_years == "zero":
            tiv, flags = 0.0, ["absent_read_as_zero"]
        total = world.get(year)
        if year in inputs.world_tiv_lower_bound_years:
            flags += ["world_total_lower_bound", "share_upper_bound"] if target.measure == "share" else []
        if target.measure == "share":
            value = None if tiv is None or total is None else 100.0 * tiv / total
            reason = "no world total" if total is None else "target value missing"
        else:
            value, reason = tiv, "target value missing"
        points.append(HistoryPoint(year, value, tiv, total, value is not None, tuple(flags),
                                   None if value is not None else reason))
    return points


def prepare_history(
    inputs: ForecastInputs, target: Target, window: HistoryWindow, drivers: Mapping[str, Mapping[int, float]]
) -> History:
    """Build the history of ``target`` inside ``window`` and mark the fitted years.

    Parameters
    ----------
    inputs, target, window
        The data, what to forecast, and the years to consider.
    drivers
        Driver histories that the model will use; a year missing from any of
        them is left out of the fit (reason recorded), never filled in.

    Returns
    -------
    History
        One point per year of the window; ``used`` marks the fitted years.

    Raises
    ------
    InvalidTarget
        If ``inputs`` are for another country than ``target``.
    InsufficientData
        If fewer than :data:`MIN_FIT_YEARS` years can be fitted.
    """
    if inputs.country != target.country:
        raise InvalidTarget(
            f"the inputs are for {inputs.country}, not {target.country}", field="target.country"
        )
    points = [
        p for p in _raw_points(inputs, target)
        if (window.start is None or p.year >= window.start) and (window.end is None or p.year <= window.end)
    ]
    if not any(p.value is not None for p in points):
        raise InsufficientData(f"no data inside the history window {window.to_dict()}", field="history_window")
    result = []
    for point in points:
        missing = [name for name, series in drivers.items() if point.year not in series]
        if point.used and missing:
            point = HistoryPoint(point.year, point.value, point.tiv, point.world_tiv, False, point.flags,
                                 "no observed value of " + ", ".join(missing))
        result.append(point)
    history = History(target, tuple(result))
    if len(history.fit_points) < MIN_FIT_YEARS:
        limiting = ", ".join(f"{n} ({min(s, default='-')}-{max(s, default='-')})" for n, s in drivers.items())
        raise InsufficientData(
            f"only {len(history.fit_points)} usable years (at least {MIN_FIT_YEARS} needed) in the window "
            f"{window.to_dict()}; driver coverage: {limiting or 'no drivers'}",
            field="history_window",
        )
    return history


@dataclass(frozen=True)
class Scale:
    """A bounded measure's transformed scale with its zero offset.

    ``logit`` (shares, offset ``e`` in percentage points, ``p = share / 100``,
    ``f = e / 100``): ``z = log((p + f) / (1 - p + f))``. ``log`` (TIV, offset
    ``c`` in TIV million): ``z = log(y + c)``. The inverse maps any real ``z``
    back into ``(-offset, 100 + offset)`` or ``(-c, inf)`` and clips to the
    bounds [0, 100] or [0, inf). Clipping at 0 is meaningful, not cosmetic:
    values below the offset are smaller than SIPRI's smallest reported amount,
    i.e. "no deliveries identified", which happens in many of Japan's years.
    """

    kind: Literal["logit", "log"]
    offset: float

    def forward(self, values: npt.ArrayLike) -> npt.NDArray[np.float64]:
        x = np.asarray(values, dtype=float)
        if self.kind == "log":
            return cast(npt.NDArray[np.float64], np.log(x + self.offset))
        p, f = x / 100.0, self.offset / 100.0
        return cast(npt.NDArray[np.float64], np.log((p + f) / (1.0 - p + f)))

    def inverse(self, z: npt.ArrayLike) -> npt.NDArray[np.float64]:
        zz = np.asarray(z, dtype=float)
        if self.kind == "log":
            # exp(709) is the largest finite double; TIV has no upper bound anyway.
            return cast(npt.NDArray[np.float64], np.maximum(np.exp(np.minimum(zz, 700.0)) - self.offset, 0.0))
        f = self.offset / 100.0
        sigmoid = np.exp(-np.logaddexp(0.0, -zz))  # 1 / (1 + exp(-z)) without overflow
        p = (1.0 + 2.0 * f) * sigmoid - f
        return cast(npt.NDArray[np.float64], 100.0 * np.clip(p, 0.0, 1.0))

    def to_dict(self) -> dict[str, Any]:
        unit = "percentage points" if self.kind == "logit" else "TIV million"
        return {"kind": self.kind, "offset": self.offset, "offset_unit": unit}


def scale_for(measure: Measure, offset: float | None = None) -> Scale:
    """The scale of ``measure``: logit for shares, log for TIV; default offsets above."""
    if measure == "share":
        return Scale("logit", SHARE_OFFSET_PP if offset is None else offset)
    return Scale("log", TIV_OFFSET if offset is None else offset)
