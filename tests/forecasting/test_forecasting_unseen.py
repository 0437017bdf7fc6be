"""The served forecast on suppliers and origins it was never evaluated on: generated panels.

The shipped data are one panel; a client's own release, or a reviewer's own suppliers and origins, are
others. Whatever the histories look like (all zeros, constant, one spike, lumpy, rising, starting late,
15 to 45 years long), every supplier's served forecast is finite, its shares add up to 100 % with the rest of
the world, no baseline leaves the plausibility rule, TIV is never negative, and the single-country path
(``fit`` + ``predict``, as ``POST /v1/forecasts`` runs it) gives bounds around the point within [0, 100].
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting.coherent import forecast_panel, interval_scale, plausible_ceiling, reconcile
from forecasting.inputs import ForecastInputs
from forecasting.model import ModelSpec, fit, predict
from forecasting.panel import REST, WORLD, Panel
from forecasting.series import Target

PATTERNS = ("zeros", "constant", "spike", "lumpy", "rising", "late")
CODES = ("AAA", "BBB", "CCC", "DDD", "EEE")


def history(pattern: str, years: int, rng: np.random.Generator) -> dict[int, float]:
    """One supplier's TIV (million) over ``years`` years ending in 2023, shaped by ``pattern``."""
    first = 2024 - years
    t = np.arange(years, dtype=float)
    if pattern == "zeros":
        values = np.zeros(years)
    elif pattern == "constant":
        values = np.full(years, rng.uniform(1, 3000))
    elif pattern == "spike":
        values = np.zeros(years)
        values[rng.integers(0, years)] = rng.uniform(10, 5000)
    elif pattern == "lumpy":
        values = np.where(rng.random(years) < 0.4, 0.0, rng.lognormal(5, 1.5, years))
    elif pattern == "rising":
        values = np.maximum(rng.uniform(1, 50) * np.exp(0.15 * t) + rng.normal(0, 20, years), 0.0)
    else:  # reports only for its last 15-20 years
        start = max(years - int(rng.integers(15, 21)), 0)
        return {first + int(i): float(v) for i, v in enumerate(rng.lognormal(6, 1, years)) if i >= start}
    return {first + int(i): float(v) for i, v in enumerate(values)}


@st.composite
def panels(draw: st.DrawFn) -> Panel:
    years = draw(st.integers(15, 45))
    patterns = draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=len(CODES)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    suppliers = {code: history(p, years, rng) for code, p in zip(CODES, patterns, strict=False)}
    rest = rng.uniform(2_000, 30_000, years)  # the rest of the world keeps the total above the suppliers
    world = {2024 - years + i: float(rest[i]) + sum(s.get(2024 - years + i, 0.0) for s in suppliers.values())
             for i in range(years)}
    return Panel.from_tiv(suppliers, world)


def inputs(panel: Panel, code: str) -> ForecastInputs:
    """What a worker would pass for ``code`` from this panel (no drivers, no policy events)."""
    target = panel.world if code == WORLD else panel.suppliers[code]
    return ForecastInputs(country=code, target_tiv=target, world_tiv=panel.world, drivers={}, policy_events=(),
                          data_version="generated", panel_tiv=panel.suppliers)


SETTINGS = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(panels())
def test_every_generated_panel_gets_a_coherent_bounded_forecast(panel: Panel) -> None:
    pf = forecast_panel(panel, 10)
    shares = np.vstack(list(pf.share.values()))
    assert np.isfinite(shares).all() and (shares >= 0).all() and (shares <= 100).all()
    np.testing.assert_allclose(shares.sum(axis=0), 100.0, atol=1e-6)  # suppliers + rest of the world
    assert (pf.world >= 0).all() and np.isfinite(pf.world).all()
    np.testing.assert_allclose(sum(pf.tiv(c) for c in pf.share), pf.world, rtol=1e-9)
    for code, points in pf.share.items():
        if code == REST:
            continue
        history_ = panel.array(code, "share")[1]
        assert (pf.base_share[code] <= plausible_ceiling(history_) + 1e-9).all(), code
        assert (points <= plausible_ceiling(history_) + 1e-9).all(), code  # reconciliation keeps the rule too
        if not history_.any():  # a supplier that never exported is forecast to export nothing
            assert not points.any(), code


@SETTINGS
@given(panels(), st.sampled_from(("share", "tiv")), st.sampled_from((0.5, 0.8, 0.95)))
def test_the_served_single_country_path_handles_any_generated_supplier(
    panel: Panel, measure: str, width: float
) -> None:
    eligible = [c for c in panel.codes() if c != REST and len(panel.array(c, "share")[1]) >= 15]
    assert eligible  # every generated history has 15+ years, so every example is exercised
    code = eligible[0]
    forecast = predict(fit(inputs(panel, code), ModelSpec(Target(code, measure))), "baseline", 10,
                       interval_width=width)
    assert len(forecast.years) == 10
    for row in forecast.years:
        assert np.isfinite([row.point, row.lower, row.upper]).all()
        assert 0.0 <= row.lower <= row.point <= row.upper
        if measure == "share":
            assert row.upper <= 100.0
    world = predict(fit(inputs(panel, WORLD), ModelSpec(Target(WORLD, "tiv"))), "baseline", 10)
    assert all(0.0 <= r.lower <= r.point <= r.upper for r in world.years)


def test_reconciliation_holds_a_share_at_its_ceiling_and_gives_the_rest_to_the_others() -> None:
    # base shares adding up to 80 %: a common factor of 1.25 would lift AAA (at its 25-year high) past it
    base = {"AAA": np.array([10.0, 4.0]), "BBB": np.array([30.0, 36.0]), REST: np.array([40.0, 40.0])}
    shares, factor = reconcile(base, {"AAA": 10.0, "BBB": 60.0})
    np.testing.assert_allclose(sum(shares.values()), 100.0)
    assert shares["AAA"][0] == 10.0  # held
    assert shares["AAA"][1] == 4.0 * factor[1] <= 10.0  # below its ceiling: scaled as everyone else
    np.testing.assert_allclose(shares["BBB"][0] / shares[REST][0], 30.0 / 40.0)  # the others keep proportions
    assert factor[0] == (100.0 - 10.0) / 70.0


def _panel(suppliers: dict[str, dict[int, float]]) -> Panel:
    years = range(1950, 2024)
    world = {y: 20_000.0 + sum(s.get(y, 0.0) for s in suppliers.values()) for y in years}
    return Panel.from_tiv(suppliers, world)


def test_a_supplier_silent_for_a_generation_is_given_no_width_from_its_distant_past() -> None:
    # the Soviet Union's shape: a third of world exports until 1991, nothing since
    gone = {y: (12_000.0 if y <= 1991 else 0.0) for y in range(1950, 2024)}
    steady = {y: 3_000.0 + 10.0 * (y % 7) for y in range(1950, 2024)}
    panel = _panel({"AAA": gone, "BBB": steady})
    assert interval_scale(panel.array("AAA", "share")[1]) == 0.0
    forecast = predict(fit(inputs(panel, "AAA"), ModelSpec(Target("AAA", "share"))), "baseline", 10, 0.95)
    assert all(r.lower == r.point == r.upper == 0.0 for r in forecast.years)


def test_after_one_large_delivery_an_intermittent_supplier_s_interval_reaches_zero() -> None:
    # Lithuania's shape: a few small deliveries, then one large one in the last year
    spike = {2002: 3.0, 2012: 2.0, 2017: 1.0, 2023: 400.0}
    steady = {y: 3_000.0 + 10.0 * (y % 7) for y in range(1950, 2024)}
    panel = _panel({"AAA": spike, "BBB": steady})
    forecast = predict(fit(inputs(panel, "AAA"), ModelSpec(Target("AAA", "share"))), "baseline", 5, 0.8)
    assert all(r.point > 0 and r.lower == 0.0 for r in forecast.years)  # zero, its usual year, is inside
    regular = predict(fit(inputs(panel, "BBB"), ModelSpec(Target("BBB", "share"))), "baseline", 5, 0.8)
    assert all(r.lower > 0 for r in regular.years)  # a regular exporter's lower bound is calibrated, not 0
