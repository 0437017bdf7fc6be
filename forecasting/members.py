"""The members of the served ensemble: simple, well-understood forecasters of one annual series.

Each member takes a supplier's history up to the forecast origin (annual,
contiguous, in the target's unit: percent of world exports, or TIV million)
and returns point forecasts for horizons 1..H. Members never see anything
after the origin, and none is tuned on the series it forecasts beyond its own
in-sample fit.

Why these (and which library):

``naive``       the last observation (the benchmark to beat at horizon 1).
``mean5``       the mean of the last five years: SIPRI's own advice for lumpy
                annual TIV is to look at five-year totals.
``ses``         simple exponential smoothing with an optimised weight
                (statsforecast ``SimpleExponentialSmoothingOptimized``): a
                level between the last value and a long mean, chosen by the data.
``damped_ets``  ETS with a damped trend (statsforecast ``AutoETS``, ``ZZN``,
                damped): lets an emerging exporter's rise continue, but fade.
``theta``       the Theta method (statsforecast ``AutoTheta``), the M3 winner
                and a robust trend-plus-level combination.
``log_ses``     SES on ``log(value + offset)``, back-transformed: a
                median-type level, robust to the single large deliveries that
                dominate a lumpy series (absolute errors reward medians).
``prophet``     Prophet (MAP fit, linear trend, no seasonality) on
                ``log(value + offset)`` over the last 25 years; its fitted
                trend level at the origin is held. Prophet's extrapolated
                slope is not used: on this data an extrapolated Prophet trend
                was the worst of all candidates (the previous model version).
``imapa``       for intermittent series only (at least 40 % zero years in
                the last 20, e.g. Japan): statsforecast's ``IMAPA``, which
                averages Croston-type forecasts over temporal aggregation levels.

statsforecast was chosen for the exponential-smoothing family because it is
maintained, fast without a JIT (2.x) and implements the textbook (Hyndman)
formulations with automatic model selection; Prophet is kept because the
service's users asked for it, in the role where it does least harm.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "INTERMITTENT_MIN_ZEROS", "LOG_OFFSET", "PROPHET_WINDOW", "is_intermittent", "member_forecasts", "members_for",
    "damped_ets", "prophet_class", "theta",
]

Array = npt.NDArray[np.float64]
Member = Callable[[Array, int], Array]
# log(value + offset) scale for the median-type members: 0.05 percentage points of world exports
# (about 14 million TIV, a small delivery such as a few radars) or 14 TIV million for TIV series.
LOG_OFFSET = {"share": 0.05, "tiv": 14.0}
PROPHET_WINDOW = 25
INTERMITTENT_MIN_ZEROS = 0.4


def _naive(y: Array, h: int) -> Array:
    return np.full(h, y[-1])


def _mean5(y: Array, h: int) -> Array:
    return np.full(h, float(np.mean(y[-5:])))


def _statsforecast(model: Any, y: Array, h: int) -> Array:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.fit(y).predict(h)["mean"], dtype=float)


def _ses(y: Array, h: int) -> Array:
    from statsforecast.models import SimpleExponentialSmoothingOptimized

    return _statsforecast(SimpleExponentialSmoothingOptimized(), y, h)


def damped_ets(y: Array, h: int) -> Array:
    """statsforecast's AutoETS, damped trend (the member, and a benchmark of any series)."""
    from statsforecast.models import AutoETS

    try:
        return _statsforecast(AutoETS(model="ZZN", damped=True), y, h)
    except Exception:  # multiplicative forms fail on zeros; the additive one never does
        return _statsforecast(AutoETS(model="AAdN"), y, h)


def theta(y: Array, h: int) -> Array:
    """statsforecast's AutoTheta (the member, and a benchmark of any series)."""
    from statsforecast.models import AutoTheta

    return _statsforecast(AutoTheta(), y, h)


def _imapa(y: Array, h: int) -> Array:
    from statsforecast.models import IMAPA

    return _statsforecast(IMAPA(), y, h)


def _log_ses(offset: float) -> Member:
    def member(y: Array, h: int) -> Array:
        z = np.log(y + offset)
        return np.exp(_ses(z, h)) - offset

    return member


@functools.cache
def prophet_class() -> Any:
    """Import Prophet with its console logging silenced (once per process)."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)
    cmdstan = logging.getLogger("cmdstanpy")
    cmdstan.setLevel(logging.WARNING)
    if not any(isinstance(h, logging.NullHandler) for h in cmdstan.handlers):
        cmdstan.addHandler(logging.NullHandler())
    from prophet import Prophet

    logging.getLogger("prophet").setLevel(logging.WARNING)
    return Prophet


def _prophet(offset: float) -> Member:
    def member(y: Array, h: int) -> Array:
        z = np.log(y[-PROPHET_WINDOW:] + offset)
        if np.ptp(z) == 0:
            return np.full(h, float(y[-1]))
        ds = pd.date_range("2000-01-01", periods=len(z), freq="YS")  # annual; the calendar plays no role
        model = prophet_class()(growth="linear", yearly_seasonality=False, weekly_seasonality=False,
                                 daily_seasonality=False, uncertainty_samples=0,
                                 n_changepoints=min(10, len(z) - 2))
        with tempfile.TemporaryDirectory(prefix="tivcast-prophet-") as tmp:
            model.fit(pd.DataFrame({"ds": ds, "y": z}), seed=0, output_dir=tmp)
        model.stan_fit = None
        model.stan_backend.stan_fit = None
        level = float(model.predict(pd.DataFrame({"ds": ds[-1:]}))["yhat"].iloc[0])
        return np.full(h, np.exp(level) - offset)

    return member


def is_intermittent(y: Array) -> bool:
    """At least 40 % of the last 20 years (or of the whole history, if shorter) are zero."""
    recent = y[-20:]
    return bool(np.mean(recent == 0) >= INTERMITTENT_MIN_ZEROS)


def members_for(measure: str) -> dict[str, Member]:
    """The ensemble members for ``measure`` (``share`` or ``tiv``), in a fixed order."""
    offset = LOG_OFFSET[measure]
    return {"naive": _naive, "mean5": _mean5, "ses": _ses, "damped_ets": damped_ets, "theta": theta,
            "log_ses": _log_ses(offset), "prophet": _prophet(offset)}


def member_forecasts(y: Array, horizon: int, measure: str) -> dict[str, Array]:
    """Every member's point forecasts (horizons 1..``horizon``), bounded below by 0.

    ``imapa`` joins the members when the series is intermittent (:func:`is_intermittent`).
    """
    y = np.asarray(y, dtype=float)
    members = members_for(measure)
    if is_intermittent(y):
        members["imapa"] = _imapa
    out = {}
    for name, member in members.items():
        values = np.asarray(member(y, horizon), dtype=float)
        out[name] = np.maximum(np.nan_to_num(values, nan=float(y[-1])), 0.0)
    return out
