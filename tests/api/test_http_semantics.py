"""HTTP semantics (issue 11.10): HEAD on every GET route, OPTIONS answered, Last-Modified from the release,
ETag and Cache-Control on the scenarios too."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime

import pytest
from fastapi.testclient import TestClient

GETS = [
    "/v1/datasets",
    "/v1/datasets/arms-exports",
    "/v1/datasets/arms-exports/releases",
    "/v1/datasets/arms-exports/observations?country=JPN",
    "/v1/datasets/arms-exports/download",
    "/v1/datasets/arms-exports/datapackage",
    "/v1/datasets/japan-export-deals/records",
    "/v1/countries",
    "/v1/countries/JPN",
    "/v1/arms-exports/shares?country=JPN",
    "/v1/policy-events",
    "/v1/scenarios",
    "/v1/scenarios/baseline",
    "/healthz",
    "/openapi.json",
    "/",
]
RELEASE_BOUND = GETS[:11]


class TestHead:
    @pytest.mark.parametrize("path", GETS)
    def test_head_is_get_without_the_body(self, client: TestClient, path: str) -> None:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200
        assert head.content == b""
        for name in ("content-type", "etag", "last-modified", "cache-control"):
            assert head.headers.get(name) == get.headers.get(name), name
        if "content-length" in get.headers:
            assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))

    def test_every_get_operation_of_the_openapi_document_answers_head(self, client: TestClient) -> None:
        values = {"dataset_id": "arms-exports", "code": "JPN", "name": "baseline"}
        paths = [p for p, ops in client.get("/openapi.json").json()["paths"].items() if "get" in ops]
        assert len(paths) > 10
        # The forecast routes start computations; HEAD reaches them by the same middleware (tested above).
        data = [p for p in paths if not p.startswith(("/v1/forecasts", "/v1/backtests", "/v1/jobs"))]
        for template in data:
            path = template.format(**values)
            get, head = client.get(path), client.head(path)
            assert head.status_code == get.status_code, template
            assert head.content == b"", template
            assert "HEAD" in client.options(path).headers.get("allow", ""), template

    def test_head_of_an_unknown_thing_is_a_bodiless_404(self, client: TestClient) -> None:
        head = client.head("/v1/datasets/nope")
        assert head.status_code == 404 and head.content == b""

    @pytest.mark.parametrize(
        ("path", "template"),
        [
            ("/v1/countries", "/v1/countries"),
            ("/v1/countries/JPN", "/v1/countries/{code}"),
            ("/v1/datasets/arms-exports/observations?country=KOR", "/v1/datasets/{dataset_id}/observations"),
        ],
    )
    def test_head_is_logged_and_counted_under_its_route_template(
        self, client: TestClient, caplog: pytest.LogCaptureFixture, path: str, template: str
    ) -> None:
        def count() -> float:
            for line in client.get("/metrics").text.splitlines():
                if line.startswith('tivcast_http_requests_total{method="HEAD",') and f'route="{template}"' in line:
                    return float(line.rsplit(" ", 1)[1])
            return 0.0

        before = count()
        with caplog.at_level("INFO", logger="tivcast.access"):
            assert client.head(path).status_code == 200  # first a routed answer, then a replayed one
            assert client.head(path).status_code == 200
        assert count() == before + 2
        lines = [r for r in caplog.records if r.name == "tivcast.access"]
        assert [(r.method, r.route) for r in lines[-2:]] == [("HEAD", template)] * 2  # type: ignore[attr-defined]

    def test_head_revalidates(self, client: TestClient) -> None:
        etag = client.get("/v1/countries").headers["etag"]
        assert client.head("/v1/countries", headers={"If-None-Match": etag}).status_code == 304


class TestOptions:
    @pytest.mark.parametrize(
        ("path", "allow"),
        [
            ("/v1/countries", "GET, HEAD, OPTIONS"),
            ("/v1/datasets/arms-exports/observations", "GET, HEAD, OPTIONS"),
            ("/v1/forecasts", "OPTIONS, POST"),
            ("/healthz", "GET, HEAD, OPTIONS"),
        ],
    )
    def test_options_names_the_methods(self, client: TestClient, path: str, allow: str) -> None:
        response = client.options(path)
        assert response.status_code == 204
        assert response.headers["allow"] == allow
        assert response.content == b""

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/v1/datasets"),
            ("DELETE", "/v1/countries/JPN"),
            ("PUT", "/v1/datasets/arms-exports/observations"),
            ("GET", "/v1/forecasts"),
            ("PATCH", "/healthz"),
        ],
    )
    def test_a_405_allows_what_options_allows(self, client: TestClient, method: str, path: str) -> None:
        response = client.request(method, path)
        assert response.status_code == 405
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["allow"] == client.options(path).headers["allow"]

    def test_options_of_no_route_is_a_404_problem(self, client: TestClient) -> None:
        response = client.options("/v1/nothing-here")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestLastModified:
    @pytest.mark.parametrize("path", RELEASE_BOUND)
    def test_last_modified_is_the_release_load_time(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        modified = parsedate_to_datetime(response.headers["last-modified"])
        loaded = max(
            parsedate_to_datetime(format_datetime(_loaded(r["release"]["loaded_at"]), usegmt=True))
            for r in client.get("/v1/datasets").json()["data"]
        )
        assert modified <= loaded

    def test_it_is_the_release_of_the_dataset(self, client: TestClient) -> None:
        release = client.get("/v1/datasets/arms-exports").json()["release"]
        modified = parsedate_to_datetime(client.get("/v1/datasets/arms-exports/releases").headers["last-modified"])
        assert modified == _loaded(release["loaded_at"]).replace(microsecond=0)

    @pytest.mark.parametrize("path", ["/v1/countries/JPN", "/v1/datasets/arms-exports/download"])
    def test_if_modified_since_gets_a_304(self, client: TestClient, path: str) -> None:
        first = client.get(path)
        modified = first.headers["last-modified"]
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304  # replayed too
        earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
        assert client.get(path, headers={"If-Modified-Since": earlier}).status_code == 200
        # The obsolete forms a recipient must accept (RFC 9110 §5.6.7): RFC 850 and asctime, both GMT
        stamp = parsedate_to_datetime(modified)
        for obsolete in (stamp.strftime("%A, %d-%b-%y %H:%M:%S GMT"), stamp.strftime("%a %b %e %H:%M:%S %Y")):
            assert client.get(path, headers={"If-Modified-Since": obsolete}).status_code == 304, obsolete
        # If-None-Match wins over If-Modified-Since
        both = {"If-Modified-Since": modified, "If-None-Match": '"other"'}
        assert client.get(path, headers=both).status_code == 200


class TestScenarios:
    @pytest.mark.parametrize("path", ["/v1/scenarios", "/v1/scenarios/baseline"])
    def test_etag_cache_control_and_304(self, client: TestClient, path: str) -> None:
        response = client.get(path)
        assert response.headers["etag"] and "max-age" in response.headers["cache-control"]
        assert client.get(path, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
        assert response.json()


def _loaded(text: str):  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
