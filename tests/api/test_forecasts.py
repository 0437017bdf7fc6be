"""The forecast contract, run in both modes: embedded (in-process) and Redis with a real Celery worker."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

JAPAN = {"target": {"country": "JPN", "measure": "share"}, "scenario": "baseline"}


def wait_for(client: TestClient, key: str, timeout: float = 90) -> dict[str, Any]:
    """Poll the job until it finishes; fail with its last state otherwise."""
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/v1/jobs/{key}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["state"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {key} did not finish: {job}")


def computed(client: TestClient, response: Any) -> Any:
    """Follow a 202 to the finished result."""
    if response.status_code == 202:
        key = response.headers["location"].rsplit("/", 1)[1]
        assert wait_for(client, key)["state"] == "succeeded"
        response = client.get(f"/v1/forecasts/{key}")
    assert response.status_code == 200, response.text
    return response


class TestScenarios:
    def test_catalogue_has_the_built_in_scenarios(self, forecast_client: TestClient) -> None:
        body = forecast_client.get("/v1/scenarios").json()
        names = {s["name"] for s in body["data"]}
        assert {"baseline", "liberalisation", "restriction", "demand-surge"} <= names
        assert all(s["description"] and (s["drivers"] or s["changes"] or s["pipeline"]) for s in body["data"])
        restriction = next(s for s in body["data"] if s["name"] == "restriction")
        assert restriction["pipeline"]["prospects"] == "none"

    def test_unknown_scenario_is_a_404(self, forecast_client: TestClient) -> None:
        response = forecast_client.get("/v1/scenarios/utopia")
        assert response.status_code == 404 and "utopia" in response.json()["detail"]


class TestSubmitPollResult:
    def test_submit_poll_fetch_and_revalidate(self, forecast_client: TestClient) -> None:
        client = forecast_client
        first = client.post("/v1/forecasts", json=JAPAN)
        assert first.status_code in (200, 202)
        key = first.headers["location"].rsplit("/", 1)[1] if first.status_code == 202 else first.json()["key"]
        if first.status_code == 202:
            job = first.json()
            assert job["state"] in ("queued", "running") and job["links"]["result"] == f"/v1/forecasts/{key}"
            assert first.headers["retry-after"]
        result = computed(client, first)
        assert result.headers["etag"] == f'"{key}"'
        assert "immutable" in result.headers["cache-control"]
        body = result.json()
        assert body["key"] == key and body["model_version"] and body["data_version"].startswith("data-")
        assert any(n.startswith("Data releases used: arms-exports release ") for n in body["notes"])
        rows = body["forecast"]
        # JPN's pipeline point may lie outside its interval (each year says so in pipeline.by_year); not on these 10
        assert len(rows) == 10 and all(0 <= r["lo-80"] <= r["hi-80"] <= 100 for r in rows)
        assert [r["lo-80"] <= r["point"] <= r["hi-80"] for r in rows] == \
            [y["point_inside_interval"] for y in body["pipeline"]["by_year"]]
        assert client.get(f"/v1/forecasts/{key}", headers={"If-None-Match": f'"{key}"'}).status_code == 304

        again = client.post("/v1/forecasts", json=JAPAN)
        assert again.status_code == 200 and again.json()["key"] == key

        latest = client.get("/v1/forecasts/latest", params={"country": "JPN", "scenario": "baseline"})
        assert latest.status_code == 200 and latest.headers["etag"] == f'"{key}"'
        assert latest.headers["cache-control"] == "no-cache"
        revalidated = client.get("/v1/forecasts/latest", params={"country": "JPN", "scenario": "baseline"},
                                 headers={"If-None-Match": f'"{key}"'})
        assert revalidated.status_code == 304

    def test_a_result_in_memory_still_validates_its_query_and_accept(self, forecast_client: TestClient) -> None:
        key = computed(forecast_client, forecast_client.post("/v1/forecasts", json=JAPAN)).json()["key"]
        url = f"/v1/forecasts/{key}"
        assert forecast_client.get(url).status_code == 200  # now held in memory, answered before routing
        unknown = forecast_client.get(f"{url}?format=csv")
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "format"
        for headers in ({"Accept": "text/csv"}, {"Accept": "image/png", "If-None-Match": f'"{key}"'}):
            refused = forecast_client.get(url, headers=headers)
            assert refused.status_code == 406 and refused.headers["content-type"] == "application/problem+json"
        assert forecast_client.get(url, headers={"If-None-Match": f'"{key}"'}).status_code == 304

    def test_compare_gives_side_by_side_and_differences(self, forecast_client: TestClient) -> None:
        params = {"country": "JPN", "scenarios": "baseline,liberalisation,restriction", "horizon": 5}
        response = computed(forecast_client, forecast_client.get("/v1/forecasts/compare", params=params))
        body = response.json()
        assert list(body["forecasts"]) == ["baseline", "liberalisation", "restriction"]
        assert len(body["comparison"]) == 5
        restriction = body["forecasts"]["restriction"]["forecast"]
        assert all("difference_from_baseline" in row for row in restriction)
        assert any(row["difference_from_baseline"]["point"] < 0 for row in restriction)

    def test_idempotency_key(self, forecast_client: TestClient) -> None:
        headers = {"Idempotency-Key": f"k-{time.time_ns()}"}
        one = forecast_client.post("/v1/forecasts", json={**JAPAN, "horizon": 3}, headers=headers)
        two = forecast_client.post("/v1/forecasts", json={**JAPAN, "horizon": 3}, headers=headers)
        assert one.status_code in (200, 202) and two.status_code in (200, 202)
        other = forecast_client.post("/v1/forecasts", json={**JAPAN, "horizon": 4}, headers=headers)
        assert other.status_code == 422 and other.json()["errors"][0]["field"] == "Idempotency-Key"


class TestBadRequests:
    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**JAPAN, "horizon": 45}, "horizon"),
            ({**JAPAN, "interval_width": 1.5}, "interval_width"),
            ({**JAPAN, "colour": "red"}, "colour"),
            ({**JAPAN, "scenarios": ["baseline"]}, "scenarios"),
            ({**JAPAN, "scenario": "utopia"}, "scenario"),
            ({**JAPAN, "scenario": {"name": "x", "base": "baseline",
                                    "changes": [{"driver": "moon_phase", "op": "set", "value": 1, "from_year": 2026}]}},
             "scenario"),
        ],
    )
    def test_422_names_the_field(self, forecast_client: TestClient, body: dict[str, Any], field: str) -> None:
        response = forecast_client.post("/v1/forecasts", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert any(field in e["field"] for e in response.json()["errors"]), response.json()

    def test_unknown_country_is_a_404(self, forecast_client: TestClient) -> None:
        response = forecast_client.post("/v1/forecasts", json={**JAPAN, "target": {"country": "QQQ"}})
        assert response.status_code == 404 and "QQQ" in response.json()["detail"]

    def test_unknown_key_is_a_404(self, forecast_client: TestClient) -> None:
        assert forecast_client.get(f"/v1/forecasts/{'0' * 64}").status_code == 404
        assert forecast_client.get(f"/v1/jobs/{'0' * 64}").status_code == 404

    def test_a_malformed_key_is_a_422(self, forecast_client: TestClient) -> None:
        assert forecast_client.get("/v1/jobs/not-a-key").status_code == 422


def custom(**parts: Any) -> dict[str, Any]:
    return {"target": {"country": "JPN"}, "scenario": {"name": "strict-numbers", **parts}}


MOGAMI = "aus-mogami-frigates"


class TestStrictNumbers:
    """A number in the body is a JSON number: a bool or a string is a 422 naming the field, never coerced
    (``"horizon": true`` was stored as horizon 1, ``"horizon": "10"`` as 10)."""

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**JAPAN, "horizon": True}, "horizon"),
            ({**JAPAN, "horizon": "10"}, "horizon"),
            ({**JAPAN, "horizon": 10.5}, "horizon"),
            ({**JAPAN, "interval_width": True}, "interval_width"),
            ({**JAPAN, "interval_width": "0.8"}, "interval_width"),
            ({**JAPAN, "history_window": {"start": "1990"}}, "history_window.start"),
            ({**JAPAN, "history_window": {"end": True}}, "history_window.end"),
            (custom(pipeline={"edits": [{"deal_id": MOGAMI, "units": True}]}), "scenario.pipeline.edits[0].units"),
            (custom(pipeline={"edits": [{"deal_id": MOGAMI, "probability": "1"}]}),
             "scenario.pipeline.edits[0].probability"),
            (custom(pipeline={"edits": [{"deal_id": MOGAMI, "delivery_years": ["2030"]}]}),
             "scenario.pipeline.edits[0].delivery_years[0]"),
            (custom(pipeline={"probability_shift": True}), "scenario.pipeline.probability_shift"),
            (custom(pipeline={"elasticity": "1"}), "scenario.pipeline.elasticity"),
            (custom(settings={"uncertainty_samples": True}), "scenario.settings.uncertainty_samples"),
            (custom(settings={"changepoint_prior_scale": "0.1"}), "scenario.settings.changepoint_prior_scale"),
            (custom(settings={"cap": True}), "scenario.settings.cap"),
            (custom(known_deliveries={"2030": "5"}), "scenario.known_deliveries[2030]"),
        ],
    )
    def test_a_bool_or_a_string_is_a_422_naming_the_field(
        self, forecast_client: TestClient, body: dict[str, Any], field: str
    ) -> None:
        response = forecast_client.post("/v1/forecasts", json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == [field], response.json()

    def test_a_refused_body_stores_nothing(self, forecast_client: TestClient) -> None:
        """The 422 comes before any job or Idempotency-Key is kept: the key is still free for the real body."""
        key = f"strict-{time.time_ns()}"
        bad = forecast_client.post("/v1/forecasts", json={**JAPAN, "horizon": True}, headers={"Idempotency-Key": key})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "horizon"
        good = forecast_client.post("/v1/forecasts", json={**JAPAN, "horizon": 4}, headers={"Idempotency-Key": key})
        assert good.status_code in (200, 202), good.text
        assert (good.json().get("summary") or good.json()["request"])["horizon"] == 4

    def test_nan_interval_width_must_be_finite(self, forecast_client: TestClient) -> None:
        body = '{"target": {"country": "JPN"}, "scenario": "baseline", "interval_width": NaN}'
        response = forecast_client.post("/v1/forecasts", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "interval_width" and "finite number" in error["message"]

    def test_a_json_integer_is_still_a_number(self, forecast_client: TestClient) -> None:
        """A strict float takes a JSON integer: ``1`` for interval_width is refused by its bound (< 1), not its
        type, and an integer prior scale is a forecast."""
        response = forecast_client.post("/v1/forecasts", json={**JAPAN, "interval_width": 1})
        assert response.status_code == 422
        assert "less than 1" in response.json()["errors"][0]["message"], response.json()
        accepted = forecast_client.post("/v1/forecasts", json=custom(settings={"changepoint_prior_scale": 1}))
        assert accepted.status_code in (200, 202), accepted.text


class TestBacktests:
    def test_backtest_reports_the_served_model_against_every_benchmark(self, forecast_client: TestClient) -> None:
        response = computed(forecast_client, forecast_client.get("/v1/backtests", params={"country": "KOR"}))
        body = response.json()
        assert set(body["metrics_h1_5"]["models"]) >= {"served", "naive", "mean5", "drift", "damped_ets", "theta"}
        assert "KOR: over" in body["verdict"] and "best benchmark" in body["verdict"]
        assert body["evaluated_on"]["is_the_data_served"] is True  # the shipped data is what was evaluated
        assert all(0.75 <= h["measured_80"] <= 0.85 for h in body["interval_calibration"].values())

    def test_the_world_total_and_tiv_targets_are_scored_in_tiv(self, forecast_client: TestClient) -> None:
        world = computed(forecast_client, forecast_client.get(
            "/v1/backtests", params={"country": "WLD", "measure": "tiv"})).json()
        assert world["evaluated_measure"] == "tiv" and world["verdict"].startswith("WLD: over")
        assert {"served", "naive", "mean5", "drift", "damped_ets", "theta"} <= set(world["metrics_h1_5"]["models"])
        korea = computed(forecast_client, forecast_client.get(
            "/v1/backtests", params={"country": "KOR", "measure": "tiv"})).json()
        assert korea["evaluated_measure"] == "tiv"
        assert korea["metrics_h1_5"]["models"]["served"]["mae"] > 1  # TIV million, not percentage points
        forecast = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "WLD", "measure": "tiv"})).json()
        accuracy = forecast["model"]["accuracy"]
        assert accuracy["measure"] == "tiv"
        assert accuracy["this_supplier"]["mase"] == world["metrics_h1_5"]["models"]["served"]["mase"]
        assert accuracy["interval_calibration"] == world["interval_calibration"]

    def test_an_as_of_forecast_is_calibrated_on_the_errors_known_by_its_history_end(
        self, forecast_client: TestClient
    ) -> None:
        body = {"target": {"country": "KOR", "measure": "share"}, "scenario": "baseline", "horizon": 5}
        as_of = computed(forecast_client, forecast_client.post(
            "/v1/forecasts", json={**body, "history_window": {"end": 2000}})).json()
        assert [r["year"] for r in as_of["forecast"]] == [2001, 2002, 2003, 2004, 2005]
        errors = as_of["model"]["interval_errors"]
        assert errors["known_by"] == 2000 and errors["as_of_history_end"] is True and "2000" in errors["note"]
        full = computed(forecast_client, forecast_client.post("/v1/forecasts", json=body)).json()
        assert full["model"]["interval_errors"]["as_of_history_end"] is False
        assert full["model"]["interval_errors"]["known_by"] > 2000 and full["model"]["interval_errors"]["note"] is None

    def test_a_forecast_names_its_members_accuracy_and_calibration(self, forecast_client: TestClient) -> None:
        response = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "JPN", "scenario": "baseline"}))
        model = response.json()["model"]
        assert model["members"]["prophet"]["weight"] > 0
        assert model["evaluated_on_these_data"] is True
        assert model["accuracy"]["this_supplier"]["best_simple_benchmark"] in ("naive", "mean5")
        assert model["accuracy"]["interval_calibration"]["1"]["nominal_80"] == 0.8
        assert "without the pipeline" in model["accuracy"]["what_was_scored"]  # Japan's deals have no held-out score
        korea = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "KOR", "scenario": "baseline"})).json()["model"]["accuracy"]
        # Korea's served share makes room for Japan's deals, a step the evaluation cannot score, and says so.
        assert korea["what_was_scored"].startswith("this forecast's statistical base, made as served, before the room")


class TestCoherentForecasts:
    def test_the_world_total_is_a_target_and_supplier_tivs_are_shares_of_it(self, forecast_client: TestClient) -> None:
        world = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "WLD", "measure": "tiv"})).json()
        japan = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "JPN", "measure": "tiv"})).json()
        share = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "JPN", "measure": "share"})).json()
        for w, t, s in zip(world["forecast"], japan["forecast"], share["forecast"], strict=True):
            assert t["point"] == pytest.approx(s["point"] * w["point"] / 100, rel=1e-5)

    def test_the_world_has_no_share(self, forecast_client: TestClient) -> None:
        response = forecast_client.get("/v1/forecasts/latest", params={"country": "WLD"})
        assert response.status_code == 422
        assert "100 %" in response.json()["detail"]

    def test_separately_requested_suppliers_add_up_with_the_rest(self, forecast_client: TestClient) -> None:
        first = computed(forecast_client, forecast_client.get("/v1/forecasts/latest", params={"country": "JPN"}))
        coherence = first.json()["model"]["coherence"]
        assert coherence["suppliers"] >= 25  # every shipped supplier with enough history, plus the rest
        usa = computed(forecast_client, forecast_client.get("/v1/forecasts/latest", params={"country": "USA"}))
        assert usa.json()["model"]["coherence"]["factor"] == coherence["factor"]  # one reconciliation for all
        # and one room made for Japan's deal pipeline, which the API passes to every supplier's forecast
        room = usa.json()["model"]["coherence"]["pipeline_room"]
        assert room == coherence["pipeline_room"] and min(room["factor"]) < 0.995


class TestJapanPipeline:
    def test_the_pipeline_is_a_served_dataset(self, forecast_client: TestClient) -> None:
        body = forecast_client.get("/v1/datasets/japan-export-pipeline/records").json()
        deals = {r["deal_id"]: r for r in body["data"]}
        assert deals["phl-jfps3-radars"]["status"] == "delivering"
        assert "tivcast assumption" in deals["aus-mogami-frigates"]["source_tiv_per_unit"]

    def test_japan_s_forecast_shows_its_deals_breakdown_and_assumptions(self, forecast_client: TestClient) -> None:
        body = computed(forecast_client, forecast_client.get(
            "/v1/forecasts/latest", params={"country": "JPN", "scenario": "liberalisation"})).json()
        section = body["pipeline"]
        assert {d["deal_id"] for d in section["deals"]} >= {"phl-jfps3-radars", "usa-pac3-mse", "aus-mogami-frigates"}
        for row, year in zip(section["breakdown"], body["forecast"], strict=True):
            assert row["total"] == pytest.approx(year["difference_from_baseline"]["point"], rel=1e-4, abs=1e-9)
        assert any(a["tivcast_own"] for a in section["assumptions"] if "tivcast_own" in a)

    def test_a_custom_deal_edit_is_computed_and_a_bad_one_is_a_422(self, forecast_client: TestClient) -> None:
        good = {"target": {"country": "JPN"}, "scenario": {"name": "signed", "pipeline": {
            "edits": [{"deal_id": "aus-mogami-frigates", "probability": 1.0}]}}}
        result = computed(forecast_client, forecast_client.post("/v1/forecasts", json=good)).json()
        assert next(d for d in result["pipeline"]["deals"]
                    if d["deal_id"] == "aus-mogami-frigates")["scenario_probability"] == 1.0
        for edit, field in (({"deal_id": "aus-mogami-frigates", "probability": 2}, "probability"),
                            ({"deal_id": "no-such-deal", "units": 2}, "no-such-deal")):
            bad = {"target": {"country": "JPN"}, "scenario": {"name": "bad", "pipeline": {"edits": [edit]}}}
            response = forecast_client.post("/v1/forecasts", json=bad)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith("application/problem+json")
            assert field in response.text
