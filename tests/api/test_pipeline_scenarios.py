"""Japan's custom pipeline scenarios over the API: a bad pipeline is a 422 naming the field the client sent
(both modes: embedded and Redis with a real worker)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


def body(pipeline: dict[str, Any]) -> dict[str, Any]:
    return {"target": {"country": "JPN", "measure": "share"}, "horizon": 10, "interval_width": 0.8,
            "scenario": {"name": "x", "pipeline": pipeline}}


@pytest.mark.parametrize(("pipeline", "field", "words"), [
    ({"edits": [{"deal_id": "usa-pac3-mse", "remove": True}, {"deal_id": "usa-pac3-mse", "probability": 0.5}]},
     "scenario.pipeline.edits[1].deal_id", "edited twice"),
    ({"edits": [{"deal_id": "aus-mogami-frigates", "probability": 0.2},
                {"deal_id": "aus-mogami-frigates", "probability": 0.95}]},
     "scenario.pipeline.edits[1].deal_id", "edited twice"),
    ({"edits": [{"deal_id": "kor-kf21", "probability": 0.5}]}, "scenario.pipeline.edits[0].deal_id", "unknown deal"),
    ({"edits": [{"deal_id": "phl-jfps3-radars", "delivery_years": [2021, 2022]}]},
     "scenario.pipeline.edits[0].delivery_years", "observed year"),
    ({"edits": [{"deal_id": "usa-pac3-mse", "delivery_years": [2024]}]},
     "scenario.pipeline.edits[0].delivery_years", "observed year"),
    ({"edits": [{"deal_id": "phl-jfps3-radars", "units": 1}]}, "scenario.pipeline.edits[0].units", "delivered"),
    ({"edits": [{"deal_id": "aus-mogami-frigates", "units": 10000, "tiv_per_unit": 100000}]},
     "scenario.pipeline.edits[0].tiv_per_unit", "bounded"),
    ({"added": [{"deal_id": "x6", "recipient": "NZL", "tiv_per_unit": 100, "delivery_years": [2030],
                 "past_deliveries": {"2024": 50}}]}, "scenario.pipeline.added[0].past_deliveries", "history"),
    ({"added": [{"deal_id": "aus-mogami-frigates", "recipient": "AUS", "tiv_per_unit": 100,
                 "delivery_years": [2030]}]}, "scenario.pipeline.added[0].deal_id", "catalogue"),
    ({"added": [{"deal_id": "x1", "recipient": "NZL", "tiv_per_unit": 100, "delivery_years": [2070]}]},
     "scenario.pipeline.added[0].delivery_years", "longest horizon"),
    ({"added": [{"deal_id": "x1", "recipient": "NZL", "tiv_per_unit": 1, "delivery_years": [2030],
                 "colour": "red"}]}, "scenario.pipeline.added[0].colour", "unknown field"),
])
def test_a_bad_pipeline_is_a_422_naming_the_field_sent(forecast_client: TestClient, pipeline: dict[str, Any],
                                                        field: str, words: str) -> None:
    response = forecast_client.post("/v1/forecasts", json=body(pipeline))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [field], errors
    assert words in response.json()["detail"] + " ".join(e.get("message", "") for e in errors)
