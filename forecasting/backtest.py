"""The backtest report of ``GET /v1/backtests``: the served model against every benchmark, in plain words.

The numbers come from :func:`forecasting.evaluation.evaluate` (rolling origins,
the data cut at each origin, the served code path, intervals calibrated only on
errors known at each origin), as stored in the model card by
``bench/forecast_accuracy.py --write``. Re-running the evaluation costs about a
minute of CPU (a coherent forecast of every supplier at some 50 origins), so a
request reads the stored result; the report says which data it was computed
on and whether that is the data now served.
"""

from __future__ import annotations

from typing import Any

from forecasting.errors import InsufficientData
from forecasting.inputs import ForecastInputs
from forecasting.keys import MODEL_VERSION
from forecasting.model_card import ModelCard, load_card
from forecasting.series import Target

__all__ = ["backtest_report"]

NAMES = {
    "served": "the served forecast", "naive": "last value", "mean5": "mean of the last 5 years",
    "drift": "drift", "damped_ets": "damped ETS", "theta": "Theta", "zero": "always zero",
}


def backtest_report(target: Target, inputs: ForecastInputs | None = None, card: ModelCard | None = None
                    ) -> dict[str, Any]:
    """Held-out accuracy of the served model for ``target`` and over all suppliers, with a verdict.

    The report's ``target`` is the target as evaluated: the world total in
    TIV whatever ``target.measure`` says (its share is 100 %; ``GET
    /v1/backtests`` refuses ``measure=share`` for it). Raises
    :class:`InsufficientData` when the supplier was not evaluated (too little
    history, or not in the shipped panel).
    """
    card = card or load_card()
    code = target.country
    t = card.tables(code, target.measure)
    own = t.own
    if own is None:
        raise InsufficientData(f"{code} was not evaluated: fewer than 15 years of history before the scored "
                               "origins, or not a listed supplier of the shipped data", field="country")
    current = None if inputs is None else inputs.panel().digest() == card.data_digest
    data, measure, overall = card.data, t.measure, t.overall
    return {
        # labelled as evaluated: the world total is scored in TIV only (its share is 100 %)
        "target": (target if measure == target.measure else Target(code, "tiv")).to_dict(),
        "model_version": MODEL_VERSION,
        "card_model_version": card.model_version,
        "evaluated_measure": measure,
        "evaluated_on": {"data_digest": card.data_digest, "is_the_data_served": current, **data["origins"],
                         "decided_on": data["decided_on"], "horizon": data["horizon"]},
        "metrics_h1_5": own,
        "all_suppliers_h1_5": overall,
        "all_suppliers_by_horizon": t.by_horizon,
        "interval_calibration": t.coverage,
        "verdict": verdict(code, own, overall),
        "notes": ([] if measure == "share" else
                  ["Scores are in TIV million: a supplier's TIV forecast is its share times the world forecast; "
                   "all_suppliers_* pool the suppliers' TIV forecasts (the world total not among them)."])
        + (["The stored evaluation was computed on other data than the data now served."] if current is False
           else []),
    }


def verdict(code: str, own: dict[str, Any], overall: dict[str, Any]) -> str:
    """One plain sentence per table: who wins, by how much, and against what."""
    return " ".join((_sentence(code, own), _sentence("all suppliers", overall)))


def _sentence(who: str, table: dict[str, Any]) -> str:
    """Who wins on the same forecasts; always-zero, scored only where a series is intermittent, is compared
    with the served forecast on those forecasts alone."""
    models = table["models"]
    served = models["served"]["mase"]
    rivals = {m: v["mase"] for m, v in models.items() if m != "served" and v.get("mase") is not None}
    best = min(rivals, key=lambda m: rivals[m])
    simple = min(("naive", "mean5"), key=lambda m: rivals[m])
    verb = "beats" if served < rivals[best] else "does not beat"
    lead = served / rivals[best]
    tie = "; within 1 %: a tie" if abs(lead - 1) < 0.01 else ""
    text = (f"{who}: over {table['n']} held-out forecasts (horizons 1-5) the served forecast has MASE "
            f"{served:.4g}; it {verb} the best benchmark, {NAMES.get(best, best)} ({rivals[best]:.4g}, ratio "
            f"{lead:.3f}{tie}), and its "
            f"ratio to the better of last value and the 5-year mean ({NAMES[simple]}, {rivals[simple]:.3g}) is "
            f"{served / rivals[simple]:.2f}.")
    if "intermittent" in table:
        part = table["intermittent"]
        ours, zero = part["served"]["mase"], part["zero"]["mase"]
        text += (f" On the {part['n']} forecasts from intermittent histories, always zero has MASE {zero:.3g} "
                 f"against {ours:.3g} for the served forecast ({'served' if ours < zero else 'always zero'} wins).")
    return text
