"""The model card shipped with a model version: its calibration and its measured accuracy.

``model_card.json`` (in this package) is written by ``bench/forecast_accuracy.py
--write`` from the curated data, by :func:`forecasting.evaluation.evaluate`,
the same code path that serves forecasts. It holds

* the conformal calibration (scaled-error quantiles per measure and horizon)
  that the served intervals use, computed from every origin whose outcome was
  known at the end of the data;
* the held-out accuracy of the served model and of every benchmark, overall,
  by horizon and by supplier, for the share and for the same forecasts in TIV
  million (every supplier's, and the world total's), with the origins that
  decided and were scored;
* the digest of the data it was computed on, so that a forecast on other data
  (a new release) can say that its accuracy figures describe the shipped data.

Reading a file shipped inside the package is the only access to storage here.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

from forecasting.calibration import Calibration, ErrorRecord, calibrate
from forecasting.errors import InsufficientData
from forecasting.panel import WORLD

__all__ = ["CARD_FILE", "DRIVER_FILE", "ERRORS_FILE", "ModelCard", "Tables", "driver_standing", "load_card"]

CARD_FILE = "model_card.json"
ERRORS_FILE = "model_errors.json"  # the past scaled errors behind the calibration, by measure, horizon and origin
DRIVER_FILE = "driver_evaluation.json"  # the perfect-foresight test of every driver (bench/forecast_drivers.py)


class ModelCard:
    """The parsed card: calibration plus the accuracy tables."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.calibration = Calibration.from_dict(data["calibration"])
        self._as_of: dict[int, Calibration | None] = {}
        self._coverage: dict[tuple[str, float], dict[str, Any]] = {}

    @property
    def model_version(self) -> str:
        return str(self.data["model_version"])

    @property
    def data_digest(self) -> str:
        return str(self.data["data_digest"])

    @property
    def errors_known_by(self) -> int:
        """The last year whose outcomes the shipped calibration has seen."""
        return int(self.data["origins"]["last"]) + 1

    def calibration_as_of(self, year: int) -> Calibration | None:
        """The calibration a forecast made at the end of ``year`` would have had: the quantiles of the past errors
        whose outcome was known by then (:data:`ERRORS_FILE`), as the evaluation calibrates each origin's
        intervals. ``None`` when the shares have too few such errors at some horizon (before about 1983); a
        TIV or world-total measure with too few is left out (its forecasts then say so)."""
        if year >= self.errors_known_by:
            return self.calibration
        if year not in self._as_of:
            try:
                self._as_of[year] = calibrate(_error_records(), known_by=year, measures=["share", "tiv", "world"],
                                              optional=("tiv", "world"))
            except InsufficientData:
                self._as_of[year] = None
        return self._as_of[year]

    def coverage_at(self, measure: str, width: float) -> dict[str, Any]:
        """The measured coverage of the served ``width`` intervals of ``measure`` (``share``, ``tiv`` or
        ``world``) on the evaluation: every scored past error against the bounds of the calibration known at
        its origin (:meth:`calibration_as_of`, as the evaluation calibrates it); for any width, so that a client
        asking for 50 % or 99 % learns how well that width held, not the 80 % figure."""
        width = round(float(width), 6)
        key = (measure, width)
        if key not in self._coverage:
            first = int(self.data["origins"]["first_scored"])
            hits: dict[int, list[bool]] = {}
            for r in _error_records():
                calibration = self.calibration_as_of(r.origin) if r.measure == measure and r.origin >= first \
                    else None
                if calibration is None or measure not in calibration.quantiles:
                    continue  # the evaluation gives such an origin no interval
                lo, hi = calibration.bounds(measure, r.horizon, width)
                # an intermittent history's lower bound is 0, which every outcome (>= 0) clears
                hits.setdefault(r.horizon, []).append((r.intermittent or lo <= r.scaled_error) and r.scaled_error <= hi)
            early = [hit for h, v in hits.items() if h <= 5 for hit in v]
            self._coverage[key] = {
                "nominal": width, "measured_h1_5": sum(early) / len(early) if early else None, "n_h1_5": len(early),
                "measured_by_horizon": {str(h): sum(v) / len(v) for h, v in sorted(hits.items())},
                "measure": measure, "scored_from": first}
        return self._coverage[key]

    def tables(self, code: str, measure: str = "share") -> Tables:
        """The card's tables that describe a forecast of ``code`` in ``measure`` (the world total is evaluated
        in TIV only): its own, the pooled ones of that measure, and the interval coverage by horizon."""
        measure = "tiv" if code == WORLD else measure
        accuracy, prefix = self.data["accuracy"], "" if measure == "share" else "tiv_"
        own = accuracy[prefix + "by_country"].get(code)
        coverage_key = "coverage_world" if code == WORLD else "coverage" if measure == "share" else "coverage_tiv"
        return Tables(measure, own if isinstance(own, dict) else None, accuracy[prefix + "overall_h1_5"],
                      accuracy[prefix + "by_horizon"], self.data[coverage_key])

    def summary(self, code: str, measure: str = "share") -> dict[str, Any]:
        """This target's held-out accuracy against the best simple benchmark, in the target's own measure (the
        world total's in TIV), and the interval calibration: pooled over the suppliers for that measure,
        by horizon (the world total's own, by horizon)."""
        t = self.tables(code, measure)
        return {
            "evaluated_on": {"data_digest": self.data_digest, **self.data["origins"],
                             "horizons": "1-5", "scored_by": "bench/forecast_accuracy.py"},
            "measure": t.measure,
            "this_supplier": _versus(t.own) if t.own else None,
            # the world total is one series, not a pool of suppliers: its own figures are this_supplier's
            "all_suppliers": None if code == WORLD else _versus(t.overall),
            "interval_calibration": t.coverage,
            "interval_note": _coverage_note(code, coverage(t.own), t.measure) if t.own else None,
        }


@dataclass(frozen=True)
class Tables:
    """The accuracy tables of one target in the card (see :meth:`ModelCard.tables`)."""

    measure: str  # "share" or "tiv"
    own: dict[str, Any] | None  # horizons 1-5; None: not evaluated
    overall: dict[str, Any]  # pooled over the suppliers, horizons 1-5
    by_horizon: dict[str, Any]  # pooled, per horizon
    coverage: dict[str, Any]  # measured coverage by horizon (WLD: its own)


COVERAGE_BAND = (0.7, 0.9)  # a supplier's measured 80 % coverage outside it is pointed out
COVERAGE_BAND_95 = (0.9, 0.99)  # and its 95 % coverage outside this one


def coverage(table: dict[str, Any]) -> dict[str, float | None]:
    """Nominal and measured coverage of the served intervals in an accuracy table (the card's rows)."""
    served = table["models"]["served"]
    return {"nominal_80": 0.8, "measured_80": served.get("coverage_80"),
            "nominal_95": 0.95, "measured_95": served.get("coverage_95")}


def _coverage_note(code: str, measured: dict[str, float | None], measure: str = "share") -> str | None:
    """A plain sentence when this target's 80 % or 95 % intervals covered clearly more or less than they claim
    (outside :data:`COVERAGE_BAND` or :data:`COVERAGE_BAND_95`): the calibration is pooled over suppliers, so it
    holds on average, not for each one (the world total's is its own, from about 30 origins per horizon)."""
    off = []
    for nominal, key, band in ((80, "measured_80", COVERAGE_BAND), (95, "measured_95", COVERAGE_BAND_95)):
        value = measured.get(key)
        if value is not None and not band[0] <= value <= band[1]:
            off.append((nominal, value, "narrower" if value < band[0] else "wider"))
    if not off:
        return None
    what = "of the world total" if code == WORLD else "of its share" if measure == "share" else "of its TIV"
    pooled = "its own past errors" if code == WORLD else "pooled over all suppliers"
    widths = " and ".join(f"{n} %" for n, *_ in off)
    measured_as = " and ".join(f"{v * 100:.1f} %" for _, v, _ in off)
    readings = sorted({r for *_, r in off})
    reading = readings[0] if len(readings) == 1 else "wider or narrower, by width,"
    return (f"In the evaluation {code}'s {widths} intervals {what} covered {measured_as} of outcomes (horizons "
            f"1-5; the calibration is {pooled}): read them as {reading} than they claim.")


def _versus(table: dict[str, Any]) -> dict[str, Any]:
    models = table["models"]
    simple = {m: v["mase"] for m, v in models.items() if m in ("naive", "mean5") and v.get("mase") is not None}
    best = min(simple, key=lambda m: simple[m]) if simple else None
    served = models["served"]["mase"]
    ratio = served / simple[best] if best and simple[best] else None
    every = {m: v["mase"] for m, v in models.items() if m not in ("served", "zero") and v.get("mase") is not None}
    strongest = min(every, key=lambda m: every[m]) if every else None
    return {"n": table["n"], "mase": served, "best_simple_benchmark": best,
            "benchmark_mase": simple.get(best) if best else None, "ratio": ratio,
            "beats_it": ratio is not None and ratio < 1.0,
            # the target's yardstick above; /v1/backtests' verdict names the best of every benchmark, as here
            "best_benchmark": strongest, "best_benchmark_mase": every.get(strongest) if strongest else None,
            "beats_best_benchmark": strongest is not None and served < every[strongest],
            "mase_by_model": {m: v["mase"] for m, v in models.items()},
            "interval_coverage": coverage(table)}


def _shipped(name: str, bench: str) -> dict[str, Any]:
    """A JSON file shipped in this package and written by ``bench``; :class:`InsufficientData` if it is missing."""
    try:
        text = resources.files("forecasting").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InsufficientData(f"{name} is missing; run {bench} --write", field="model") from None
    return dict(json.loads(text))


@functools.cache
def load_card() -> ModelCard:
    """The shipped card (cached); :class:`InsufficientData` if it is missing."""
    return ModelCard(_shipped(CARD_FILE, "bench/forecast_accuracy.py"))


@functools.cache
def _error_records() -> tuple[ErrorRecord, ...]:
    """The shipped past errors (read once per process, when a forecast with an earlier history end needs them)."""
    shipped = _shipped(ERRORS_FILE, "bench/forecast_accuracy.py")
    table, sparse = shipped["errors"], shipped["intermittent"]  # same shape: 1 where the history was intermittent
    return tuple(ErrorRecord(measure, "", int(origin), int(h), float(e), bool(flag))
                 for measure, by_h in table.items() for h, by_origin in by_h.items()
                 for origin, errors in by_origin.items()
                 for e, flag in zip(errors, sparse[measure][h][origin], strict=True))


@functools.cache
def _driver_evaluation() -> dict[str, Any]:
    return _shipped(DRIVER_FILE, "bench/forecast_drivers.py")


def driver_standing(driver: str, code: str) -> dict[str, Any]:
    """What the shipped perfect-foresight test (:mod:`forecasting.driver_check`) found for ``driver``: its
    verdict (``improved_held_out``), the pooled scores and this target's own, and a sentence saying what a
    scenario difference through it is worth."""
    evaluation = _driver_evaluation()
    found = evaluation["drivers"].get(driver)
    if found is None:
        return {"improved_held_out": None, "held_out": None,
                "held_out_note": "not tested: the shipped driver evaluation has no result for this driver"}
    own = found["by_target"].get(code)  # this target's own scores; None: not tried on it
    targets = found["targets"]
    held_out = {"test": evaluation["method"], "scored_by": evaluation["bench"],
                "data_digest": evaluation["data_digest"], "targets": len(targets), "this_target": own,
                **{k: found[k] for k in ("forecasts", "origins", "horizons", "mase_baseline", "mase_perfect_foresight",
                                         "ratio", "targets_improved", "targets_worse")}}
    who = ", ".join(targets) if len(targets) <= 3 else f"{len(targets)} suppliers"
    pooled = (f"with its actual future values (perfect foresight) the held-out MASE was "
              f"{found['mase_perfect_foresight']:.3f} against {found['mase_baseline']:.3f} for the baseline "
              f"({who}; {found['forecasts']} forecasts, origins {found['origins'][0]}-{found['origins'][1]}, "
              f"horizons {found['horizons'][0]}-{found['horizons'][1]})")
    if found["improved_held_out"]:
        note = (f"tested: {pooled}, so the driver carries information; it is still not in the baseline, whose "
                "driver paths are assumptions, but a scenario's difference through it points the way the history "
                "supports")
    else:
        note = (f"tested: {pooled}, so even its true path does not improve the forecast: treat a scenario's "
                "difference through it as a what-if, not as a measured effect")
    return {"improved_held_out": bool(found["improved_held_out"]), "held_out": held_out, "held_out_note": note}
