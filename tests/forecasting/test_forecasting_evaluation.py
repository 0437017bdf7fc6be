"""The evaluation of the served model: no look-ahead, honest benchmarks, calibrated intervals, coherence."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from forecasting.backtest import NAMES, backtest_report
from forecasting.calibration import ErrorRecord, calibrate
from forecasting.coherent import PanelForecast, forecast_panel, plausible_ceiling
from forecasting.errors import InsufficientData
from forecasting.evaluation import BENCHMARKS, Evaluation, evaluate
from forecasting.inputs import ForecastInputs
from forecasting.model import ModelSpec, fit, predict
from forecasting.model_card import ERRORS_FILE, load_card
from forecasting.panel import REST, WORLD, Panel
from forecasting.series import HistoryWindow, Target

SMALL = {"first_origin": 1986, "first_scored": 1989, "last_origin": 1989, "horizon": 1}


def perturbed_after(panel: Panel, origin: int) -> Panel:
    """The same panel with every value after ``origin`` changed (suppliers and world)."""
    rng = np.random.default_rng(7)
    suppliers = {c: {y: v * (rng.uniform(0.2, 3.0) if y > origin else 1.0) for y, v in s.items()}
                 for c, s in panel.suppliers.items()}
    world = {y: v * (3.0 if y > origin else 1.0) for y, v in panel.world.items()}
    return Panel.from_tiv(suppliers, world, panel.lower_bound_years)


@pytest.fixture(scope="module")
def small(shipped_panel: Panel) -> Evaluation:
    return evaluate(shipped_panel, **SMALL)


class TestNoLookAhead:
    def test_changing_data_after_the_origin_changes_no_forecast_or_interval(
        self, shipped_panel: Panel, small: Evaluation
    ) -> None:
        other = evaluate(perturbed_after(shipped_panel, SMALL["last_origin"]), **SMALL)
        for pool in ("scored", "tiv"):  # the share forecasts, and the same in TIV (suppliers and the world)
            ours = [(s.code, s.origin, s.horizon, s.points, s.intervals) for s in getattr(small, pool)]
            theirs = [(s.code, s.origin, s.horizon, s.points, s.intervals) for s in getattr(other, pool)]
            assert ours and ours == theirs, pool
            assert [s.actual for s in getattr(small, pool)] != [s.actual for s in getattr(other, pool)]

    def test_a_cut_panel_knows_nothing_after_its_origin(self, shipped_panel: Panel) -> None:
        cut = shipped_panel.cut(2000)
        assert cut.last_year == 2000
        assert all(max(s) <= 2000 for s in cut.suppliers.values())

    def test_calibration_uses_only_errors_known_at_the_origin(self) -> None:
        known = [ErrorRecord("share", "AAA", 1990 + i % 5, 1, float(i)) for i in range(60)]
        late = [ErrorRecord("share", "BBB", 1995, 1, 1e6)]  # its outcome (1996) is not known in 1995
        assert calibrate(known + late, known_by=1995) == calibrate(known, known_by=1995)


AS_OF = 2000


@pytest.fixture(scope="module")
def as_of(shipped_panel: Panel) -> Evaluation:
    """The evaluation's forecasts from one origin, with the shipped card's burn-in (origins from 1970)."""
    return evaluate(shipped_panel, first_origin=1970, first_scored=AS_OF, last_origin=AS_OF, horizon=5)


def served_inputs(panel: Panel, code: str) -> ForecastInputs:
    """What a worker builds from the shipped release for ``code`` (the baseline uses no driver)."""
    return ForecastInputs(country=code, target_tiv=panel.world if code == WORLD else panel.suppliers[code],
                          world_tiv=panel.world, drivers={}, policy_events=(), data_version="shipped",
                          world_tiv_lower_bound_years=panel.lower_bound_years, panel_tiv=panel.suppliers)


class TestTheServedPathIsWhatIsScored:
    @pytest.mark.parametrize(("code", "measure"), [("KOR", "share"), ("USA", "share"), ("KOR", "tiv"), (WORLD, "tiv")])
    def test_a_forecast_with_an_earlier_history_end_is_the_evaluation_s_forecast_from_that_origin(
        self, as_of: Evaluation, shipped_panel: Panel, code: str, measure: str
    ) -> None:
        """POST /v1/forecasts with history_window.end = 2000 gives the very point and intervals that the
        evaluation scores for that origin: the panel cut there, and intervals from the errors known by then."""
        fitted = fit(served_inputs(shipped_panel, code), ModelSpec(Target(code, measure), HistoryWindow(end=AS_OF)))
        pool = as_of.scored if measure == "share" else as_of.tiv
        scored = {s.horizon: s for s in pool if s.code == code and s.origin == AS_OF}
        assert set(scored) == {1, 2, 3, 4, 5}
        for width in (0.8, 0.95):
            forecast = predict(fitted, "baseline", 5, interval_width=width)
            assert forecast.model["interval_errors"] == {"known_by": AS_OF, "as_of_history_end": True, "note": (
                f"calibrated on the errors known by {AS_OF}, the end of this history, as the evaluation does")}
            for h, row in enumerate(forecast.years, start=1):
                assert row.year == AS_OF + h
                assert row.point == pytest.approx(scored[h].points["served"], rel=1e-9)
                assert (row.lower, row.upper) == pytest.approx(scored[h].intervals[width], rel=1e-4, abs=1e-6)

    def test_a_history_start_is_where_every_supplier_s_history_starts(self, shipped_panel: Panel) -> None:
        fitted = fit(served_inputs(shipped_panel, "KOR"), ModelSpec(Target("KOR"), HistoryWindow(start=1995)))
        forecast = predict(fitted, "baseline", 5)
        later = shipped_panel.since(1995)
        expected = forecast_panel(later, 5).share["KOR"]
        assert [r.point for r in forecast.years] == pytest.approx(list(expected), rel=1e-9)
        whole = predict(fit(served_inputs(shipped_panel, "KOR"), ModelSpec(Target("KOR"))), "baseline", 5)
        assert [r.point for r in forecast.years] != [r.point for r in whole.years]
        assert any("starts in 1995" in n for n in forecast.to_dict()["notes"])
        assert not any("starts in" in n for n in whole.to_dict()["notes"])
        # a supplier that reported before the start keeps its zero years; one that starts later keeps its start
        assert min(later.suppliers["USA"]) == 1995 and shipped_panel.since(1990).first_year("RUS") == 1992
        assert set(later.tiv("JPN")) == set(range(1995, shipped_panel.last_year + 1))

    def test_a_full_history_uses_every_known_error_and_an_early_end_says_what_it_could_not_do(
        self, shipped_panel: Panel
    ) -> None:
        full = predict(fit(served_inputs(shipped_panel, "KOR"), ModelSpec(Target("KOR"))), "baseline", 3)
        assert full.model["interval_errors"] == {"known_by": load_card().errors_known_by, "as_of_history_end": False,
                                                 "note": None}
        early = predict(fit(served_inputs(shipped_panel, "USA"), ModelSpec(Target("USA"), HistoryWindow(end=1975))),
                        "baseline", 3)
        errors = early.model["interval_errors"]
        assert errors["known_by"] == load_card().errors_known_by and not errors["as_of_history_end"]
        assert "too few past errors were known by 1975" in errors["note"]


class TestScoring:
    def test_every_benchmark_is_scored_on_the_same_forecasts(self, small: Evaluation) -> None:
        for row in small.scored:
            assert {"served", *(b for b in BENCHMARKS if b != "zero")} <= set(row.points)
            assert ("zero" in row.points) == row.intermittent
            assert row.points.get("zero", 0.0) == 0.0

    def test_a_lower_bound_world_total_is_never_scored(self, shipped_panel: Panel) -> None:
        late = evaluate(shipped_panel, first_origin=2019, first_scored=2022, last_origin=2023, horizon=1)
        assert late.origins[-1] == 2023  # its only year ahead, 2024, has a lower-bound world total
        assert late.scored
        assert all(s.origin + s.horizon not in shipped_panel.lower_bound_years for s in late.scored)
        assert max(s.origin + s.horizon for s in late.scored) == 2023

    def test_metrics_cover_every_model_with_coverage_for_the_served_one(self, small: Evaluation) -> None:
        table = small.table()
        served = table["models"]["served"]
        assert table["n"] == len(small.scored)
        assert 0.0 <= served["coverage_80"] <= served["coverage_95"] <= 1.0
        assert served["winkler_80"] > 0
        assert all(m["mase"] > 0 for m in table["models"].values())
        assert set(small.by_horizon()) == {1}

    def test_too_few_origins_to_calibrate_are_refused(self, shipped_panel: Panel) -> None:
        with pytest.raises(InsufficientData, match="calibrate"):
            evaluate(shipped_panel, first_origin=1988, first_scored=1988, last_origin=1988, horizon=1)


@pytest.fixture(scope="module")
def today(shipped_panel: Panel) -> PanelForecast:
    return forecast_panel(shipped_panel, 30)


class TestCoherence:
    def test_shares_of_all_suppliers_and_the_rest_add_up_to_100(self, today: PanelForecast) -> None:
        total = np.sum(np.vstack(list(today.share.values())), axis=0)
        assert total == pytest.approx(np.full(30, 100.0), abs=1e-9)
        assert REST in today.share

    def test_share_times_world_is_the_tiv_and_tivs_add_up_to_the_world(self, today: PanelForecast) -> None:
        tiv = sum(today.tiv(c) for c in today.share)
        assert tiv == pytest.approx(today.tiv(WORLD), rel=1e-9)
        assert today.tiv("JPN") == pytest.approx(today.share["JPN"] * today.world / 100, rel=1e-12)

    def test_no_supplier_leaves_the_range_of_its_last_25_years(
        self, today: PanelForecast, shipped_panel: Panel
    ) -> None:
        for code, share in today.share.items():
            history = shipped_panel.array(code, "share")[1]
            ceiling = plausible_ceiling(history)
            assert (today.base_share[code] <= ceiling + 1e-12).all(), code
            assert (share <= ceiling * max(1.0, float(today.factor.max())) + 1e-12).all(), code
            assert (share >= 0).all(), code
        assert 0.9 < today.factor.min() <= today.factor.max() < 1.1

    def test_successor_states_start_when_they_first_report(self, shipped_panel: Panel) -> None:
        assert min(shipped_panel.tiv("RUS")) == 1992
        assert min(shipped_panel.tiv("JPN")) == min(shipped_panel.suppliers["JPN"])


class TestModelCard:
    def test_the_fixture_is_the_shipped_data_and_the_card_describes_it(self, shipped_panel: Panel) -> None:
        shipped = resources.files("api").joinpath("data/arms-exports.csv").read_bytes()
        assert (Path(__file__).parent / "data" / "arms_exports_panel.csv").read_bytes() == shipped
        assert load_card().data_digest == shipped_panel.digest()
        errors = json.loads(resources.files("forecasting").joinpath(ERRORS_FILE).read_text(encoding="utf-8"))
        assert (errors["data_digest"], errors["model_version"]) == (load_card().data_digest, load_card().model_version)

    def test_stored_intervals_cover_what_they_claim_at_every_horizon(self) -> None:
        for h, row in load_card().data["coverage"].items():
            assert 0.75 <= row["measured_80"] <= 0.85, h
            assert 0.90 <= row["measured_95"] <= 0.98, h

    def test_a_supplier_whose_intervals_missed_their_claim_is_told_so(self) -> None:
        card = load_card()
        told = {}
        for code, table in card.data["accuracy"]["by_country"].items():
            summary = card.summary(code)
            measured = table["models"]["served"]["coverage_80"]
            measured_95 = table["models"]["served"]["coverage_95"]
            assert summary["this_supplier"]["interval_coverage"]["measured_80"] == measured
            told[code] = summary["interval_note"]
            assert (told[code] is not None) == (not 0.7 <= measured <= 0.9 or not 0.9 <= measured_95 <= 0.99), code
        assert "IRN's 80 % and 95 % intervals of its share covered 55.5 % and 83.9 %" in told["IRN"]
        assert "narrower" in told["IRN"] and "wider" in told["GBR"] and told["KOR"] is None
        assert "FRA's 95 % intervals" in told["FRA"]  # its 80 % held: the 95 % miss is named alone

    def test_the_world_total_and_tiv_targets_quote_their_own_accuracy(self) -> None:
        card = load_card()
        world = card.summary("WLD")
        table = card.data["accuracy"]["tiv_by_country"]["WLD"]
        assert world["measure"] == "tiv" and world["this_supplier"]["n"] == table["n"] > 100
        assert world["this_supplier"]["mase"] == table["models"]["served"]["mase"]
        assert world["this_supplier"]["best_simple_benchmark"] in ("naive", "mean5")
        assert world["interval_calibration"] == card.data["coverage_world"]
        korea = card.summary("KOR", "tiv")
        assert korea["measure"] == "tiv"
        assert korea["this_supplier"]["mase"] == card.data["accuracy"]["tiv_by_country"]["KOR"]["models"]["served"][
            "mase"] != card.summary("KOR")["this_supplier"]["mase"]
        assert korea["all_suppliers"]["n"] == card.data["accuracy"]["tiv_overall_h1_5"]["n"]
        for h, row in card.data["coverage_tiv"].items():  # TIV intervals are calibrated as the shares' are
            assert 0.75 <= row["measured_80"] <= 0.85, h
            assert 0.90 <= row["measured_95"] <= 0.98, h

    def test_a_tiv_forecast_is_scored_as_share_times_the_world(self, small: Evaluation) -> None:
        share = {(s.code, s.origin, s.horizon): s.points["served"] for s in small.scored}
        world = {(s.origin, s.horizon): s.points["served"] for s in small.tiv if s.code == WORLD}
        tiv = [s for s in small.tiv if s.code != WORLD]
        assert tiv and world
        for s in tiv:
            assert s.measure == "tiv"
            assert s.points["served"] == pytest.approx(share[(s.code, s.origin, s.horizon)] *
                                                       world[(s.origin, s.horizon)] / 100)
        assert {"naive", "mean5", "drift", "damped_ets", "theta"} <= set(small.table(codes=[WORLD], measure="tiv")[
            "models"])

    def test_the_world_total_has_a_report_in_tiv(self) -> None:
        report = backtest_report(Target(WORLD, "tiv"))
        assert report["evaluated_measure"] == "tiv"
        assert report["metrics_h1_5"] == load_card().data["accuracy"]["tiv_by_country"]["WLD"]
        assert report["verdict"].startswith(f"WLD: over {report['metrics_h1_5']['n']} held-out forecasts")

    def test_the_report_names_the_best_benchmark_and_says_who_wins(self) -> None:
        report = backtest_report(Target("JPN"))
        models = report["metrics_h1_5"]["models"]
        rivals = {m: v["mase"] for m, v in models.items() if m != "served"}
        best = min(rivals, key=lambda m: rivals[m])
        verb = "beats" if models["served"]["mase"] < rivals[best] else "does not beat"
        assert f"JPN: over {report['metrics_h1_5']['n']} held-out forecasts" in report["verdict"]
        assert f"it {verb} the best benchmark, {NAMES[best]}" in report["verdict"]
        assert {"served", "naive", "mean5", "drift", "damped_ets", "theta"} <= set(models)
        assert report["evaluated_on"]["first_scored"] > report["evaluated_on"]["first"]

    def test_a_forecast_and_the_report_name_the_same_best_benchmark_and_verdict(self) -> None:
        # Over all suppliers the served forecast and damped ETS are within 0.01 % of each other: the report calls
        # it a tie, and a forecast's accuracy names the same rival next to the simpler yardstick of the target.
        report = backtest_report(Target("KOR"))
        overall = load_card().summary("KOR", "share")["all_suppliers"]
        rivals = {m: v for m, v in overall["mase_by_model"].items() if m not in ("served", "zero") and v is not None}
        best = min(rivals, key=lambda m: rivals[m])
        assert overall["best_benchmark"] == best and overall["best_benchmark_mase"] == rivals[best]
        assert overall["beats_best_benchmark"] is (overall["mase"] < rivals[best])
        verb = "beats" if overall["beats_best_benchmark"] else "does not beat"
        assert f"all suppliers: over {overall['n']} held-out forecasts" in report["verdict"]
        assert f"it {verb} the best benchmark, {NAMES[best]} ({rivals[best]:.4g}, ratio" in report["verdict"]
        if abs(overall["mase"] / rivals[best] - 1) < 0.01:
            assert "within 1 %: a tie" in report["verdict"].split("all suppliers:")[1]
