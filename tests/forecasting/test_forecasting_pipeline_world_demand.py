"""World demand and Japan's pipeline as a verification review of the running service read them: the demand surge
keeps its level gap to the baseline after 2030, the elasticity's uncertainty is honest for overlapping 5-year
changes, a stated elasticity applies to every forecast world demand moves, Japan's simulated world paths widen
as the served world interval does, and the response says why the surge lowers Japan's share."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from forecasting.calibration import world_beyond
from forecasting.errors import InvalidScenario
from forecasting.evaluation import interval
from forecasting.inputs import ForecastInputs
from forecasting.model import FittedModel, ModelSpec, clear_panel_cache, fit, forecast_scenarios, predict
from forecasting.output import Forecast
from forecasting.parsing import parse_scenario
from forecasting.scenarios import SCENARIOS
from forecasting.series import HistoryWindow, Target
from tests.forecasting.conftest import assumptions, pipeline

AUSTRALIAN = "aus-mogami-frigates-australian-built"
WORLD_NOTE = "Japan's deals are fixed quantities"


@pytest.fixture(scope="module")
def world(world_inputs: ForecastInputs) -> dict[str, Forecast]:
    return forecast_scenarios(world_inputs, ["baseline", "demand-surge"], Target("WLD", "tiv"), horizon=30).forecasts


@pytest.fixture(scope="module")
def world_fit(world_inputs: ForecastInputs) -> FittedModel:
    return fit(world_inputs, ModelSpec(Target("WLD", "tiv")))


class TestTheSurgeKeepsItsLevel:
    def test_world_transfers_stay_about_a_fifth_above_the_baseline_to_2054(self, world: dict[str, Forecast]) -> None:
        surge, base = world["demand-surge"].points, world["baseline"].points
        ratio = {y: surge[y] / base[y] for y in range(2025, 2055)}
        assert ratio[2032] == pytest.approx(1.2175, abs=0.002)  # the full long-run effect, two years after 2030
        assert all(r == pytest.approx(ratio[2032], abs=1e-6) for y, r in ratio.items() if y >= 2032)
        assert surge[2054] > surge[2032]  # the review saw 34,854 (2032) fall to 33,279 (2054)

    def test_spending_grows_at_the_baseline_s_trend_after_the_surge(self, world: dict[str, Forecast]) -> None:
        surge, base = world["demand-surge"].resolved.world_milex, world["baseline"].resolved.world_milex
        assert surge[2030] / surge[2029] == pytest.approx(1.08)
        gaps = [surge[y] / base[y] for y in range(2030, 2055)]
        assert gaps[0] == pytest.approx((1.08 / 1.0333) ** 6, rel=1e-3)  # about 30 % above the baseline
        assert max(gaps) - min(gaps) < 1e-9
        notes = [n for n in world["demand-surge"].notes if "from 2031 the trend growth" in n]
        assert notes and "3.33 % a year" in notes[0] and "keeps its gap" in notes[0]

    def test_the_description_says_the_surge_is_kept_and_why_japan_s_share_falls(self) -> None:
        scenario = SCENARIOS["demand-surge"].to_dict()
        text = scenario["description"]
        assert "then at the baseline's trend rate" in text and "not faded" in text
        assert "fixed quantities" in text and "below the baseline's" in text
        assert scenario["drivers"]["world_military_expenditure"]["trend_from"] == 2031
        assert "trend_from" not in SCENARIOS["baseline"].to_dict()["drivers"]["world_military_expenditure"]


class TestAnHonestElasticity:
    def test_the_served_standard_error_is_the_block_bootstrap_s(self, world_fit: FittedModel) -> None:
        e = world_fit.description["world_demand"]
        assert e["value"] == pytest.approx(0.7417, abs=1e-3) and e["n"] == 26
        errors = e["standard_errors"]
        assert errors["ols"] == pytest.approx(0.280, abs=1e-3) and errors["newey_west"] == pytest.approx(0.234,
                                                                                                        abs=1e-3)
        assert e["standard_error"] == errors["block_bootstrap"] == pytest.approx(0.527, abs=0.01)
        assert e["bootstrap_interval_95"][0] < 0 < e["bootstrap_interval_95"][1]
        assert sorted(round(v, 2) for v in e["non_overlapping_subsamples"]) == [-0.21, 0.76, 0.87, 1.33, 1.51]
        assert e["independent_changes"] == pytest.approx(5.2)
        assert "only about 5 independent ones" in e["uncertainty"]

    def test_ols_and_newey_west_errors_are_statsmodels_own(self, world_inputs: ForecastInputs,
                                                           world_fit: FittedModel) -> None:
        """forecasting.demand keeps its six-line sandwich rather than import statsmodels (about 2 s in every
        cold worker process): the served figures must be what statsmodels' OLS and HAC (Bartlett kernel,
        difference - 1 lags, small-sample correction) give on the same regression."""
        import statsmodels.api as sm  # a dev dependency (pyproject [dev]); imported here, not at collection

        e = world_fit.description["world_demand"]
        tiv = {y: math.log(v) for y, v in world_inputs.world_tiv.items()
               if v > 0 and y not in world_inputs.world_tiv_lower_bound_years}
        milex = {y: math.log(v) for y, v in world_inputs.drivers["world_military_expenditure"].items() if v > 0}
        years = [t for t in sorted(tiv) if t - 5 in tiv and all(t - k in milex and t - k - 5 in milex
                                                                 for k in (0, 1, 2))]
        assert len(years) == e["n"]
        y = np.array([tiv[t] - tiv[t - 5] for t in years])
        x = np.array([np.mean([milex[t - k] - milex[t - k - 5] for k in (0, 1, 2)]) for t in years])
        design = sm.add_constant(x)
        ols = sm.OLS(y, design).fit()
        hac = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": 4, "use_correction": True})
        assert e["value"] == pytest.approx(ols.params[1], rel=1e-9)
        assert e["standard_errors"]["ols"] == pytest.approx(ols.bse[1], rel=1e-9)
        assert e["standard_errors"]["newey_west"] == pytest.approx(hac.bse[1], rel=1e-9)
        assert e["r_squared"] == pytest.approx(ols.rsquared, rel=1e-9)

    def test_the_same_data_give_the_same_standard_error(self, world_inputs: ForecastInputs,
                                                        world_fit: FittedModel) -> None:
        clear_panel_cache()  # the estimate is memoised by its data: compute it again, bootstrap and all
        again = fit(world_inputs, ModelSpec(Target("WLD", "tiv")))
        assert again.elasticity is not world_fit.elasticity
        assert again.description["world_demand"]["standard_error"] == \
            world_fit.description["world_demand"]["standard_error"]

    def test_japan_s_range_and_the_world_bounds_use_it(self, japan_fit: FittedModel,
                                                       world: dict[str, Forecast]) -> None:
        listed = assumptions(predict(japan_fit, "demand-surge", horizon=10))["world_demand_elasticity"]
        b, se = listed["value"], listed["standard_error"]
        assert se == pytest.approx(0.527, abs=0.01)
        assert listed["range"] == pytest.approx([b - 1.959964 * se, b + 1.959964 * se], abs=1e-5)  # 6 digits
        assert listed["range"][0] < 0  # was [0.19, 1.29]
        # model._world_demand: the surge's 80 % upper bound is the baseline's moved at b + z se
        surge, base = world["demand-surge"], world["baseline"]
        milex_s, milex_b = surge.resolved.world_milex, base.resolved.world_milex
        z = 1.2815516
        for year in (2032, 2040):  # the gap is fully built up (constant from 2030 on)
            gap = math.log(milex_s[year] / milex_b[year])
            upper_s = next(r.upper for r in surge.years if r.year == year)
            upper_b = next(r.upper for r in base.years if r.year == year)
            assert upper_s / upper_b == pytest.approx(math.exp((b + z * se) * gap), rel=1e-4)


class TestAStatedElasticityForTheWorld:
    def test_a_stated_elasticity_moves_the_world_total_and_is_said_to_be_asserted(
            self, world_fit: FittedModel, world: dict[str, Forecast]) -> None:
        stated = predict(world_fit, parse_scenario({"name": "k", "base": "demand-surge",
                                                    "pipeline": {"elasticity": 1.0}}), horizon=30)
        base = world["baseline"]
        milex_s, milex_b = stated.resolved.world_milex, base.resolved.world_milex
        for year in (2032, 2054):
            ratio = stated.points[year] / base.points[year]
            assert ratio == pytest.approx(milex_s[year] / milex_b[year], rel=1e-9)  # elasticity 1, fully built up
        note = next(n for n in stated.notes if n.startswith("world-demand elasticity"))
        assert "1, asserted by the request" in note
        other = predict(world_fit, parse_scenario({"name": "k", "base": "demand-surge",
                                                   "pipeline": {"elasticity": 0.9}}), horizon=30)
        assert len({stated.key, other.key, world["demand-surge"].key}) == 3

    def test_a_stated_elasticity_for_a_share_is_refused_with_the_right_reason(
            self, korea_inputs: ForecastInputs) -> None:
        korea = fit(korea_inputs, ModelSpec(Target("KOR")))
        with pytest.raises(InvalidScenario) as caught:
            predict(korea, parse_scenario({"name": "k", "base": "demand-surge", "pipeline": {"elasticity": 1.0}}))
        assert caught.value.field == "scenario.pipeline.elasticity"
        assert "moves no other country's share" in str(caught.value) and "'tiv'" in str(caught.value)

    def test_deal_edits_on_the_world_are_refused_without_calling_it_its_statistical_base(
            self, world_fit: FittedModel) -> None:
        edit = {"edits": [{"deal_id": "aus-mogami-frigates", "probability": 0.1}]}
        with pytest.raises(InvalidScenario) as caught:
            predict(world_fit, parse_scenario({"name": "k", "base": "demand-surge", "pipeline": edit}))
        assert caught.value.field == "scenario.pipeline"
        message = str(caught.value)
        assert "applies to JPN only" in message and "statistical base" not in message
        assert "scenario.pipeline.elasticity alone applies" in message


class TestJapan:
    def test_the_surge_s_notes_say_why_japan_s_share_is_below_the_baseline(self, japan_fit: FittedModel) -> None:
        surge = pipeline(predict(japan_fit, "demand-surge", horizon=10))["notes"]
        note = next(n for n in surge if WORLD_NOTE in n)
        assert "(+22 % against the baseline's by 2032)" in note
        assert "smaller than in the baseline" in note
        assert not any(WORLD_NOTE in n for n in pipeline(predict(japan_fit, "baseline", horizon=10))["notes"])

    def test_simulated_world_paths_beyond_ten_years_widen_as_the_world_interval_does(
            self, japan_fit: FittedModel) -> None:
        upper = {r.year: r.upper for r in predict(japan_fit, "baseline", horizon=30).years}
        # additive widening gave 2.766, 2.989 and 3.208
        assert [round(upper[y], 3) for y in (2036, 2038, 2040)] == pytest.approx([2.710, 2.842, 2.985], abs=0.002)
        parts = japan_fit.japan
        assert parts is not None
        cal, last = parts.calibration, parts.calibration.last_horizon("world")
        for h in (15, 30):  # the shared rule: quantiles of the draws are the served interval's bounds
            point = float(parts.world[h - 1])
            draws = world_beyond(point, parts.world_spread, cal.draw("world", last, np.array([0.1, 0.9])), h, last)
            served = interval(point, parts.world_spread, cal, "world", h, 0.8)
            assert tuple(draws) == pytest.approx(served, rel=1e-12)

    def test_at_horizon_30_both_notes_on_either_or_outcomes_are_given(self, japan_fit: FittedModel) -> None:
        notes = pipeline(predict(japan_fit, "baseline", horizon=30))["notes"]
        assert any("the point lies outside its 80 % interval" in n for n in notes)
        assert any("delivers in 20-80 % of the simulated paths" in n for n in notes)

    @pytest.mark.parametrize("base", ["baseline", "restriction"])
    def test_the_australian_line_s_probability_is_said_to_be_derived(self, japan_fit: FittedModel,
                                                                      base: str) -> None:
        custom = parse_scenario({"name": "x", "base": base, "pipeline": {
            "edits": [{"deal_id": "aus-mogami-frigates", "probability": 0.6}]}})
        line = assumptions(predict(japan_fit, custom, horizon=10))[f"{AUSTRALIAN}.probability"]
        assert line["value"] == pytest.approx(0.52, abs=0.001)
        assert line["origin"] == "derived" and line["source"].startswith("derived from the contract's probability")
        assert line["estimated_or_asserted"] == "derived from the contract's probability" and line["range"] is None

    def test_the_radars_past_split_is_listed_as_tivcast_s_assumption(self, japan_fit: FittedModel) -> None:
        past = assumptions(predict(japan_fit, "baseline", horizon=10))["phl-jfps3-radars.past_deliveries"]
        assert past["value"] == {"2023": 13.0, "2024": 13.0} and past["unit"] == "TIV million by year"
        assert past["tivcast_own"] is True and past["origin"] == "catalogue"
        assert "statistical base" in past["range_note"]

    def test_the_world_spending_note_gives_its_unit(self, japan_fit: FittedModel) -> None:
        notes = predict(japan_fit, "demand-surge", horizon=10).notes
        note = next(n for n in notes if n.startswith("world_military_expenditure: growth path"))
        assert "(2024: 2676.51 USD billion, constant 2023 prices)" in note


class TestAnAsOfHistoryTooShortForWorldDemand:
    """World military expenditure starts in 1988 in the data: an as-of history ending before about 1999 has too few
    yearly changes to estimate world demand. Its baseline does not use it and is served (the evaluation scores
    those origins); world demand then moves nothing, and the response says why."""

    @pytest.mark.parametrize(("code", "measure"), [("WLD", "tiv"), ("USA", "tiv"), ("JPN", "share")])
    def test_the_baseline_is_served_and_says_world_demand_was_not_estimated(
        self, inputs_for: Callable[[str], ForecastInputs], code: str, measure: str
    ) -> None:
        fitted = fit(inputs_for(code), ModelSpec(Target(code, measure), HistoryWindow(end=1995)))
        forecast = predict(fitted, "baseline", 3)
        assert [r.year for r in forecast.years] == [1996, 1997, 1998]
        demand = forecast.model["world_demand"]
        assert demand["estimated_or_asserted"] == "asserted: 0, for want of data"
        assert "too few years with world TIV and military expenditure" in demand["method"]
        surge = predict(fitted, "demand-surge", 3)  # world spending rises: with no estimate, the world moves not
        if code == "WLD":
            assert [r.point for r in surge.years] == [r.point for r in forecast.years]
