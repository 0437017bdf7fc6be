"""Parsing and validation of custom scenarios given as JSON (e.g. an HTTP body).

Every error is an :class:`~forecasting.errors.InvalidScenario` whose message
names the field and the bad value and whose ``field`` is the dotted path
(``scenario.drivers.japan_defence_spending[2031]``). Bounds: years between
1950 and 2100; levels within each driver's range (openness 0-1, spending
> 0); growth rates between -50 % and +100 % a year; multipliers 0-1000;
``changepoint_prior_scale`` in (0, 10]; ``driver_prior_scale`` in (0, 100];
``uncertainty_samples`` 100-10000; known deliveries 0-100,000 TIV million.
Measure-dependent bounds (a share cap at most 100) are checked when the
scenario is resolved for a target (:mod:`forecasting.keys`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from forecasting.drivers import DRIVERS, POLICY, REGIMES
from forecasting.errors import InvalidScenario
from forecasting.parsing_pipeline import parse_pipeline
from forecasting.prospects import PipelineRules
from forecasting.scenarios import SCENARIOS, DriverChange, DriverPath, ModelSettings, Scenario, effective_pipeline

__all__ = ["SCENARIO_YEARS", "parse_scenario"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
RESERVED_NAMES = frozenset({"year"})  # a scenario set's comparison rows are {"year": ..., <scenario name>: ...}
_TOP_KEYS = ("name", "title", "description", "base", "drivers", "changes", "settings", "known_deliveries",
             "countries", "builtin", "pipeline")
SCENARIO_YEARS = (1950, 2100)


def _fail(field_path: str, expectation: str, value: Any) -> InvalidScenario:
    return InvalidScenario(f"'{field_path}' must be {expectation}, got {value!r}", field=field_path)


def _number(value: Any, where: str, low: float, high: float, *, open_low: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value > high or value < low or (open_low and value == low):
        raise _fail(where, f"a number in {'(' if open_low else '['}{low:g}, {high:g}]", value)
    return float(value)


def _year(value: Any, where: str, key: bool = False) -> int:
    """A year: a JSON integer, or (``key``) an object key's string such as ``"2030"``."""
    kinds = (int, str) if key else (int,)
    try:
        year = int(value) if isinstance(value, kinds) and not isinstance(value, bool) else None
    except ValueError:
        year = None
    if year is None or not SCENARIO_YEARS[0] <= year <= SCENARIO_YEARS[1]:
        raise _fail(where, f"a year between {SCENARIO_YEARS[0]} and {SCENARIO_YEARS[1]}", value)
    return year


def _mapping(value: Any, where: str, allowed: tuple[str, ...] | None = None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, "a JSON object", value)
    unknown = sorted(set(value) - set(allowed)) if allowed is not None else []
    if unknown:
        raise InvalidScenario(f"unknown field '{where}.{unknown[0]}'; allowed: {', '.join(allowed or ())}",
                              field=f"{where}.{unknown[0]}")
    return value


def _level_value(driver: str, value: Any, where: str) -> float:
    if driver == POLICY and isinstance(value, str):
        if value not in REGIMES:
            raise _fail(where, f"an openness index or a regime id ({', '.join(REGIMES)})", value)
        return REGIMES[value].openness
    info = DRIVERS[driver]
    high = math.inf if info.upper is None else info.upper
    return _number(value, where, info.lower, high)


def _driver_name(name: Any, where: str) -> str:
    if name not in DRIVERS:
        raise _fail(where, f"one of {', '.join(DRIVERS)}", name)
    return str(name)


def _path(name: str, spec: Any) -> DriverPath:
    where = f"scenario.drivers.{name}"
    spec = _mapping(spec, where)
    if "mode" not in spec:  # shorthand: {year: level}
        spec = {"mode": "level", "values": spec}
    spec = _mapping(spec, where, ("mode", "values", "fill", "trend_years", "trend_from"))
    mode, fill = spec["mode"], spec.get("fill", "hold")
    if mode not in ("hold", "level", "growth", "trend"):
        raise _fail(f"{where}.mode", "'hold', 'level', 'growth' or 'trend'", mode)
    if fill not in ("hold", "linear"):
        raise _fail(f"{where}.fill", "'hold' or 'linear'", fill)
    values: dict[int, float] = {}
    for key, value in _mapping(spec.get("values", {}), f"{where}.values").items():
        year = _year(key, f"{where}[{key}]", key=True)
        cell = f"{where}[{year}]"
        values[year] = _level_value(name, value, cell) if mode == "level" else _number(value, cell, -0.5, 1.0)
    if (mode == "level") != bool(values) and mode != "growth":
        raise _fail(f"{where}.values", "given for 'level' paths only (at least one year)", spec.get("values"))
    trend_years = spec.get("trend_years", 10)
    if isinstance(trend_years, bool) or not isinstance(trend_years, int) or not 2 <= trend_years <= 30:
        raise _fail(f"{where}.trend_years", "an integer between 2 and 30", trend_years)
    trend_from = None
    if spec.get("trend_from") is not None:  # GET /v1/scenarios gives demand-surge's path with it: copyable
        trend_from = _year(spec["trend_from"], f"{where}.trend_from")
        if mode != "growth":
            raise _fail(f"{where}.trend_from", "given for 'growth' paths only", spec["trend_from"])
        if values and trend_from <= min(values):
            raise _fail(f"{where}.trend_from", f"a year after the first stated rate ({min(values)})", trend_from)
    return DriverPath(mode, dict(sorted(values.items())), fill, trend_years, trend_from)


def _change(i: int, spec: Any) -> DriverChange:
    where = f"scenario.changes[{i}]"
    spec = _mapping(spec, where, ("driver", "op", "value", "from_year", "to_year"))
    driver = _driver_name(spec.get("driver"), f"{where}.driver")
    op = spec.get("op")
    if op not in ("add", "multiply", "set"):
        raise _fail(f"{where}.op", "'add', 'multiply' or 'set'", op)
    raw = spec.get("value")
    if op == "set":
        value = _level_value(driver, raw, f"{where}.value")
    else:
        value = _number(raw, f"{where}.value", 0.0 if op == "multiply" else -1e9, 1e3 if op == "multiply" else 1e9)
    start = _year(spec.get("from_year"), f"{where}.from_year")
    end = None if spec.get("to_year") is None else _year(spec["to_year"], f"{where}.to_year")
    if end is not None and end < start:
        raise _fail(f"{where}.to_year", f"on or after from_year {start}", end)
    return DriverChange(driver, op, value, start, end)


def _settings(spec: Any, base: ModelSettings) -> ModelSettings:
    spec = _mapping(spec, "scenario.settings", tuple(ModelSettings().to_dict()))
    where = "scenario.settings."
    out: dict[str, Any] = {}
    if "growth" in spec:
        if spec["growth"] not in ("linear", "flat", "logistic"):
            raise _fail(where + "growth", "'linear', 'flat' or 'logistic'", spec["growth"])
        out["growth"] = spec["growth"]
    for key, low, high in (("changepoint_prior_scale", 0.0, 10.0), ("driver_prior_scale", 0.0, 100.0),
                           ("cap", 0.0, 1e6), ("zero_offset", 0.0, 1e3)):
        if spec.get(key) is not None:
            out[key] = _number(spec[key], where + key, low, high, open_low=True)
        elif key in spec:
            out[key] = None
    if "drivers" in spec:
        drivers = spec["drivers"]
        if drivers is not None:
            if not isinstance(drivers, list) or len(set(drivers)) != len(drivers):
                raise _fail(where + "drivers", "a list of distinct driver names or null", drivers)
            drivers = tuple(_driver_name(d, f"{where}drivers[{i}]") for i, d in enumerate(drivers))
        out["drivers"] = drivers
    if "uncertainty_samples" in spec:
        n = spec["uncertainty_samples"]
        if isinstance(n, bool) or not isinstance(n, int) or not 100 <= n <= 10_000:
            raise _fail(where + "uncertainty_samples", "an integer between 100 and 10000", n)
        out["uncertainty_samples"] = n
    settings = replace(base, **out)
    if (settings.growth == "logistic") != (settings.cap is not None):
        raise _fail(where + "cap", "given exactly when growth is 'logistic'", settings.cap)
    return settings


def _text(data: Mapping[str, Any], key: str, default: str, limit: int) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail(f"scenario.{key}", f"a non-empty string of at most {limit} characters", value)
    return value.strip()


def _describe(base: str, paths: Mapping[str, DriverPath], changes: tuple[DriverChange, ...],
              pipeline: PipelineRules | None) -> str:
    parts = [f"Custom scenario: as '{base}'"]
    for name, path in paths.items():
        stated = ", ".join(f"{y}: {v:g}" for y, v in path.values.items())
        parts.append(f"{name} follows a {path.mode} path" + (f" ({stated})" if stated else ""))
    for c in changes:
        until = f" to {c.to_year}" if c.to_year is not None else ""
        parts.append(f"{c.op} {c.driver} {'by' if c.op != 'set' else 'to'} {c.value:g} from {c.from_year}{until}")
    if pipeline is not None and pipeline.describe():
        parts.append(f"Japan's pipeline: {pipeline.describe()}")
    return "; ".join(parts) + "."


def parse_scenario(data: Any) -> Scenario:
    """Parse and validate a custom scenario given as JSON-like data.

    Parameters
    ----------
    data
        Object with optional ``name`` (slug), ``title``, ``description``,
        ``base`` (a built-in scenario, default ``baseline``), ``drivers``
        (name -> path, or name -> {year: level}), ``changes`` (list of
        {driver, op, value, from_year, to_year}), ``settings`` (partial
        :class:`ModelSettings`), ``known_deliveries`` ({year: TIV million}) and
        ``pipeline`` (Japan's deals: see :mod:`forecasting.parsing_pipeline`).

    Returns
    -------
    Scenario
        The custom scenario; unstated parts follow its base.

    Raises
    ------
    InvalidScenario
        With ``field`` set to the offending field, e.g.
        ``scenario.drivers.japan_defence_spending[2031]``.
    """
    data = _mapping(data, "scenario", _TOP_KEYS)
    if data.get("builtin"):
        raise _fail("scenario.builtin", "false for a custom scenario (refer to built-ins by name)", True)
    name = data.get("name", "custom")
    if not isinstance(name, str) or not _NAME.match(name) or name in SCENARIOS or name in RESERVED_NAMES:
        raise _fail("scenario.name", "a lower-case slug (a-z, 0-9, '-', '_') that is not a built-in name nor "
                    f"{', '.join(sorted(RESERVED_NAMES))} (a column of the comparison table)", name)
    base = data.get("base", "baseline")
    if base not in SCENARIOS:
        raise _fail("scenario.base", f"a built-in scenario ({', '.join(SCENARIOS)})", base)
    paths = {_driver_name(n, f"scenario.drivers.{n}"): _path(n, s)
             for n, s in _mapping(data.get("drivers", {}), "scenario.drivers").items()}
    raw_changes = data.get("changes", [])
    if not isinstance(raw_changes, list):
        raise _fail("scenario.changes", "a list", raw_changes)
    changes = tuple(_change(i, c) for i, c in enumerate(raw_changes))
    deliveries = {
        _year(k, f"scenario.known_deliveries[{k}]", key=True): _number(v, f"scenario.known_deliveries[{k}]", 0.0, 1e5)
        for k, v in _mapping(data.get("known_deliveries", {}), "scenario.known_deliveries").items()
    }
    countries = data.get("countries")
    if countries is not None and (not isinstance(countries, list)
                                  or not all(isinstance(c, str) and re.match(r"^[A-Z]{3}$", c) for c in countries)):
        raise _fail("scenario.countries", "null or a list of ISO3 codes", countries)
    pipeline = None if data.get("pipeline") is None else parse_pipeline(
        data["pipeline"], effective_pipeline(SCENARIOS[base]))
    return Scenario(
        name=name, title=_text(data, "title", f"Custom scenario '{name}'", 120),
        description=_text(data, "description", _describe(base, paths, changes, pipeline), 2000), base=base,
        paths=paths, changes=changes, settings=_settings(data.get("settings", {}), SCENARIOS[base].settings),
        known_deliveries=dict(sorted(deliveries.items())),
        countries=None if countries is None else tuple(countries), pipeline=pipeline,
    )
