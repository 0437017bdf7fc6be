"""Rolling-origin backtests against naive baselines."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from forecasting.backtest import BacktestResult, _cut, backtest, naive_drift, naive_last, naive_mean
from forecasting.errors import InsufficientData, InvalidScenario
from forecasting.inputs import ForecastInputs
from forecasting.keys import design
from forecasting.scenarios import ModelSettings
from forecasting.series import HistoryWindow, Target


@pytest.fixture(scope="module")
def japan_backtest(japan_inputs: ForecastInputs) -> BacktestResult:
    return backtest(japan_inputs, Target("JPN"), horizon=5, min_train=15)


class TestNaiveBaselines:
    def test_last_value_repeats_the_last_observation(self) -> None:
        z = np.array([1.0, 3.0, 2.0, 4.0])
        point, lower, upper = naive_last(z, [2000, 2001, 2002, 2003], 3, 0.8)
        assert point.tolist() == [4.0, 4.0, 4.0]
        assert (lower <= point).all()
        assert (point <= upper).all()

    def test_drift_continues_the_average_change(self) -> None:
        z = np.array([1.0, 2.0, 3.0, 4.0])
        point, lower, upper = naive_drift(z, [2000, 2001, 2002, 2003], 2, 0.8)
        assert point.tolist() == pytest.approx([5.0, 6.0])
        assert lower == pytest.approx(point)
        assert upper == pytest.approx(point)


    def test_mean_is_the_training_average(self) -> None:
        point, lower, upper = naive_mean(np.array([1.0, 2.0, 3.0, 6.0]), [2000, 2001, 2002, 2003], 2, 0.8)
        assert point.tolist() == [3.0, 3.0]
        assert (lower < point).all()
        assert (upper > point).all()


class TestJapanBacktest:
    def test_every_model_is_scored_on_the_same_forecasts(self, japan_backtest: BacktestResult) -> None:
        sizes = {m.n for m in japan_backtest.metrics.values()}
        assert set(japan_backtest.metrics) == {"prophet", "naive_last", "naive_drift", "naive_mean"}
        assert len(sizes) == 1
        assert sizes.pop() > 0

    def test_origins_follow_the_minimum_training_length(
        self, japan_backtest: BacktestResult, japan_inputs: ForecastInputs
    ) -> None:
        fitted = [p.year for p in design(japan_inputs, Target("JPN"), HistoryWindow(),
                                         ModelSettings()).history.fit_points]
        assert japan_backtest.origins == tuple(fitted[14:-1])

    def test_metrics_are_well_formed(self, japan_backtest: BacktestResult) -> None:
        for metrics in japan_backtest.metrics.values():
            assert 0.0 <= metrics.coverage <= 1.0
            assert metrics.rmse >= metrics.mae >= 0.0
            assert 0.0 <= metrics.smape <= 200.0
            assert set(metrics.mae_by_horizon) <= set(range(1, 6))

    def test_skill_is_measured_against_the_best_naive_baseline(self, japan_backtest: BacktestResult) -> None:
        m = japan_backtest.metrics
        best = japan_backtest.best_naive
        assert m[best].mae == min(m["naive_last"].mae, m["naive_drift"].mae, m["naive_mean"].mae)
        assert japan_backtest.skill == pytest.approx(1 - m["prophet"].mae / m[best].mae)
        assert japan_backtest.beats_best_naive == (japan_backtest.skill > 0)
        lowest_rmse = min(m[n].rmse for n in ("naive_last", "naive_drift", "naive_mean"))
        assert japan_backtest.skill_rmse == pytest.approx(1 - m["prophet"].rmse / lowest_rmse)

    def test_the_verdict_says_plainly_who_wins(self, japan_backtest: BacktestResult) -> None:
        verb = "beats" if japan_backtest.beats_best_naive else "does not beat"
        expected = f"Prophet {verb} the best naive baseline ({japan_backtest.best_naive})"
        assert japan_backtest.verdict.startswith(expected)
        json.dumps(japan_backtest.to_dict())


class TestNoLeakage:
    def test_data_is_cut_at_the_origin(self, japan_inputs: ForecastInputs) -> None:
        known = _cut(japan_inputs, 2010, drivers_too=True)
        assert max(known.world_tiv) == 2010
        assert max(known.target_tiv) <= 2010
        assert all(max(s) <= 2010 for s in known.drivers.values())
        assert all(int(date[:4]) <= 2010 for date, _ in known.policy_events)
        assert known.world_tiv_lower_bound_years == ()

    def test_observed_mode_keeps_the_driver_futures(self, japan_inputs: ForecastInputs) -> None:
        known = _cut(japan_inputs, 2010, drivers_too=False)
        assert known.drivers == japan_inputs.drivers
        assert known.policy_events == japan_inputs.policy_events


class TestValidation:
    def test_too_long_a_training_period_is_refused(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InsufficientData, match="min_train") as caught:
            backtest(japan_inputs, Target("JPN"), min_train=60)
        assert caught.value.field == "min_train"

    def test_horizon_is_validated(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidScenario, match="'horizon'"):
            backtest(japan_inputs, Target("JPN"), horizon=0)


def test_a_perfect_naive_baseline_cannot_be_beaten(japan_inputs: ForecastInputs) -> None:
    never = replace(japan_inputs, target_tiv={})  # every share is 0: naive forecasts are exact
    result = backtest(never, Target("JPN"), horizon=3, min_train=30)
    assert result.metrics[result.best_naive].mae == 0.0
    assert not result.beats_best_naive
    assert json.loads(json.dumps(result.to_dict()))["skill_vs_best_naive"] == result.skill
