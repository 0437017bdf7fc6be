"""The perfect-foresight test of the drivers, and what every forecast says about its drivers' held-out worth."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources

import numpy as np
import pytest

from forecasting.coherent import forecast_panel
from forecasting.demand import estimate_elasticity
from forecasting.driver_check import MATERIAL, Trial, foresight_points, summarise
from forecasting.drivers import DRIVERS, OWN_MILEX, WORLD_MILEX
from forecasting.inputs import ForecastInputs
from forecasting.model import ModelSpec, fit, predict
from forecasting.model_card import DRIVER_FILE
from forecasting.panel import WORLD, Panel
from forecasting.series import Target

ORIGIN = 2010


def cut_inputs(panel: Panel, code: str, drivers: dict[str, dict[int, float]]) -> ForecastInputs:
    """Everything, the drivers included, as known at the end of :data:`ORIGIN`."""
    cut = panel.cut(ORIGIN)
    tiv = {c: cut.tiv(c) for c in cut.suppliers}
    return ForecastInputs(country=code, target_tiv=dict(cut.world) if code == WORLD else tiv[code],
                          world_tiv=dict(cut.world), policy_events=(), data_version="cut",
                          drivers={n: {y: v for y, v in s.items() if y <= ORIGIN} for n, s in drivers.items()},
                          world_tiv_lower_bound_years=cut.lower_bound_years, panel_tiv=tiv)


def shipped() -> dict[str, object]:
    return dict(json.loads(resources.files("forecasting").joinpath(DRIVER_FILE).read_text(encoding="utf-8")))


class TestTheTrial:
    def test_the_baseline_is_the_evaluation_s_served_forecast_from_that_origin(
            self, shipped_panel: Panel, inputs_for: Callable[[str], ForecastInputs]) -> None:
        spending = inputs_for("KOR").drivers[OWN_MILEX]
        inputs = cut_inputs(shipped_panel, "KOR", {OWN_MILEX: spending})
        future = {y: spending[y] for y in range(ORIGIN + 1, ORIGIN + 6)}
        base, ahead = foresight_points(inputs, Target("KOR"), OWN_MILEX, future, 5)
        served = forecast_panel(shipped_panel.cut(ORIGIN), 5).share["KOR"]
        assert base == pytest.approx(list(served), abs=1e-9)
        assert ahead != base  # the true spending path differs from its ten-year trend, and moves the forecast

    def test_world_demand_moves_the_world_total_the_way_of_the_elasticity_known_then(
            self, shipped_panel: Panel, inputs_for: Callable[[str], ForecastInputs]) -> None:
        milex = inputs_for("WLD").drivers[WORLD_MILEX]
        inputs = cut_inputs(shipped_panel, WORLD, {WORLD_MILEX: milex})
        elasticity = estimate_elasticity(inputs.world_tiv, inputs.drivers[WORLD_MILEX], ()).value
        high = dict.fromkeys(range(ORIGIN + 1, ORIGIN + 6), milex[ORIGIN] * 1.5)
        higher = dict.fromkeys(range(ORIGIN + 1, ORIGIN + 6), milex[ORIGIN] * 2.0)
        base, moved = foresight_points(inputs, Target(WORLD, "tiv"), WORLD_MILEX, high, 5)
        _, moved_more = foresight_points(inputs, Target(WORLD, "tiv"), WORLD_MILEX, higher, 5)
        assert base == pytest.approx(list(forecast_panel(shipped_panel.cut(ORIGIN), 5).world), rel=1e-12)
        for b, m, mm in zip(base, moved, moved_more, strict=True):
            assert np.sign(m - b) == np.sign(elasticity) != 0
            assert abs(mm - b) > abs(m - b)

    def test_improved_means_at_least_one_percent_lower(self) -> None:
        def trials(driver: str, baseline: float, foresight: float) -> list[Trial]:
            return [Trial(driver, code, 2000, h, baseline, foresight) for code in ("AAA", "BBB") for h in (1, 2)]

        table = summarise([*trials("slightly", 1.0, 0.995), *trials("clearly", 1.0, 0.95), *trials("worse", 1.0, 1.2)])
        assert [table[d]["improved_held_out"] for d in ("slightly", "clearly", "worse")] == [False, True, False]
        assert table["clearly"]["ratio"] == pytest.approx(0.95)
        assert table["worse"]["targets_worse"] == 2 and table["worse"]["targets_improved"] == 0
        assert table["clearly"]["forecasts"] == 4 and table["clearly"]["by_target"]["AAA"]["mase_baseline"] == 1.0


class TestTheShippedVerdicts:
    def test_every_driver_is_tested_and_each_verdict_follows_the_rule(self) -> None:
        data = shipped()
        drivers = data["drivers"]
        assert isinstance(drivers, dict)
        assert set(drivers) == set(DRIVERS)
        for result in drivers.values():
            lower = result["mase_perfect_foresight"] <= MATERIAL * result["mase_baseline"]
            assert result["improved_held_out"] == lower
            assert result["forecasts"] >= 100 and result["horizons"] == [1, 5]

    def test_a_forecast_quotes_its_driver_s_verdict_and_its_own_scores(
            self, inputs_for: Callable[[str], ForecastInputs]) -> None:
        verdicts = shipped()["drivers"]
        assert isinstance(verdicts, dict)
        model = json.loads(predict(fit(inputs_for("KOR"), ModelSpec(Target("KOR"))), "baseline", 5).to_json())["model"]
        standing = model["drivers"][OWN_MILEX]
        expected = verdicts[OWN_MILEX]
        assert standing["improved_held_out"] is expected["improved_held_out"]
        assert standing["held_out"]["mase_perfect_foresight"] == pytest.approx(expected["mase_perfect_foresight"])
        assert standing["held_out"]["this_target"]["mase_baseline"] == pytest.approx(
            expected["by_target"]["KOR"]["mase_baseline"], rel=1e-5)
        verb = "carries information" if expected["improved_held_out"] else "does not improve"
        assert verb in standing["held_out_note"]

    def test_the_world_demand_elasticity_says_what_perfect_foresight_of_world_spending_did(
            self, inputs_for: Callable[[str], ForecastInputs]) -> None:
        verdict = shipped()["drivers"]
        assert isinstance(verdict, dict)
        model = json.loads(predict(fit(inputs_for("WLD"), ModelSpec(Target(WORLD, "tiv"))), "baseline",
                                   5).to_json())["model"]
        demand = model["world_demand"]
        assert demand["improved_held_out"] is verdict[WORLD_MILEX]["improved_held_out"]
        assert demand["held_out"]["this_target"] == pytest.approx(verdict[WORLD_MILEX]["by_target"]["WLD"], rel=1e-5)
