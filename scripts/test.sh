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
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy (strict) forecasting workers"; .venv/bin/mypy forecasting workers
echo "== import contracts"; .venv/bin/lint-imports
echo "== pytest"; .venv/bin/pytest -n 2 "$@"
