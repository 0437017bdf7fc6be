"""Schemathesis against the app's own OpenAPI document, in process, with every one of its default checks.

What ``schemathesis run`` does (examples, coverage, fuzzing and stateful phases), through its engine, on
the embedded mode over a seeded SQLite copy. The admin key is sent, so the admin routes are exercised for
real (schemathesis's ``ignored_auth`` check also replays them without and with a wrong key). One check is
tuned, not disabled: ``positive_data_acceptance`` also accepts 422, because some rules cannot be written in
JSON Schema and the API enforces them with a 422 naming the field: start <= end, a custom scenario's
content, a scenario that applies to Japan only, the contents of an uploaded file, a table dataset asked for
observations. Every other status must be declared for its operation (``status_code_conformance``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.python import asgi

import api
from api.app import create_app
from api.settings import Settings
from tests.conftest import Databases
from workers.settings import WorkerSettings

ADMIN_KEY = "fuzz-admin-key-0123456789abcdef"
MAX_EXAMPLES = 50  # per operation and phase: about 2,000 cases in all
MIN_CASES = 1_000
LEAKS = ("Traceback", 'File "', "site-packages", str(Path(api.__file__).parent))
POSITIVE_OK = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]  # schemathesis's default + 422


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    database = Databases("sqlite", tmp_path_factory.mktemp("fuzz")).copy()
    settings = Settings(database_url=database, warm_on_start=False, admin_api_key=ADMIN_KEY, rate_limit="100000/minute")
    yield create_app(settings, WorkerSettings(redis_url=None, embedded_workers=1))
    asgi.shutdown_lifespans()  # schemathesis started the app's lifespan; stop it (pool, connections)


def config(report: Path) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": 20260601,
            "cache": {"enabled": False},
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            "headers": {"Authorization": f"Bearer {ADMIN_KEY}"},
            "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_OK}},
            "reports": {"directory": str(report)},
        }
    )


def test_every_operation_survives_schemathesis_with_all_default_checks(app: FastAPI, tmp_path: Path) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config(tmp_path))
    operations = {f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items() for method in item}
    cases: Counter[str] = Counter()
    checks: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    problems: list[str] = []
    leaks: list[str] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            cases[recorder.label] += len(recorder.cases)
            # An operation may have no examples to replay, and a stateful scenario no step; nothing else skips.
            skipped = event.status == Status.SKIP and event.skip_reason not in (None, "No examples in schema")
            if skipped or event.status in (Status.ERROR, Status.INTERRUPTED):
                problems.append(f"{event.phase} {recorder.label}: {event.status} {event.skip_reason}")
            for nodes in recorder.checks.values():
                for node in nodes:
                    checks[node.name] += 1
                    if node.failure_info is not None:
                        failures.append(f"{recorder.label} {node.name}:\n{node.failure_info.code_sample}")
            for interaction in recorder.interactions.values():
                if interaction.response is not None:
                    statuses[interaction.response.status_code] += 1
                    body = (interaction.response.content or b"").decode("utf-8", "replace")
                    leaks += [f"{recorder.label}: {leak}" for leak in LEAKS if leak in body]
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"{type(event).__name__}: {getattr(event, 'info', None) or event}")
    total = sum(cases.values())
    print(f"schemathesis: {total} cases; statuses {dict(sorted(statuses.items()))}; checks {dict(checks)}")  # noqa: T201
    assert not failures, "\n\n".join(failures[:10])
    assert not problems, problems
    assert not leaks, leaks[:10]  # no response carries a traceback or a server path
    assert total >= MIN_CASES, cases
    assert operations <= set(cases), f"operations never exercised: {operations - set(cases)}"
    assert {"not_a_server_error", "status_code_conformance", "response_schema_conformance",
            "response_headers_conformance"} <= set(checks)  # the headers the document declares (required) are sent
    assert statuses[500] == 0


DATA = {200, 304, 404, 422, 503}  # conditional GETs: ETag/304, unknown ids, bad parameters, database away
JOBS = {200, 202, 304, 404, 413, 422, 503}
CAN_RETURN = {
    "GET /v1/datasets": DATA,
    "GET /v1/datasets/{dataset_id}": DATA,
    "GET /v1/datasets/{dataset_id}/releases": DATA,
    "GET /v1/datasets/{dataset_id}/observations": DATA,
    "GET /v1/datasets/{dataset_id}/records": DATA,
    "GET /v1/countries": DATA,
    "GET /v1/countries/{code}": DATA,
    "GET /v1/arms-exports/shares": DATA,
    "GET /v1/policy-events": DATA,
    "GET /v1/scenarios/{name}": {200, 404, 422},
    "POST /v1/forecasts": JOBS | {429},
    "GET /v1/forecasts/latest": JOBS,
    "GET /v1/forecasts/compare": JOBS,
    "GET /v1/forecasts/{key}": JOBS,
    "GET /v1/jobs/{key}": {200, 404, 413, 422, 503},  # the job document itself: no 202, no ETag
    "GET /v1/backtests": JOBS,
    "POST /v1/admin/datasets/{dataset_id}/releases": {200, 201, 401, 404, 409, 413, 415, 422, 429, 503},
    "POST /v1/admin/cache/warm": {202, 401, 404, 429, 503},
    "POST /v1/admin/cache/purge": {200, 401, 404, 429},
}


def test_every_status_an_operation_can_return_is_declared() -> None:
    """The fuzz sees the statuses it provokes; this covers the rest (304, 413, 429, 503 by design)."""
    spec = create_app(Settings(admin_api_key=ADMIN_KEY)).openapi()
    declared = {
        f"{method.upper()} {path}": {int(status) for status in operation["responses"]}
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }
    missing = {op: sorted(statuses - declared[op]) for op, statuses in CAN_RETURN.items() if statuses - declared[op]}
    assert not missing
