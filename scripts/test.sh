#!/usr/bin/env bash
# The test command (README): installs everything into .venv, then runs the static checks and the suite.
# Needs PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`) for the PostgreSQL half of the suite;
# override with TIVCAST_TEST_POSTGRES_URL.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
# tests/api/test_generated_client.py generates a client from the served OpenAPI document with openapi-python-client,
# run from a venv of its own (installed into .venv it would downgrade typer, a dependency of tivcast). Pinned: another
# version generates other code.
OPENAPI_CLIENT_VERSION=0.29.1
OPENAPI_CLIENT_VENV=.venv/tools/openapi-client
if [ "$("$OPENAPI_CLIENT_VENV/bin/openapi-python-client" --version 2>/dev/null)" != \
     "openapi-python-client version: $OPENAPI_CLIENT_VERSION" ]; then
    echo "== installing openapi-python-client $OPENAPI_CLIENT_VERSION into $OPENAPI_CLIENT_VENV"
    "$PYTHON" -m venv --clear "$OPENAPI_CLIENT_VENV"
    "$OPENAPI_CLIENT_VENV/bin/python" -m pip install --quiet --upgrade pip
    "$OPENAPI_CLIENT_VENV/bin/python" -m pip install --quiet "openapi-python-client==$OPENAPI_CLIENT_VERSION"
fi
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy (strict) forecasting workers api"; .venv/bin/mypy forecasting workers api
echo "== import contracts"; .venv/bin/lint-imports
if ! command -v chromium >/dev/null 2>&1; then  # the dashboard's browser tests drive Debian's chromium
    echo "== installing chromium (apt-get)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# The browser tests run in a pytest process of their own: Playwright's sync API keeps an asyncio loop
# running in its process, which would break later asyncio.run() calls of other tests sharing that worker.
echo "== pytest"; .venv/bin/pytest -n 2 --ignore=tests/dashboard "$@"
echo "== pytest (dashboard, headless chromium)"; .venv/bin/pytest tests/dashboard -n 0 "$@"
