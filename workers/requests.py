"""Job specifications: what the API hands to the forecast service, built from plain data.

A :class:`JobSpec` carries its content key (the job id), a JSON-safe payload
with everything a worker needs (workers cannot read the database, so the data
travel inside the payload) and a small summary for job status pages. The
builders validate the request against the data, so bad input raises
forecasting's errors (each carries ``.field``) before anything is queued; the
API maps them to 422. Nothing here imports Prophet: the API calls these.

Keys:

* ``forecast``: :func:`forecasting.content_key` of the resolved request;
* ``scenario_set``: SHA-256 of the canonical JSON of ``{"kind": "scenario_set",
  "members": [canonical request, ...]}`` in the order given (the result lists
  the scenarios in that order, so order is part of the identity);
* ``backtest``: SHA-256 over kind, target, horizon, data version and model version.

:func:`rebuild` turns a payload back into its spec, so a worker can check that
it computes exactly what was keyed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from forecasting import (
    MODEL_VERSION,
    ForecastingError,
    ForecastInputs,
    ForecastRequest,
    InvalidScenario,
    InvalidTarget,
    canonical_json,
    canonical_request,
    content_key,
)
from forecasting.keys import check_horizon

__all__ = ["JobKind", "JobSpec", "backtest_job", "forecast_job", "rebuild", "scenario_set_job"]

JobKind = Literal["forecast", "scenario_set", "backtest"]


@dataclass(frozen=True)
class JobSpec:
    """A job ready to submit: content key, kind, worker payload (JSON-safe), status summary."""

    key: str
    kind: JobKind
    payload: dict[str, Any]
    summary: dict[str, Any]


def _sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _check_country(inputs: ForecastInputs, country: str) -> None:
    if inputs.country != country:
        raise InvalidTarget(f"the inputs are for {inputs.country}, not {country}", field="target.country")


def _spec(kind: JobKind, key: str, args: dict[str, Any], inputs: ForecastInputs, summary: dict[str, Any]) -> JobSpec:
    payload = {"kind": kind, "key": key, "args": args, "inputs": inputs.to_dict()}
    summary = {"kind": kind, **summary, "data_version": inputs.data_version, "model_version": MODEL_VERSION}
    return JobSpec(key, kind, payload, summary)


def forecast_job(body: Mapping[str, Any], inputs: ForecastInputs) -> JobSpec:
    """One scenario forecast; ``body`` is ``{"target", "scenario", "horizon", "interval_width", "history_window"?}``."""
    request = ForecastRequest.from_dict(body)
    _check_country(inputs, request.target.country)
    key = content_key(request, inputs)
    summary = {
        "target": request.target.to_dict(),
        "scenario": request.scenario.name,
        "horizon": request.horizon,
        "interval_width": request.interval_width,
    }
    return _spec("forecast", key, request.to_dict(), inputs, summary)


def _member(body: dict[str, Any], index: int) -> ForecastRequest:
    """The request of one set member; its errors name the member (``scenarios[2].drivers...``)."""
    try:
        return ForecastRequest.from_dict(body)
    except ForecastingError as exc:
        field = exc.field or ""
        if field == "scenario" or field.startswith("scenario."):
            field = f"scenarios[{index}]" + field.removeprefix("scenario")
        raise type(exc)(exc.message, field=field or None) from None


def scenario_set_job(
    target: Mapping[str, Any],
    scenarios: Sequence[str | Mapping[str, Any]],
    horizon: int,
    interval_width: float,
    inputs: ForecastInputs,
    window: Mapping[str, Any] | None = None,
) -> JobSpec:
    """Several scenarios side by side, fitted once per distinct model settings."""
    if isinstance(scenarios, str | bytes) or not scenarios:
        raise InvalidScenario("'scenarios' must list at least one scenario", field="scenarios")
    base = {
        "target": dict(target),
        "horizon": horizon,
        "interval_width": interval_width,
        "history_window": dict(window) if window is not None else None,
    }
    requests = [_member({**base, "scenario": s}, i) for i, s in enumerate(scenarios)]
    names = [r.scenario.name for r in requests]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InvalidScenario(f"scenario names must be distinct, {duplicate!r} appears twice", field="scenarios")
    _check_country(inputs, requests[0].target.country)
    key = _sha256({"kind": "scenario_set", "members": [canonical_request(r, inputs) for r in requests]})
    first = requests[0]
    args = {
        "target": first.target.to_dict(),
        "scenarios": [r.to_dict()["scenario"] for r in requests],
        "horizon": first.horizon,
        "interval_width": first.interval_width,
        "window": first.window.to_dict(),
    }
    summary = {
        "target": first.target.to_dict(),
        "scenarios": names,
        "horizon": first.horizon,
        "interval_width": first.interval_width,
    }
    return _spec("scenario_set", key, args, inputs, summary)


def backtest_job(target: Mapping[str, Any], inputs: ForecastInputs, horizon: int = 5) -> JobSpec:
    """Rolling-origin backtest of the default model against naive baselines."""
    request = ForecastRequest.from_dict({"target": dict(target)})  # validates country and measure
    check_horizon(horizon)
    _check_country(inputs, request.target.country)
    target_dict = {"country": request.target.country, "measure": request.target.measure}
    key = _sha256(
        {
            "kind": "backtest",
            "target": target_dict,
            "horizon": horizon,
            "data_version": inputs.data_version,
            "model_version": MODEL_VERSION,
        }
    )
    args = {"target": target_dict, "horizon": horizon}
    return _spec("backtest", key, args, inputs, {"target": request.target.to_dict(), "horizon": horizon})


def rebuild(payload: Mapping[str, Any]) -> tuple[JobSpec, ForecastInputs]:
    """The spec (and the inputs) a payload was built from; its key is recomputed, not copied."""
    inputs = ForecastInputs.from_dict(payload["inputs"])
    args = payload["args"]
    kind = payload["kind"]
    if kind == "forecast":
        return forecast_job(args, inputs), inputs
    if kind == "scenario_set":
        spec = scenario_set_job(
            args["target"], args["scenarios"], args["horizon"], args["interval_width"], inputs, args["window"]
        )
        return spec, inputs
    if kind == "backtest":
        return backtest_job(args["target"], inputs, args["horizon"]), inputs
    raise ValueError(f"unknown job kind {kind!r}")
