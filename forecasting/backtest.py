"""Rolling-origin backtests of the model against naive baselines.

For each origin year (after ``min_train`` fitted years) the data are cut at
the origin, the model is refitted, and years ``origin + 1 .. origin +
horizon`` are forecast and compared with what happened. Three naive baselines
are forecast from the same training years on the same transformed scale (so
they respect the bounds too):

* ``naive_last``: the last observed value;
* ``naive_drift``: the last value plus the average change per year over the
  training years (computed on the transformed scale);
* ``naive_mean``: the mean of the training years on the transformed scale
  (statsforecast's HistoricAverage).

Intervals: the point plus or minus the ``interval_width`` quantile of the
absolute h-year changes seen in the training years (after removing the drift
for ``naive_drift``), or of the absolute deviations from the mean.

Driver futures: ``"held"`` (default, ex ante) cuts the drivers and the policy
timeline at the origin too and holds them at their last value, as a forecaster
at the origin would have to; ``"observed"`` (ex post) uses the drivers'
realised values, which flatters the model because it is told the future of
its drivers. Errors are measured in the target's unit: MAE, RMSE, sMAPE (0
when forecast and actual are both 0) and MASE (scaled by the in-sample mean
absolute one-year change at each origin), plus interval coverage. The skill
score is ``1 - MAE(model) / MAE(best naive)``; positive means the model beats
the best naive baseline. The same score on RMSE (against the naive baseline
with the lowest RMSE) is reported next to it, because the two can disagree.
Nothing is tuned to the result.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from forecasting.errors import InsufficientData
from forecasting.inputs import ForecastInputs
from forecasting.keys import check_horizon, check_interval_width, design, normalise
from forecasting.model import ModelSpec, fit, predict
from forecasting.scenarios import ModelSettings, Scenario
from forecasting.series import HistoryWindow, Scale, Target

__all__ = ["BacktestResult", "Metrics", "backtest", "naive_drift", "naive_last", "naive_mean"]

Array = npt.NDArray[np.float64]
Interval = tuple[Array, Array, Array]
NAIVE = ("naive_last", "naive_drift", "naive_mean")
MODELS = ("prophet", *NAIVE)


def _spread(z: Array, years: list[int], horizon: int, width: float) -> Array:
    """Half-widths: the ``width`` quantile of the absolute h-year changes seen in training, h = 1..horizon."""
    index = {y: i for i, y in enumerate(years)}
    spread = np.zeros(horizon)
    for h in range(1, horizon + 1):
        changes = [abs(z[index[y + h]] - z[i]) for y, i in index.items() if y + h in index]
        spread[h - 1] = np.quantile(changes, width) if changes else 0.0
    return spread


def naive_last(z: Array, years: list[int], horizon: int, width: float) -> Interval:
    """Last value on the transformed scale: (point, lower, upper) for h = 1..horizon."""
    point = np.full(horizon, z[-1])
    spread = _spread(z, years, horizon, width)
    return point, point - spread, point + spread


def naive_mean(z: Array, years: list[int], horizon: int, width: float) -> Interval:
    """Mean of the training years on the transformed scale (statsforecast's HistoricAverage)."""
    point = np.full(horizon, z.mean())
    spread = np.full(horizon, np.quantile(np.abs(z - z.mean()), width))
    return point, point - spread, point + spread


def naive_drift(z: Array, years: list[int], horizon: int, width: float) -> Interval:
    """Last value plus the mean yearly change of the training years, on the transformed scale."""
    slope = (z[-1] - z[0]) / (years[-1] - years[0])
    point = z[-1] + slope * np.arange(1, horizon + 1)
    spread = _spread(z - slope * (np.asarray(years) - years[0]), years, horizon, width)
    return point, point - spread, point + spread


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity: undefined scores (a zero MASE scale, a perfect baseline) become null."""
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Metrics:
    """Accuracy of one model over all (origin, horizon) pairs, in the target's unit."""

    mae: float
    rmse: float
    smape: float  # percent, 0-200
    mase: float
    coverage: float  # share of actuals inside the interval
    n: int
    mae_by_horizon: dict[int, float]

    def to_dict(self) -> dict[str, Any]:
        return {"mae": self.mae, "rmse": self.rmse, "smape": self.smape, "mase": _finite(self.mase),
                "coverage": self.coverage, "n": self.n,
                "mae_by_horizon": {str(h): v for h, v in self.mae_by_horizon.items()}}


def _metrics(rows: list[tuple[int, float, float, float, float, float]]) -> Metrics:
    """rows: (h, actual, point, lower, upper, mase scale)."""
    h, a, f, lo, hi, scale = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    err = np.abs(f - a)
    denom = np.abs(f) + np.abs(a)
    smape = np.where(denom > 0, 200.0 * err / np.where(denom > 0, denom, 1.0), 0.0)
    scaled = err[scale > 0] / scale[scale > 0]
    by_h = {int(k): float(err[h == k].mean()) for k in np.unique(h)}
    return Metrics(float(err.mean()), float(np.sqrt((err**2).mean())), float(smape.mean()),
                   float(scaled.mean()) if scaled.size else float("nan"),
                   float(((a >= lo) & (a <= hi)).mean()), len(rows), by_h)


@dataclass(frozen=True)
class BacktestResult:
    """Backtest metrics per model, the skill score and a plain verdict."""

    target: Target
    settings: ModelSettings
    horizon: int
    interval_width: float
    drivers_future: str
    origins: tuple[int, ...]
    metrics: dict[str, Metrics]
    best_naive: str
    skill: float
    beats_best_naive: bool
    verdict: str
    skill_rmse: float = math.nan  # 1 - RMSE(model) / lowest naive RMSE

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = normalise({
            "target": self.target.to_dict(), "settings": self.settings.to_dict(), "horizon": self.horizon,
            "interval_width": self.interval_width, "drivers_future": self.drivers_future,
            "origins": list(self.origins), "metrics": {m: v.to_dict() for m, v in self.metrics.items()},
            "best_naive": self.best_naive, "skill_vs_best_naive": _finite(self.skill),
            "beats_best_naive": self.beats_best_naive, "verdict": self.verdict,
            "skill_rmse_vs_best_naive": _finite(self.skill_rmse),
        }, 6)
        return result


def _cut(inputs: ForecastInputs, origin: int, drivers_too: bool) -> ForecastInputs:
    """The data as known at the end of ``origin`` (drivers and policy too if ``drivers_too``)."""
    def upto(series: dict[int, float]) -> dict[int, float]:
        return {y: v for y, v in series.items() if y <= origin}

    return replace(
        inputs, target_tiv=upto(inputs.target_tiv), world_tiv=upto(inputs.world_tiv),
        world_tiv_lower_bound_years=tuple(y for y in inputs.world_tiv_lower_bound_years if y <= origin),
        drivers={n: upto(s) for n, s in inputs.drivers.items()} if drivers_too else inputs.drivers,
        policy_events=tuple(e for e in inputs.policy_events if int(e[0][:4]) <= origin) if drivers_too
        else inputs.policy_events,
    )


def _origin_rows(inputs: ForecastInputs, spec: ModelSpec, origin: int, actual: dict[int, float],
                 horizon: int, width: float, seed: int, held: bool) -> dict[str, list[Any]]:
    known = _cut(inputs, origin, held)
    fitted = fit(known, replace(spec, window=HistoryWindow(spec.window.start, origin)), seed=seed)
    hold = Scenario("backtest-hold", "Drivers held", "Drivers held at their last known values.", base=None,
                    settings=spec.settings)
    forecast = predict(fitted, hold, horizon, width)
    points = fitted.design.history.fit_points
    years = [p.year for p in points]
    values = np.array([p.value or 0.0 for p in points])
    scale: Scale = fitted.design.scale
    z = scale.forward(values)
    steps = [abs(values[i + 1] - values[i]) for i in range(len(years) - 1) if years[i + 1] == years[i] + 1]
    mase_scale = float(np.mean(steps)) if steps else 0.0
    out: dict[str, list[Any]] = {m: [] for m in MODELS}
    naive = {name: model(z, years, horizon, width)
             for name, model in zip(NAIVE, (naive_last, naive_drift, naive_mean), strict=True)}
    for row in forecast.years:
        h = row.year - origin
        if row.year not in actual:
            continue
        out["prophet"].append((h, actual[row.year], row.point, row.lower, row.upper, mase_scale))
        for name, (p, lo, hi) in naive.items():
            f, lo_v, hi_v = (float(v) for v in scale.inverse(np.array([p[h - 1], lo[h - 1], hi[h - 1]])))
            out[name].append((h, actual[row.year], f, lo_v, hi_v, mase_scale))
    return out


def backtest(
    inputs: ForecastInputs,
    target: Target,
    settings: ModelSettings | None = None,
    *,
    horizon: int = 5,
    min_train: int = 15,
    window: HistoryWindow | None = None,
    interval_width: float = 0.8,
    drivers_future: Literal["held", "observed"] = "held",
    seed: int = 0,
    uncertainty_samples: int = 300,
) -> BacktestResult:
    """Rolling-origin evaluation of the model against naive baselines.

    Parameters
    ----------
    inputs, target, settings, window
        Data, target, model settings (default: the built-in scenarios'
        settings) and history window, as for :func:`forecasting.model.fit`.
    horizon
        Years forecast from each origin (1 to 30).
    min_train
        Fitted years before the first origin (at least 10).
    interval_width
        Interval probability used for the coverage figures.
    drivers_future
        ``"held"`` (ex ante) or ``"observed"`` (ex post), see the module docstring.
    seed, uncertainty_samples
        Seed and simulated paths per fit (fewer than for published forecasts).

    Returns
    -------
    BacktestResult
        Metrics per model, the best naive baseline, the skill score and a verdict.
    """
    settings = replace(settings or ModelSettings(), uncertainty_samples=uncertainty_samples)
    check_interval_width(interval_width)
    check_horizon(horizon)
    window = window or HistoryWindow()
    full = design(inputs, target, window, settings)
    points = full.history.fit_points if drivers_future == "observed" else full.history.points
    actual = {p.year: float(p.value) for p in points if p.value is not None}
    fitted_years = [p.year for p in full.history.fit_points]
    if min_train < 10 or len(fitted_years) <= min_train:
        raise InsufficientData(f"'min_train' is {min_train} but only {len(fitted_years)} fitted years exist "
                               "(need min_train >= 10 and at least one year after it)", field="min_train")
    origins = tuple(fitted_years[min_train - 1:-1])
    rows: dict[str, list[Any]] = {m: [] for m in MODELS}
    spec = ModelSpec(target, window, settings)
    for origin in origins:
        for name, found in _origin_rows(inputs, spec, origin, actual, horizon, interval_width, seed,
                                        drivers_future == "held").items():
            rows[name] += found
    metrics = {m: _metrics(r) for m, r in rows.items()}
    best = min(NAIVE, key=lambda m: metrics[m].mae)
    skill = _skill(metrics["prophet"].mae, metrics[best].mae)
    best_rmse = min(NAIVE, key=lambda m: metrics[m].rmse)
    skill_rmse = _skill(metrics["prophet"].rmse, metrics[best_rmse].rmse)
    verb = "beats" if skill > 0 else "does not beat"
    verdict = (f"Prophet {verb} the best naive baseline ({best}): MAE {metrics['prophet'].mae:.4g} against "
               f"{metrics[best].mae:.4g} {target.unit} over {metrics['prophet'].n} forecasts from "
               f"{len(origins)} origins ({origins[0]}-{origins[-1]}), horizons 1-{horizon}; skill {skill:+.2f}. "
               f"On RMSE the best naive baseline is {best_rmse} and the skill is {skill_rmse:+.2f}.")
    return BacktestResult(target, settings, horizon, interval_width, drivers_future, origins, metrics, best,
                          skill, skill > 0, verdict, skill_rmse)


def _skill(model_error: float, naive_error: float) -> float:
    """1 - model / naive; a perfect baseline cannot be beaten (-inf, or 0 if the model is perfect too)."""
    if naive_error > 0:
        return 1.0 - model_error / naive_error
    return 0.0 if model_error == 0 else -math.inf
