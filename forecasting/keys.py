"""Requests, their resolution against the data, and their content keys.

A request is a target, a scenario, a horizon, an interval width and a history
window (plus the sampling seed). :func:`resolve_request` turns it into a
:class:`Design` (the history, the drivers actually used and their observed
values, the transform) and a :class:`ResolvedScenario` (concrete yearly driver
values). :func:`canonical_request` is the JSON of everything that determines
the result, and :func:`content_key` its SHA-256: the same request on the same
data and model version always gives the same key, and any change to the
resolved scenario, the data version or :data:`MODEL_VERSION` gives a new one
(DESIGN.md, "Forecast identity and caching"). Nothing here imports Prophet,
so the API can compute keys cheaply.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from forecasting.drivers import (
    POLICY,
    REGIMES,
    WORLD_MILEX,
    applicable_drivers,
    openness_by_year,
    regime_in_force,
    regressor_centre,
)
from forecasting.errors import InsufficientData, InvalidScenario, InvalidTarget
from forecasting.inputs import ForecastInputs
from forecasting.paths import ResolvedScenario, resolve_scenario
from forecasting.pipeline import Deal
from forecasting.scenarios import ModelSettings, Scenario, get_scenario
from forecasting.series import History, HistoryWindow, Scale, Target, prepare_history, scale_for

__all__ = [
    "MAX_HORIZON",
    "MODEL_VERSION",
    "Design",
    "ForecastRequest",
    "ResolvedScenario",
    "canonical_json",
    "canonical_request",
    "content_key",
    "design",
    "interval_label",
    "key_of",
    "normalise",
    "resolve_request",
    "resolve_scenario",
]

# Bump on any change that alters a result for the same request and data.
MODEL_VERSION = "2026.12.9"
MAX_HORIZON = 30


def check_horizon(horizon: Any) -> int:
    """Validate the horizon (years ahead, 1 to 30)."""
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 1 <= horizon <= MAX_HORIZON:
        raise InvalidScenario(f"'horizon' must be between 1 and {MAX_HORIZON}, got {horizon!r}", field="horizon")
    return horizon


def check_interval_width(width: Any) -> float:
    """Validate the interval width (a probability strictly between 0 and 1)."""
    ok = isinstance(width, int | float) and not isinstance(width, bool) and math.isfinite(width)
    if not ok or not 0.0 < width < 1.0:
        raise InvalidScenario(f"'interval_width' must be in (0, 1), got {width!r}", field="interval_width")
    return float(width)


def interval_label(width: float) -> str:
    """``80`` for 0.8, ``87.5`` for 0.875: the suffix of the ``lo-``/``hi-`` keys."""
    return format(round(100.0 * width, 6), "g")


@dataclass(frozen=True)
class ForecastRequest:
    """One forecast: target, scenario, horizon (years), interval width, history window, seed."""

    target: Target
    scenario: Scenario
    horizon: int = 10
    interval_width: float = 0.8
    window: HistoryWindow = field(default_factory=HistoryWindow)
    seed: int = 0

    def __post_init__(self) -> None:
        check_horizon(self.horizon)
        object.__setattr__(self, "interval_width", check_interval_width(self.interval_width))
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise InvalidScenario(f"'seed' must be an integer in [0, 2**32), got {self.seed!r}", field="seed")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict of the request as stated (built-in scenarios by name)."""
        scenario: Any = self.scenario.name if self.scenario.builtin else self.scenario.to_dict()
        return {"target": self.target.to_dict(), "scenario": scenario, "horizon": self.horizon,
                "interval_width": self.interval_width, "history_window": self.window.to_dict(), "seed": self.seed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ForecastRequest:
        """Inverse of :meth:`to_dict`; a scenario is a built-in name or a custom object."""
        from forecasting.parsing import parse_scenario

        raw = data.get("scenario", "baseline")
        scenario = get_scenario(raw) if isinstance(raw, str) else parse_scenario(raw)
        target, window = data.get("target", {}), data.get("history_window") or {}
        if not isinstance(target, Mapping):
            raise InvalidTarget(f"'target' must be an object with 'country' and 'measure', got {target!r}",
                                field="target")
        if not isinstance(window, Mapping):
            raise InvalidTarget(f"'history_window' must be an object with 'start' and 'end', got {window!r}",
                                field="history_window")
        return cls(
            Target(target.get("country", ""), target.get("measure", "share")), scenario,
            data.get("horizon", 10), data.get("interval_width", 0.8),
            HistoryWindow(window.get("start"), window.get("end")), data.get("seed", 0),
        )


@dataclass(frozen=True)
class Design:
    """What a fit depends on once the settings meet the data."""

    target: Target
    window: HistoryWindow
    settings: ModelSettings  # ``drivers`` resolved to the drivers actually used
    history: History
    observed: dict[str, dict[int, float]]  # driver histories in their own units
    hold_values: dict[str, float]  # value each driver's path starts from
    scale: Scale
    centres: dict[str, float]  # regressor centres (mean over the fitted years)
    notes: tuple[str, ...] = ()
    pipeline: tuple[Deal, ...] = ()  # Japan's deal catalogue (empty for other targets)
    world_milex: dict[int, float] = field(default_factory=dict)  # observed, for world demand (TIV, Japan's model)

    @property
    def base_share_scale(self) -> Scale:
        """The scale a pipeline model's statistical base share is shifted on by a scenario's drivers: the
        share's logit, with the scenario's zero offset when the target is the share (for a TIV target the
        offset is in TIV and belongs to the drivers' fit)."""
        return self.scale if self.target.measure == "share" else scale_for("share")


def _observed(inputs: ForecastInputs, name: str, last_year: int, cut: int | None = None
              ) -> tuple[dict[int, float], float]:
    """A driver's observations and the value its path starts from; with ``cut`` (an as-of history end), only
    what was observed by then: no driver value, policy event or note of an as-of forecast comes from later."""
    if name != POLICY:
        series = {y: v for y, v in inputs.drivers.get(name, {}).items() if cut is None or y <= cut}
        return series, series[max(series)] if series else math.nan
    years = [y for y in (list(inputs.world_tiv) or list(inputs.target_tiv)) if cut is None or y <= cut]
    event_years = [int(d[:4]) for d, r in inputs.policy_events if r and (cut is None or int(d[:4]) <= cut)]
    end = max([last_year, *event_years])
    series = openness_by_year(inputs.policy_events, range(min(years), end + 1))
    return series, REGIMES[regime_in_force(inputs.policy_events, dt.date(end, 12, 31))].openness


def _candidates(inputs: ForecastInputs, target: Target, settings: ModelSettings) -> list[str]:
    applicable = applicable_drivers(target.country, target.measure)
    # The policy index always exists for Japan: before the first regime event
    # the regime is pre_principles (a constant index is then dropped below).
    has_data = {n: n == POLICY or bool(inputs.drivers.get(n)) for n in applicable}
    if settings.drivers is None:
        return [n for n in applicable if has_data[n]]
    for i, name in enumerate(settings.drivers):
        where = f"scenario.settings.drivers[{i}]"
        if name not in applicable:
            raise InvalidScenario(
                f"driver {name!r} does not apply to {target.country} (applicable: {', '.join(applicable)})",
                field=where,
            )
        if not has_data[name]:
            raise InsufficientData(f"no history of driver {name!r} was passed in", field=where)
    return list(settings.drivers)


def design(inputs: ForecastInputs, target: Target, window: HistoryWindow, settings: ModelSettings) -> Design:
    """Resolve ``settings`` against the data: drivers used, history, transform.

    Drivers that are constant over the fitted years cannot be told apart from
    the trend's level and are left out (with a note). Raises
    :class:`InvalidScenario` for settings that do not fit the measure (a
    share cap above 100) and :class:`InsufficientData` when too little remains.
    """
    if target.country == "WLD" and target.measure == "share":
        raise InvalidTarget("the world's share of world exports is 100 %; forecast its 'tiv' instead",
                            field="target.measure")
    if target.measure == "share" and settings.cap is not None and settings.cap > 100:
        raise InvalidScenario(f"'scenario.settings.cap' must be at most 100 for a share, got {settings.cap}",
                              field="scenario.settings.cap")
    span = list(inputs.world_tiv) or list(inputs.target_tiv)
    last_year = min(max(span, default=0), window.end or 10_000)
    cut = window.end if window.end is not None and window.end < max(span, default=0) else None  # as of then
    names = _candidates(inputs, target, settings)
    notes: list[str] = []
    while True:
        observed = {n: _observed(inputs, n, last_year, cut) for n in names}
        history = prepare_history(inputs, target, window, {n: s for n, (s, _) in observed.items()})
        fit_years = [p.year for p in history.fit_points]
        constant = [n for n in names if len({observed[n][0][y] for y in fit_years}) < 2]
        if not constant:
            break
        notes += [f"{n} is constant over the fitted years and was left out" for n in constant]
        names = [n for n in names if n not in constant]
    if window.start is not None and window.start > min(span, default=window.start):
        notes.append(f"every supplier's and the world's history starts in {window.start} here; the evaluation behind "
                     "the accuracy figures used whole histories, so they describe the whole-history model")
    if target.country == "JPN" and inputs.pipeline and window.end is not None and window.end < max(span, default=0):
        notes.append(f"the deal pipeline is today's (orders, deliveries and prospects as known now), not what was "
                     f"known at the end of this history ({window.end}); the statistical base is cut there, and the "
                     f"deliveries the register records after {window.end} are forecast as the deals' deliveries "
                     "in those years")
    return Design(
        target, window, replace(settings, drivers=tuple(names)), history,
        {n: s for n, (s, _) in observed.items()}, {n: h for n, (_, h) in observed.items()},
        scale_for(target.measure, settings.zero_offset),
        {n: regressor_centre(n, [observed[n][0][y] for y in fit_years]) for n in names}, tuple(notes),
        (tuple(deal.as_of(cut) for deal in inputs.deals()) if cut is not None else inputs.deals())
        if target.country == "JPN" else (),
        _observed(inputs, WORLD_MILEX, last_year, cut)[0]
        if (target.country == "JPN" and inputs.pipeline) or target.measure == "tiv" else {},
    )


def resolve_request(request: ForecastRequest, inputs: ForecastInputs) -> tuple[Design, ResolvedScenario]:
    """Design and resolved scenario of ``request`` on ``inputs``."""
    d = design(inputs, request.target, request.window, request.scenario.settings)
    return d, resolve_scenario(request.scenario, d, request.horizon)


def normalise(value: Any, digits: int) -> Any:
    """JSON-safe copy of ``value`` with floats rounded to ``digits`` significant digits."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot serialise non-finite number {value!r}")
        rounded = float(f"{value:.{digits}g}")
        return 0.0 if rounded == 0 else rounded
    if isinstance(value, Mapping):
        return {str(k): normalise(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalise(v, digits) for v in value]
    raise TypeError(f"cannot serialise {type(value).__name__}")


def canonical_json(value: Any, digits: int = 12) -> str:
    """Canonical JSON: sorted keys, no whitespace, floats rounded to ``digits`` significant digits."""
    return json.dumps(normalise(value, digits), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def canonical_request(
    request: ForecastRequest, inputs: ForecastInputs, resolved: ResolvedScenario | None = None
) -> dict[str, Any]:
    """The fully resolved request as a JSON-safe dict: exactly what the content key hashes.

    ``resolved`` may be passed when the caller already resolved the scenario.
    """
    if resolved is None:
        _, resolved = resolve_request(request, inputs)
    return {
        "target": {"country": request.target.country, "measure": request.target.measure},
        "scenario": resolved.to_dict(),
        "horizon": request.horizon,
        "interval_width": request.interval_width,
        "history_window": request.window.to_dict(),
        "seed": request.seed,
        "data_version": inputs.data_version,
        "model_version": MODEL_VERSION,
    }


def key_of(canonical: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of a canonical request dict."""
    return hashlib.sha256(canonical_json(canonical).encode("utf-8")).hexdigest()


def content_key(request: ForecastRequest, inputs: ForecastInputs) -> str:
    """SHA-256 (hex) of the canonical JSON of the fully resolved request.

    Parameters
    ----------
    request
        Target, scenario, horizon, interval width, history window and seed.
    inputs
        The data; its ``data_version`` is part of the key.

    Returns
    -------
    str
        64 hexadecimal characters; also the job id and the ETag of the result.
    """
    return key_of(canonical_request(request, inputs))
