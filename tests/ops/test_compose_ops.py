"""docker-compose.yml, operations side: migrations run once before the API, and every long-running
tivcast service has a healthcheck that asks the process itself."""

from __future__ import annotations

from typing import Any

import yaml

from tests.test_compose import COMPOSE


def services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_migrate_runs_tivcast_db_upgrade_once_before_the_api() -> None:
    stack = services()
    assert stack["migrate"]["command"] == ["tivcast", "db", "upgrade"]
    assert stack["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert stack["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_the_api_and_the_workers_have_healthchecks() -> None:
    stack = services()
    assert "/healthz" in " ".join(stack["api"]["healthcheck"]["test"])
    assert "is_online" in " ".join(stack["worker"]["healthcheck"]["test"])
