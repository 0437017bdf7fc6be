"""The observations fast path (api/datasets/observations.py) answers exactly as the route does, and leaves every
query it cannot read with certainty, and every error, to the route."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.datasets import observations
from api.datasets.ingest import ingest_file
from api.db import make_engine, transaction
from api.settings import Settings
from api.web.cache import app_state
from tests.conftest import Databases

OBS = "/v1/datasets/arms-exports/observations"
SIPRI_FILE = Path(__file__).parent / "data" / "sipri_exports_2025.csv"
Answer = tuple[int, dict[str, str], bytes]

GOOD = [
    OBS,
    f"{OBS}?country=JPN",
    f"{OBS}?country=JPN,KOR&start=2000&end=2010",
    f"{OBS}?country=kor,all",
    f"{OBS}?country=all&limit=7",
    f"{OBS}?country=JPN,KOR,CHN&start=2000&limit=5",
    f"{OBS}?country=USA,JPN&mrv=3",
    f"{OBS}?country=JPN&format=csv&limit=4",
    f"{OBS}?country=JPN&format=json",
    f"{OBS}?country=JPN&release=sipri-at-2025",
    f"{OBS}?country=JPN&start=2100",
    f"{OBS}?country=JPN,KOR&start=2000&limit=5&cursor=not-a-cursor",
    f"{OBS}?country=JPN&limit=5000",
    f"{OBS}?country=XXX",
    f"{OBS}?country=JP",
    f"{OBS}?country=JPN&start=2010&end=2000",
    f"{OBS}?country=JPN&release=nope",
    "/v1/datasets/nope/observations?country=JPN",
    "/v1/datasets/japan-export-deals/observations",
]
DECLINED = [  # not plainly valid: the fast path leaves them to the route
    f"{OBS}?country=JPN&start=02010",
    f"{OBS}?country=JPN&start=1800",
    f"{OBS}?country=JPN&start=abc",
    f"{OBS}?country=JPN&start=",
    f"{OBS}?country=JPN&limit=0",
    f"{OBS}?country=JPN&mrv=201",
    f"{OBS}?country=JPN&country=KOR",
    f"{OBS}?countries=JPN",
    f"{OBS}?country=JPN&format=xml",
    f"{OBS}?country=JPN&release=a/b",
    f"{OBS}?country={'J' * 2001}",
]


@pytest.fixture(scope="module")
def uncached(databases: Databases) -> Iterator[TestClient]:
    """Response caches off: every request is answered afresh, by the fast path or the route."""
    settings = Settings(database_url=databases.copy(), body_cache_entries=0, warm_on_start=False)
    with TestClient(create_app(settings)) as client:
        yield client


def fetch(client: TestClient, url: str, method: str = "GET", headers: dict[str, str] | None = None) -> Answer:
    response = client.request(method, url, headers=headers)
    kept = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "date")}  # per response
    return response.status_code, kept, response.content


def through_the_route(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(observations, "read_query", lambda dataset_id, items: None)


def counting(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records, per request, whether the fast path read the query."""
    seen: list[bool] = []
    read = observations.read_query

    def spy(dataset_id: str, items: list[tuple[str, str]]) -> observations.ObservationQuery | None:
        query = read(dataset_id, items)
        seen.append(query is not None)
        return query

    monkeypatch.setattr(observations, "read_query", spy)
    return seen


def test_fast_answers_are_the_routes_answers(uncached: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = uncached.get(f"{OBS}?country=JPN,KOR,CHN&start=2000&limit=5").json()
    urls = [
        *GOOD,
        first["links"]["next"],
        first["links"]["last"],
        uncached.get(first["links"]["last"]).json()["links"]["prev"],
    ]
    variants = [("GET", None), ("HEAD", None), ("GET", {"accept": "text/csv"}), ("GET", {"accept": "text/html"})]
    with monkeypatch.context() as patch:
        seen = counting(patch)
        fast = [fetch(uncached, url, method, headers) for url in urls for method, headers in variants]
    assert all(seen) and len(seen) == len(fast)
    with monkeypatch.context() as patch:
        through_the_route(patch)
        routed = [fetch(uncached, url, method, headers) for url in urls for method, headers in variants]
    assert fast == routed
    statuses = {status for status, _, _ in fast}
    assert {200, 404, 406, 422} <= statuses  # answers and errors alike


def test_a_304_is_the_routes_304(uncached: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"{OBS}?country=JPN&limit=3"
    etag = uncached.get(url).headers["etag"]
    last_modified = uncached.get(url).headers["last-modified"]
    conditions = [
        {"if-none-match": etag},
        {"if-none-match": f'W/{etag}, "other"'},
        {"if-modified-since": last_modified},
    ]
    fast = [fetch(uncached, url, headers=h) for h in conditions]
    with monkeypatch.context() as patch:
        through_the_route(patch)
        assert [fetch(uncached, url, headers=h) for h in conditions] == fast
    assert {status for status, _, _ in fast} == {304}


def test_queries_it_cannot_read_at_a_glance_go_to_the_route(
    uncached: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = counting(monkeypatch)
    answers = [fetch(uncached, url) for url in DECLINED]
    assert not any(seen)
    assert answers[0][0] == 200  # the route's validation reads 02010 as 2010
    assert all(status == 422 for status, _, _ in answers[1:])


def test_fast_answers_are_counted_and_logged_under_the_route_template(
    uncached: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    def count() -> float:
        for line in uncached.get("/metrics").text.splitlines():
            if (
                line.startswith('tivcast_http_requests_total{method="GET",')
                and 'route="/v1/datasets/{dataset_id}/observations"' in line
                and 'status="200"' in line
            ):
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    before = count()
    with caplog.at_level("INFO", logger="tivcast.access"):
        assert uncached.get(f"{OBS}?country=JPN").status_code == 200
    assert count() == before + 1
    lines = [r for r in caplog.records if r.name == "tivcast.access"]
    assert lines and lines[-1].route == "/v1/datasets/{dataset_id}/observations"  # type: ignore[attr-defined]


def test_a_new_release_is_served_by_the_fast_path_at_once(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An ingest in this process (the admin upload's path) invalidates the catalogue: the next fast answer is
    the new release's, although its rows were never read before."""
    with TestClient(create_app(Settings(database_url=fresh_url, warm_on_start=False))) as client:
        url = f"{OBS}?country=KOR&start=2020"
        old = client.get(url).json()
        state = client.app.state.tivcast  # type: ignore[attr-defined]
        engine = make_engine(fresh_url)
        try:
            with transaction(engine) as session:
                result = ingest_file(session, "arms-exports", SIPRI_FILE.read_bytes(), origin="new.csv", replace=True)
        finally:
            engine.dispose()
        state.catalog.invalidate()  # what the admin route does after its ingest
        seen = counting(monkeypatch)
        new = client.get(url).json()
        assert seen == [True]
        assert new["release"] == result.release_id != old["release"]
        assert new["version"] != old["version"]


@pytest.mark.parametrize(
    ("host", "server", "scheme", "path"),
    [
        (b"api.example:8000", ("10.0.0.1", 8000), "http", OBS),
        (None, ("10.0.0.1", 80), "http", OBS),
        (None, ("::1", 8443), "https", OBS),
        (None, None, "http", OBS),
        (b"[::1]:8000", ("::1", 8000), "http", OBS),
        (b"bad host:x", ("10.0.0.1", 8000), "http", OBS),
        (b"h#frag", ("10.0.0.1", 8000), "https", "/v1/datasets/a?b#c\\d/observations"),
        (b"h", ("10.0.0.1", 8000), "http", "/v1/datasets/\x00/observations"),
    ],
)
def test_links_are_built_on_the_url_starlette_gives(
    host: bytes | None, server: tuple[str, int] | None, scheme: str, path: str
) -> None:
    from starlette.requests import Request

    headers = [(b"host", host)] if host is not None else []
    scope = {
        "type": "http",
        "scheme": scheme,
        "server": server,
        "path": path,
        "query_string": b"x=1",
        "headers": headers,
    }
    for query in ("country=JPN&release=r", "", "a=%20b"):
        for _ in range(2):  # built, then from the template
            request = Request(scope)
            assert observations._with_query(request, query) == str(request.url.replace(query=query))


def test_the_fast_paths_use_the_state_of_the_app_s_current_lifespan(databases: Databases) -> None:
    """A second lifespan of the same app (a restarted TestClient) gets new caches and engine: the fast paths
    find that state, the one the routes see, never the first one's."""
    app = create_app(Settings(database_url=databases.copy(), warm_on_start=False))
    with TestClient(app) as first:
        assert fetch(first, f"{OBS}?country=JPN")[0] == 200
        before = app.state.tivcast
        assert app_state({"app": app}) is before
    with TestClient(app) as second:
        assert app.state.tivcast is not before and app_state({"app": app}) is app.state.tivcast
        assert fetch(second, f"{OBS}?country=JPN")[0] == 200
    assert app_state({"app": create_app(Settings(database_url=databases.copy()))}) is None  # not started yet
