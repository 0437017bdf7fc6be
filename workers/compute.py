"""Pure glue from a job payload to :mod:`forecasting`: the one place (with its callers) that runs the model.

Only Celery tasks and the embedded service's child processes call
:func:`run`; the embedded service reaches it by name (``importlib``), so the
API process never imports this module or Prophet.

Before computing, the payload is rebuilt into its :class:`~workers.requests.JobSpec`
and the recomputed key must equal the job's key; a forecast must also carry
that key itself. A mismatch (an API and a worker on different model or
code versions) fails the job rather than storing a result under a key that
does not describe it.

Test hook: when the environment has ``TIVCAST_TEST_HOOKS=1`` (never in
production), a payload's ``"test_hook"`` may ask to ``{"sleep": seconds}``
before computing, to ``{"crash": true}`` (SIGKILL its own process) or to
``{"ignore_soft_limit": true}`` (block Celery's soft-limit signal, SIGUSR1),
so that integration tests can kill a worker mid-task or on every delivery
and reach the hard time limit.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Mapping
from typing import Any

from forecasting import ForecastingError, ForecastInputs, ForecastRequest, Target, canonical_json
from forecasting.backtest import backtest_report
from forecasting.model import forecast_scenarios
from workers.requests import JobSpec, rebuild

__all__ = ["TEST_HOOKS_ENV", "KeyMismatch", "run"]

TEST_HOOKS_ENV = "TIVCAST_TEST_HOOKS"
DIGITS = 6  # as forecasting's own JSON output


class KeyMismatch(ForecastingError):
    """The payload does not describe the job it was queued under."""


def run(payload: Mapping[str, Any]) -> tuple[bytes, int]:
    """Compute a job: ``(canonical JSON bytes of the result, number of model fits)``.

    Raises :class:`forecasting.ForecastingError` when the payload's request
    cannot be computed (the job fails; retrying would not help).
    """
    _test_hook(payload)
    spec, inputs = rebuild(payload)
    if spec.key != payload.get("key"):
        raise KeyMismatch(f"payload is keyed {payload.get('key')!r} but describes {spec.key!r}", field="key")
    return _RUNNERS[spec.kind](spec, inputs)


def _forecast(spec: JobSpec, inputs: ForecastInputs) -> tuple[bytes, int]:
    request = ForecastRequest.from_dict(spec.payload["args"])
    result = forecast_scenarios(
        inputs,
        [request.scenario],
        request.target,
        horizon=request.horizon,
        interval_width=request.interval_width,
        window=request.window,
        seed=request.seed,
    )
    forecast = result.forecasts[request.scenario.name]
    if forecast.key != spec.key:
        raise KeyMismatch(f"the model computed key {forecast.key!r} for job {spec.key!r}", field="key")
    return forecast.to_json().encode("utf-8"), len(result.fit_groups)


def _scenario_set(spec: JobSpec, inputs: ForecastInputs) -> tuple[bytes, int]:
    args = spec.payload["args"]
    common = {
        "target": args["target"],
        "horizon": args["horizon"],
        "interval_width": args["interval_width"],
        "history_window": args["window"],
    }
    requests = [ForecastRequest.from_dict({**common, "scenario": s}) for s in args["scenarios"]]
    first = requests[0]
    result = forecast_scenarios(
        inputs,
        [r.scenario for r in requests],
        first.target,
        horizon=first.horizon,
        interval_width=first.interval_width,
        window=first.window,
        seed=first.seed,
    )
    body = {"key": spec.key, "kind": "scenario_set", **result.to_dict()}
    return canonical_json(body, DIGITS).encode("utf-8"), len(result.fit_groups)


def _backtest(spec: JobSpec, inputs: ForecastInputs) -> tuple[bytes, int]:
    args = spec.payload["args"]
    report = backtest_report(Target(args["target"]["country"], args["target"]["measure"]), inputs)
    body = {"key": spec.key, "kind": "backtest", **report}
    return canonical_json(body, DIGITS).encode("utf-8"), 0


_RUNNERS: dict[str, Callable[[JobSpec, ForecastInputs], tuple[bytes, int]]] = {
    "forecast": _forecast,
    "scenario_set": _scenario_set,
    "backtest": _backtest,
}


def _test_hook(payload: Mapping[str, Any]) -> None:
    """Honour a payload's ``test_hook`` only when the process was started for tests."""
    hook = payload.get("test_hook")
    if not hook or os.environ.get(TEST_HOOKS_ENV) != "1":
        return
    if hook.get("ignore_soft_limit"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    time.sleep(float(hook.get("sleep", 0)))
    if hook.get("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
