"""A ``source_release`` that names a date must name a real day (or month): ``sipri-2024-13-45`` matches the
descriptors' pattern but is refused (422 naming the line and the column), and nothing is stored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import InvalidFile
from api.settings import Settings
from tests.helpers import checksum, ingest

HEADER = "country_code,year,value,flag,source_release\n"
KEY = "d" * 32
AUTH = {"Authorization": f"Bearer {KEY}", "Content-Type": "text/csv"}


def budget(name: str) -> bytes:
    """A file of the Japan budget series (one country, no world total) whose second row names ``name``."""
    return f"{HEADER}JPN,2023,68219,,mod-wp-2023\nJPN,2024,77249,,{name}\n".encode()


IMPOSSIBLE = [
    "sipri-2024-13-45",
    "sipri-2023-02-29",
    "sipri-2025-04-31",
    "sipri-2025-00-10",
    "mof-fy2025-06-00-en",
    "mof-finance-2024-13",  # a month: the shipped budget names mof-finance-2024-04
]


class TestImpossibleDates:
    @pytest.mark.parametrize("name", IMPOSSIBLE)
    def test_refused_naming_line_and_column(self, fresh_url: str, name: str) -> None:
        before = checksum(fresh_url)
        with pytest.raises(InvalidFile) as refused:
            ingest(fresh_url, budget(name), dataset="japan-defence-budget", replace=True)
        assert (refused.value.line, refused.value.column) == (3, "source_release")
        assert repr(name) in refused.value.detail and "does not exist" in refused.value.detail
        assert checksum(fresh_url) == before

    def test_the_upload_is_a_422_problem_naming_the_column(self, fresh_url: str) -> None:
        before = checksum(fresh_url)
        settings = Settings(database_url=fresh_url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
        with TestClient(create_app(settings)) as client:
            response = client.post(
                "/v1/admin/datasets/japan-defence-budget/releases?replace=true",
                content=budget("sipri-2024-13-45"),
                headers=AUTH,
            )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, "source_release")]
        assert "2024-13-45" in body["detail"]
        assert checksum(fresh_url) == before

    @pytest.mark.parametrize(
        "name", ["sipri-2024-02-29", "sipri-2025-03-10", "mof-finance-2024-04", "mod-wp-2011-en-mirror"]
    )
    def test_real_dates_and_names_without_one_load(self, fresh_url: str, name: str) -> None:
        result = ingest(fresh_url, budget(name), dataset="japan-defence-budget", replace=True)
        assert result.created
