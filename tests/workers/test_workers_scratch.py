"""Temporary files on real workers: each worker writes only under its own root, sweeps what a killed
pool child or a killed predecessor left there, and removes the root when it stops."""

from __future__ import annotations

from pathlib import Path

from forecasting import ForecastInputs
from tests.services import SHARED_REDIS_URL, CeleryWorker, wait_for
from tests.workers.conftest import japan_forecast, settings_for, with_hook
from tests.workers.test_workers_failures import job_in, submit


def tree(root: Path) -> set[str]:
    """Every path under ``root``, relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")} if root.exists() else set()


def child_dirs(worker: CeleryWorker) -> set[str]:
    return {p.name for p in worker.temp_root.glob("child-*")}


def test_a_killed_childs_files_are_swept_and_the_root_goes_with_the_worker(
    prefix: str, tmp_path: Path, japan_inputs: ForecastInputs
) -> None:
    settings = settings_for(prefix)
    worker = CeleryWorker(SHARED_REDIS_URL, prefix, log_dir=tmp_path, env={"TIVCAST_HEARTBEAT_SECONDS": "1"})
    # What a killed worker of the same node name left behind, before this one starts.
    leftover = worker.temp_root / "child-999999" / "tivcast-prophet-leftover"
    leftover.mkdir(parents=True)
    (leftover / "prophet_model-output.csv").write_text("lp__\n")
    with worker:
        assert not leftover.parent.exists()  # emptied at start
        assert set(worker.tmp_base.iterdir()) == {worker.temp_root}  # the worker writes nowhere else

        done = submit(settings, japan_forecast(japan_inputs, horizon=3))
        assert job_in(settings, done.key, ("succeeded", "failed"), 60).state == "succeeded"
        [first] = child_dirs(worker)
        assert first == f"child-{worker.children()[0]}"

        spec = with_hook(japan_forecast(japan_inputs, horizon=4), sleep=3)
        submit(settings, spec)
        job_in(settings, spec.key, ("running",), 20)
        victim = worker.temp_root / first
        planted = victim / "tivcast-prophet-killed"  # what Stan leaves when its process dies mid-fit
        planted.mkdir()
        (planted / "prophet_model-output.csv").write_text("lp__\n")
        assert worker.kill_child()
        finished = job_in(settings, spec.key, ("succeeded", "failed"), 60)
        assert (finished.state, finished.attempts) == ("succeeded", 2)

        wait_for(lambda: not victim.exists(), 10, f"{victim} to be swept")
        assert child_dirs(worker) == {f"child-{pid}" for pid in worker.children()}
        assert set(worker.tmp_base.iterdir()) == {worker.temp_root}
        worker.stop()  # a warm shutdown
        assert tree(worker.tmp_base) == set()  # its root is gone, and nothing else was left
