"""Inputs, targets, history preparation (zeros, gaps, lower bounds) and the bounded scales."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from forecasting.errors import ForecastingError, InsufficientData, InvalidInputs, InvalidTarget
from forecasting.inputs import ForecastInputs
from forecasting.keys import design
from forecasting.scenarios import ModelSettings
from forecasting.series import MIN_FIT_YEARS, HistoryWindow, Target, prepare_history, scale_for


class TestErrors:
    def test_every_error_is_a_value_error_with_a_field(self) -> None:
        error = InvalidInputs("bad", field="inputs.country")
        assert isinstance(error, ForecastingError)
        assert isinstance(error, ValueError)
        assert error.field == "inputs.country"


class TestForecastInputs:
    def test_json_round_trip_gives_equal_inputs(self, japan_inputs: ForecastInputs) -> None:
        shipped = json.loads(json.dumps(japan_inputs.to_dict()))
        assert ForecastInputs.from_dict(shipped) == japan_inputs

    def test_json_is_byte_stable(self, japan_inputs: ForecastInputs) -> None:
        again = ForecastInputs.from_dict(japan_inputs.to_dict())
        assert json.dumps(again.to_dict(), sort_keys=True) == json.dumps(japan_inputs.to_dict(), sort_keys=True)

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"country": "japan"}, "inputs.country"),
            ({"target_tiv": {2000: -1.0}}, "inputs.target_tiv[2000]"),
            ({"world_tiv": {2000: 0.0}}, "inputs.world_tiv[2000]"),
            ({"drivers": {"gdp": {2000: 1.0}}}, "inputs.drivers.gdp"),
            ({"policy_events": (("2014-04-01", "open_door_2014"),)}, "inputs.policy_events[0].regime"),
            ({"policy_events": (("April 2014", "transfer_principles_2014"),)}, "inputs.policy_events[0].date"),
            ({"world_tiv_lower_bound_years": (2030,)}, "inputs.world_tiv_lower_bound_years"),
            ({"data_version": ""}, "inputs.data_version"),
        ],
    )
    def test_malformed_inputs_name_the_field(
        self, japan_inputs: ForecastInputs, change: dict[str, object], field: str
    ) -> None:
        with pytest.raises(InvalidInputs) as caught:
            replace(japan_inputs, **change)  # type: ignore[arg-type]
        assert caught.value.field == field

    def test_target_above_world_total_is_rejected(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidInputs, match="exceeds the world total"):
            replace(japan_inputs, target_tiv={1990: 10 * japan_inputs.world_tiv[1990]})

    def test_from_dict_rejects_missing_keys(self) -> None:
        with pytest.raises(InvalidInputs):
            ForecastInputs.from_dict({"country": "JPN"})


class TestTarget:
    def test_bad_country_names_the_field(self) -> None:
        with pytest.raises(InvalidTarget, match="'country'") as caught:
            Target("Japan")
        assert caught.value.field == "target.country"

    def test_bad_measure_names_the_field(self) -> None:
        with pytest.raises(InvalidTarget) as caught:
            Target("JPN", "value")  # type: ignore[arg-type]
        assert caught.value.field == "target.measure"

    def test_window_start_after_end_is_rejected(self) -> None:
        with pytest.raises(InvalidTarget, match="must not be after"):
            HistoryWindow(2010, 2000)


class TestPrepareHistory:
    def test_absent_years_are_read_as_zero_and_flagged(self, japan_inputs: ForecastInputs) -> None:
        history = prepare_history(japan_inputs, Target("JPN"), HistoryWindow(), {})
        absent = [p for p in history.points if p.year not in japan_inputs.target_tiv]
        assert absent, "the fixture has years without Japanese deliveries"
        assert all(p.value == 0.0 and "absent_read_as_zero" in p.flags for p in absent)

    def test_absent_years_can_be_declared_missing(self, japan_inputs: ForecastInputs) -> None:
        inputs = replace(japan_inputs, absent_target_years="missing")
        history = prepare_history(inputs, Target("JPN"), HistoryWindow(), {})
        absent = [p for p in history.points if p.year not in inputs.target_tiv]
        assert all(p.value is None and not p.used for p in absent)
        assert {p.excluded_because for p in absent} == {"target value missing"}

    def test_share_is_percent_of_world_total(self, japan_inputs: ForecastInputs) -> None:
        history = prepare_history(japan_inputs, Target("JPN"), HistoryWindow(), {})
        for point in history.points:
            expected = 100 * japan_inputs.target_tiv.get(point.year, 0.0) / japan_inputs.world_tiv[point.year]
            assert point.value == pytest.approx(expected)

    def test_lower_bound_world_total_is_labelled(self, japan_inputs: ForecastInputs) -> None:
        history = prepare_history(japan_inputs, Target("JPN"), HistoryWindow(), {})
        last = history.points[-1]
        assert last.year == 2024
        assert {"world_total_lower_bound", "share_upper_bound"} <= set(last.flags)
        assert last.used

    def test_driver_gaps_exclude_years_with_a_reason(self, japan_inputs: ForecastInputs) -> None:
        world = japan_inputs.drivers["world_military_expenditure"]
        history = prepare_history(japan_inputs, Target("JPN"), HistoryWindow(), {"world": world})
        excluded = {p.year: p.excluded_because for p in history.points if not p.used}
        assert min(p.year for p in history.fit_points) == min(world)
        assert 1991 not in world
        assert "world" in (excluded[1991] or "")
        assert all(y in excluded for y in range(1950, min(world)))

    def test_window_limits_the_years(self, japan_inputs: ForecastInputs) -> None:
        history = prepare_history(japan_inputs, Target("JPN"), HistoryWindow(1990, 2010), {})
        assert [p.year for p in history.points] == list(range(1990, 2011))
        assert history.last_year == 2010

    def test_too_short_a_window_raises(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InsufficientData, match=f"at least {MIN_FIT_YEARS}") as caught:
            prepare_history(japan_inputs, Target("JPN"), HistoryWindow(2020, 2024), {})
        assert caught.value.field == "history_window"

    def test_inputs_of_another_country_are_refused(self, japan_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidTarget, match="not KOR"):
            prepare_history(japan_inputs, Target("KOR"), HistoryWindow(), {})

    def test_tiv_measure_needs_no_world_total(self, japan_inputs: ForecastInputs) -> None:
        inputs = replace(japan_inputs, world_tiv={}, world_tiv_lower_bound_years=())
        history = prepare_history(inputs, Target("JPN", "tiv"), HistoryWindow(), {})
        assert [p.year for p in history.points][0] == min(inputs.target_tiv)
        with pytest.raises(InsufficientData, match="world totals"):
            prepare_history(inputs, Target("JPN", "share"), HistoryWindow(), {})


class TestDesign:
    def test_constant_driver_is_left_out_with_a_note(self, japan_inputs: ForecastInputs) -> None:
        # 1988-2003: the policy index stays at the 1983 exception's value.
        d = design(japan_inputs, Target("JPN"), HistoryWindow(1988, 2003), ModelSettings())
        assert "export_policy_openness" not in (d.settings.drivers or ())
        assert any("constant" in note for note in d.notes)

    def test_korea_uses_its_own_spending_only(self, korea_inputs: ForecastInputs) -> None:
        d = design(korea_inputs, Target("KOR"), HistoryWindow(), ModelSettings())
        assert d.settings.drivers == ("own_military_expenditure",)

    def test_the_world_total_reads_world_spending_as_demand_not_as_a_regressor(
        self, world_inputs: ForecastInputs
    ) -> None:
        d = design(world_inputs, Target("WLD", "tiv"), HistoryWindow(), ModelSettings())
        assert d.settings.drivers == ()
        assert d.world_milex == world_inputs.drivers["world_military_expenditure"]

    def test_the_world_has_no_share_to_forecast(self, world_inputs: ForecastInputs) -> None:
        with pytest.raises(InvalidTarget, match="100 %"):
            design(world_inputs, Target("WLD"), HistoryWindow(), ModelSettings())


class TestScale:
    @pytest.mark.parametrize("measure", ["share", "tiv"])
    def test_round_trip(self, measure: str) -> None:
        scale = scale_for(measure)  # type: ignore[arg-type]
        values = np.array([0.0, 0.004, 0.07, 3.3, 40.0, 99.0])
        assert scale.inverse(scale.forward(values)) == pytest.approx(values, abs=1e-9)

    def test_share_inverse_stays_in_bounds_for_any_value(self) -> None:
        z = np.linspace(-1e3, 1e3, 2001)
        shares = scale_for("share").inverse(z)
        assert shares.min() == 0.0
        assert shares.max() == 100.0

    def test_tiv_inverse_is_never_negative(self) -> None:
        assert scale_for("tiv").inverse(np.array([-1e3, -5.0, 0.0])).min() >= 0.0

    def test_zero_maps_to_a_finite_value(self) -> None:
        assert np.isfinite(scale_for("share").forward([0.0])).all()
