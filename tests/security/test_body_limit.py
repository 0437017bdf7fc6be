"""Request bodies over the limit are a 413 problem, whether their length is declared or they are chunked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Databases
from tests.security.conftest import AUTH, KEY, assert_problem, serve

UPLOAD = "/v1/admin/datasets/arms-exports/releases"
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def client(sqlite: Databases) -> Iterator[TestClient]:
    with serve(sqlite.copy(), admin_api_key=KEY, max_body_bytes=4096, max_upload_bytes=16384, rate_limit=None) as c:
        yield c


def forecast_body(size: int) -> bytes:
    return json.dumps({"target": {"country": "JPN"}, "scenario": "baseline", "pad": "x" * size}).encode()


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


class TestForecasts:
    def test_a_declared_length_over_the_limit(self, client: TestClient) -> None:
        response = client.post("/v1/forecasts", content=forecast_body(5000), headers=JSON)
        body = assert_problem(response, 413)
        assert "4096 bytes" in body["detail"]

    def test_a_chunked_body_is_stopped_once_it_passes_the_limit(self, client: TestClient) -> None:
        data = forecast_body(50_000)
        response = client.post("/v1/forecasts", content=chunks(data), headers=JSON)
        assert "content-length" not in response.request.headers  # really sent chunked
        assert_problem(response, 413)

    def test_under_the_limit_the_body_is_read(self, client: TestClient) -> None:
        response = client.post("/v1/forecasts", content=forecast_body(100), headers=JSON)
        assert_problem(response, 422)  # 'pad' is not a field: read, then refused


class TestUploads:
    def long_csv(self, rows: int) -> bytes:
        years = range(1950, 1950 + rows)
        return ("country_code,year,value\n" + "".join(f"JPN,{y},{y % 97}\n" for y in years)).encode()

    def test_uploads_have_their_own_larger_limit(self, client: TestClient) -> None:
        data = self.long_csv(140)  # about 2 KB
        data += b"".join(f"KOR,{y},1\n".encode() for y in range(1950, 2090))
        data += b"".join(f"CHN,{y},1\n".encode() for y in range(1950, 2090))
        data += b"".join(f"WLD,{y},100\n".encode() for y in range(1950, 2090))  # arms-exports needs its world totals
        assert 4096 < len(data) < 16384
        response = client.post(
            UPLOAD, params={"replace": "true"}, content=data, headers={**AUTH, "Content-Type": "text/csv"}
        )
        assert response.status_code == 201, response.text

    @pytest.mark.parametrize("chunked", [False, True], ids=["declared", "chunked"])
    def test_an_upload_over_its_limit(self, client: TestClient, chunked: bool) -> None:
        data = b"country_code,year,value\n" + b"JPN,2024,1\n" * 2000
        content = chunks(data) if chunked else data
        response = client.post(UPLOAD, content=content, headers={**AUTH, "Content-Type": "text/csv"})
        assert_problem(response, 413)

    def test_a_declared_oversized_body_is_a_413_even_without_the_key(self, client: TestClient) -> None:
        assert_problem(client.post(UPLOAD, content=b"x" * 20000, headers={"Content-Type": "text/csv"}), 413)

    def test_413_is_documented_where_bodies_are_read(self, client: TestClient) -> None:
        paths = client.get("/openapi.json").json()["paths"]
        assert "413" in paths["/v1/forecasts"]["post"]["responses"]
        assert "413" in paths["/v1/admin/datasets/{dataset_id}/releases"]["post"]["responses"]
