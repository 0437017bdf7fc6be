"""A ``source_release`` that names a date must name a real one: ``sipri-2024-13-45`` matches the descriptors'
pattern but is refused (422 naming the line and the column), and nothing is stored. YYYY-MM-DD is a real day;
YYYY-NN is a month when NN is 01-12, else the two-digit end of a year range (``mof-fy2024-25``, ``mtdp-2019-23``),
which must come after its start (``2024-13`` is neither)."""

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


IMPOSSIBLE = {  # name: what the message says is wrong with it
    "sipri-2024-13-45": "the date 2024-13-45, which does not exist",
    "sipri-2023-02-29": "the date 2023-02-29, which does not exist",
    "sipri-2025-04-31": "the date 2025-04-31, which does not exist",
    "sipri-2025-00-10": "the date 2025-00-10, which does not exist",
    "mof-fy2025-06-00-en": "the date 2025-06-00, which does not exist",
    # neither a month (the shipped budget names mof-finance-2024-04) nor a range ending after it starts
    "mof-finance-2024-13": "2024-13, which is neither a month (01-12) nor a year range ending after it starts",
    "mof-finance-2024-00": "2024-00, which is neither a month (01-12) nor a year range ending after it starts",
    "mof-fy2024-24": "2024-24, which is neither a month (01-12) nor a year range ending after it starts",
    "mtdp-2019-19": "2019-19, which is neither a month (01-12) nor a year range ending after it starts",
}
POSSIBLE = [
    "sipri-2024-02-29",  # a leap day
    "sipri-2025-03-10",
    "mof-finance-2024-04",
    "mof-finance-2024-12",
    "mod-wp-2011-en-mirror",
    "mof-fy2024-25",  # fiscal-year and plan ranges: the end's two digits after the start's
    "mtdp-2019-23",
    "mof-fy2024-25-en",
    "plan-2005-13",
]


class TestImpossibleDates:
    @pytest.mark.parametrize("name", IMPOSSIBLE)
    def test_refused_naming_line_column_and_rule(self, fresh_url: str, name: str) -> None:
        before = checksum(fresh_url)
        with pytest.raises(InvalidFile) as refused:
            ingest(fresh_url, budget(name), dataset="japan-defence-budget", replace=True)
        assert (refused.value.line, refused.value.column) == (3, "source_release")
        detail = refused.value.detail
        assert f"source_release {name!r} names {IMPOSSIBLE[name]}" in detail, detail
        assert "YYYY-MM-DD, a real day" in detail and "a month if NN is 01-12" in detail, detail
        assert "a year range whose two-digit end is later than its start" in detail, detail
        assert checksum(fresh_url) == before

    @pytest.mark.parametrize("name", ["sipri-2024-13-45", "mof-finance-2024-13"])  # no day; a range that is none
    def test_the_upload_is_a_422_problem_naming_the_column(self, fresh_url: str, name: str) -> None:
        before = checksum(fresh_url)
        settings = Settings(database_url=fresh_url, admin_api_key=KEY, warm_on_start=False, rate_limit=None)
        with TestClient(create_app(settings)) as client:
            response = client.post(
                "/v1/admin/datasets/japan-defence-budget/releases?replace=true",
                content=budget(name),
                headers=AUTH,
            )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(3, "source_release")]
        assert name in body["detail"]
        assert checksum(fresh_url) == before

    @pytest.mark.parametrize("name", POSSIBLE)
    def test_real_dates_ranges_and_names_without_one_load(self, fresh_url: str, name: str) -> None:
        result = ingest(fresh_url, budget(name), dataset="japan-defence-budget", replace=True)
        assert result.created
