"""docker-compose.yml: valid against the Compose Specification, and runs the same CLI the tests run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from typer.main import get_command

from api.cli import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"


def test_compose_file_is_valid_against_the_compose_schema() -> None:
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_tivcast_service_runs_a_real_tivcast_command() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    built = {name: s for name, s in services.items() if s.get("build")}
    assert {"api", "worker", "beat"} <= set(built)
    for name, service in built.items():
        command = service["command"]
        assert command[0] == "tivcast", name
        assert command[1] in commands, f"{name}: 'tivcast {command[1]}' is not a CLI command"


def redis_option(service: str, option: str) -> str:
    """The value of ``--option`` in a Redis service's command (tests/ops runs its Redis servers with it)."""
    command = yaml.safe_load(COMPOSE.read_text())["services"][service]["command"]
    return str(command[command.index(f"--{option}") + 1])


def test_the_stack_has_its_backing_services_with_healthchecks() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("postgres", "redis", "redis-cache"):
        assert services[name]["healthcheck"]["test"], name


def test_each_redis_role_has_its_memory_policy() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    env = services["api"]["environment"]
    assert services["worker"]["environment"] == env
    # Broker and job state: nothing accepted is ever evicted, and it survives a restart.
    assert env["TIVCAST_REDIS_URL"].startswith("redis://redis:")
    assert (redis_option("redis", "maxmemory-policy"), redis_option("redis", "appendonly")) == ("noeviction", "yes")
    # Results: an evicting cache, not persisted.
    assert env["TIVCAST_CACHE_REDIS_URL"].startswith("redis://redis-cache:")
    assert redis_option("redis-cache", "maxmemory-policy") == "allkeys-lru"
    assert redis_option("redis-cache", "appendonly") == "no"


def test_long_running_services_restart_and_counters_stay_off_the_state_instance() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name, service in services.items():
        expected = "no" if name == "migrate" else "unless-stopped"  # migrate is a one-shot job
        assert service.get("restart") == expected, name
    # Rate-limit counters must not take the room kept for accepted jobs on the noeviction instance.
    assert services["api"]["environment"]["TIVCAST_RATE_LIMIT_STORAGE_URL"].startswith("redis://redis-cache:")


def test_beat_keeps_its_schedule_where_the_image_user_may_write() -> None:
    command = yaml.safe_load(COMPOSE.read_text())["services"]["beat"]["command"]
    schedule = command[command.index("--schedule") + 1]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "USER tivcast" in dockerfile and "useradd --create-home tivcast" in dockerfile
    assert schedule.startswith("/home/tivcast/"), schedule  # WORKDIR /app is root's
