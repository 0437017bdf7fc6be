"""What a forecast says about its own model: the members it shows are the ones served, the world total is
described as one series, intervals far ahead stay plausible, and thin tails or off-target coverage are named."""

from __future__ import annotations

import math

import numpy as np
import pytest

from forecasting.coherent import base_share
from forecasting.evaluation import Evaluation, evaluate, interval
from forecasting.inputs import ForecastInputs
from forecasting.model import FittedModel, ModelSpec, fit, predict, tail_note
from forecasting.model_card import _coverage_note, load_card
from forecasting.panel import WORLD, Panel
from forecasting.series import Target


@pytest.fixture(scope="module")
def world_forecast(world_inputs: ForecastInputs) -> dict:  # type: ignore[type-arg]
    return predict(fit(world_inputs, ModelSpec(Target(WORLD, "tiv"))), "baseline", 30).to_dict()


class TestJapanDescribesWhatIsServed:
    def test_the_members_shown_are_those_of_the_served_statistical_base(self, japan_fit: FittedModel) -> None:
        forecast = predict(japan_fit, "baseline", 10).to_dict()
        model = forecast["model"]
        members = {n: np.asarray(m["share_forecast"]) for n, m in model["members"].items()}
        assert set(members) == set(japan_fit.base.members["JPN"])
        assert all(m["weight"] == pytest.approx(1 / len(members)) for m in model["members"].values())
        # the served base is their capped equal-weight mean times the reconciliation factor ...
        history = japan_fit.base.fixed_base
        assert history is not None
        served_base = [row["components_model_scale"]["statistical_base"] for row in forecast["forecast"]]
        assert served_base == pytest.approx(list(japan_fit.japan.base[:10]), rel=1e-5)  # type: ignore[union-attr]
        assert np.mean(np.vstack(list(members.values())), axis=0) * japan_fit.base.factor[:10] == pytest.approx(
            japan_fit.japan.base[:10], rel=1e-4, abs=1e-9)  # type: ignore[union-attr]
        # ... and not the ensemble on Japan's whole history, which counts the radars' deliveries
        whole = np.mean(np.vstack(list(japan_fit.base.members["JPN"].values())), axis=0)[:10]
        assert not np.allclose(whole, np.mean(np.vstack(list(members.values())), axis=0), rtol=0.05)
        assert "minus the pipeline deals' past deliveries" in model["members_of"]

    def test_method_interval_and_notes_describe_a_simulation(self, japan_fit: FittedModel) -> None:
        forecast = predict(japan_fit, "baseline", 5).to_dict()
        model = forecast["model"]
        assert "pipeline" in model["method"] and "simulated" in model["method"]
        assert model["interval"].startswith(f"quantiles of {japan_fit.spec.settings.uncertainty_samples} simulated")
        assert not any("do not include uncertainty about a scenario's driver paths" in n
                       for n in forecast["notes"])
        assert any("quantiles of simulated paths" in n for n in forecast["notes"])

    def test_other_suppliers_keep_their_own_members(self, korea_inputs: ForecastInputs) -> None:
        fitted = fit(korea_inputs, ModelSpec(Target("KOR")))
        model = predict(fitted, "baseline", 5).to_dict()["model"]
        for name, member in model["members"].items():
            assert member["share_forecast"] == pytest.approx(list(fitted.base.members["KOR"][name][:10]), rel=1e-5)
        assert model["method"] == "coherent equal-weight ensemble with conformal intervals"
        assert "besides" not in model["members_of"]


class TestTheWorldTotalIsOneSeries:
    def test_no_supplier_pool_or_reconciliation_factor_is_quoted_for_it(self, world_forecast: dict) -> None:  # type: ignore[type-arg]
        model = world_forecast["model"]
        assert model["accuracy"]["all_suppliers"] is None
        assert model["accuracy"]["this_supplier"]["n"] > 100
        assert model["coherence"]["factor"] is None and "pipeline_room" not in model["coherence"]
        assert "world total's own series" in model["method"]

    def test_its_bounds_far_ahead_keep_a_world_with_arms_trade(self, world_forecast: dict) -> None:  # type: ignore[type-arg]
        rows = world_forecast["forecast"]
        ten, thirty = rows[9], rows[29]
        assert thirty["lo-80"] > 0.15 * thirty["point"]  # additive widening gave 43 TIV million (0.15 %)
        # beyond 10 years the bounds are the 10-year ones (the same offsets from the point), their log ratio to
        # the point grown as sqrt(h / 10)
        grow, point = math.sqrt(3.0), thirty["point"]
        for bound in ("lo-80", "hi-80"):
            at_ten = (point + ten[bound] - ten["point"]) / point
            assert math.log(thirty[bound] / point) == pytest.approx(grow * math.log(at_ten), rel=1e-4)
        lows = [r["lo-80"] / r["point"] for r in rows[9:]]
        assert lows == sorted(lows, reverse=True)  # still widening every year

    def test_up_to_the_last_calibrated_horizon_nothing_changes(self) -> None:
        calibration = load_card().calibration
        lo, hi = calibration.bounds("world", 10, 0.8)
        assert interval(28_000.0, 2_000.0, calibration, "world", 10, 0.8) == (28_000.0 + lo * 2_000.0,
                                                                              28_000.0 + hi * 2_000.0)


class TestThinTailsAndOffTargetCoverageAreNamed:
    def test_a_width_whose_bounds_rest_on_a_few_errors_says_so(self, korea_inputs: ForecastInputs) -> None:
        fitted = fit(korea_inputs, ModelSpec(Target("KOR")))
        assert predict(fitted, "baseline", 5, interval_width=0.8).to_dict()["model"]["requested_interval"][
            "tail_note"] is None
        note = predict(fitted, "baseline", 5, interval_width=0.99).to_dict()["model"]["requested_interval"][
            "tail_note"]
        assert note is not None and "rough guide" in note

    def test_the_thin_tail_rule_counts_errors_beyond_each_bound(self) -> None:
        calibration = load_card().calibration
        fewest = min(calibration.counts["world"].values())
        assert tail_note(calibration, "world", 1 - 2 * 10 / fewest - 1e-9) is None
        assert tail_note(calibration, "world", 1 - 2 * 9 / fewest) is not None

    def test_a_95_interval_that_missed_its_claim_is_named_even_when_the_80_held(self) -> None:
        note = _coverage_note("FRA", {"measured_80": 0.82, "measured_95": 1.0})
        assert note is not None and "FRA's 95 % intervals of its share covered 100.0 %" in note and "wider" in note
        assert "80 %" not in note
        both = _coverage_note("RUS", {"measured_80": 0.62, "measured_95": 0.84})
        assert both is not None and "RUS's 80 % and 95 % intervals of its share covered 62.0 % and 84.0 %" in both
        assert "narrower" in both
        assert _coverage_note("KOR", {"measured_80": 0.8, "measured_95": 0.95}) is None


class TestSupplierTivBenchmarks:
    def test_damped_ets_and_theta_are_scored_on_every_supplier_s_tiv(self, shipped_panel: Panel) -> None:
        small: Evaluation = evaluate(shipped_panel, first_origin=1986, first_scored=1989, last_origin=1989,
                                     horizon=1)
        suppliers = [s for s in small.tiv if s.code != WORLD]
        assert suppliers
        for s in suppliers:
            assert {"naive", "mean5", "drift", "damped_ets", "theta"} <= set(s.points)
            assert s.points["damped_ets"] >= 0 and s.points["theta"] >= 0
        table = small.table(measure="tiv")
        assert {"damped_ets", "theta"} <= set(table["models"])


def test_base_share_is_what_the_members_make() -> None:
    """The identity the first test relies on: the base is the capped equal-weight mean of its members."""
    members = {"a": np.array([1.0, 3.0]), "b": np.array([3.0, 5.0])}
    assert list(base_share(members, np.array([0.0, 4.5]))) == [2.0, 4.0]
