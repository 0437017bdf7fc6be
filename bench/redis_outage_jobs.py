"""Benchmark: how soon the workers consume again after a Redis restart that happened while jobs ran.

The scenario of ``tests/workers/test_workers_outage.py`` (its helper, on real processes): the state Redis with
the compose options, a separate result cache, two ``tivcast worker --concurrency 2``; six forecasts submitted,
the state Redis shut down while four run, started again after the outage; then one new job. Prints, per outage
length, how long after Redis returned the new job was accepted and then claimed, and what became of the six
(deliveries, crashes). Target: claimed within 2 s of Redis returning once a pool process is free, whatever the
outage's length, every job succeeded.

Usage: python bench/redis_outage_jobs.py [--outages 4 60]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.forecasting.conftest import build_inputs  # noqa: E402
from tests.workers.test_workers_outage import outage_while_running, summary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outages", type=float, nargs="+", default=[4.0, 60.0], help="outage lengths, seconds")
    args = parser.parse_args()
    inputs = build_inputs("JPN")
    failed = False
    for outage in args.outages:
        with tempfile.TemporaryDirectory(prefix="tivcast-bench-outage-jobs-") as work:
            outcome, _, _ = outage_while_running(outage, inputs, Path(work), settle=120)
        ok = all(j.state == "succeeded" for j in [*outcome.jobs, outcome.late])
        failed |= not ok
        print(f"{outage:5.0f} s outage: {summary(outcome)}; every job succeeded: {ok}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
