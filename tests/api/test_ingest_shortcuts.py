"""Work an ingest does not repeat: content already stored is recognised before the checks across rows (at start-up
too, where every shipped release is already stored), and each deal of a pipeline file is built once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from api.datasets import ingest as ingest_module
from api.datasets import pipeline_ingest
from api.datasets.shipped import seed
from api.db import make_engine
from api.errors import InvalidFile
from tests.helpers import checksum, ingest

DATA = Path(__file__).resolve().parents[2] / "api" / "data"


def count_calls(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> list[Any]:
    """Replace ``module.name`` by a wrapper that records each call and then makes it; the calls' first arguments."""
    real: Callable[..., Any] = getattr(module, name)
    calls: list[Any] = []

    def recorded(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[0] if args else None)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return calls


class TestAlreadyStored:
    def test_start_up_recognises_the_stored_shipped_releases_before_checking_them(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        before = checksum(fresh_url)
        world = count_calls(monkeypatch, ingest_module, "require_world")
        totals = count_calls(monkeypatch, ingest_module, "check_totals")
        engine = make_engine(fresh_url)
        try:
            results = seed(engine)  # what every start does; the database is seeded already
        finally:
            engine.dispose()
        assert results and not any(r.created or r.changed for r in results)
        assert (world, totals) == ([], [])
        assert checksum(fresh_url) == before

    @pytest.mark.parametrize("dataset", ["arms-exports", "milex-constant-usd"])
    def test_a_stored_file_again_is_recognised_before_the_checks_across_rows(
        self, fresh_url: str, monkeypatch: pytest.MonkeyPatch, dataset: str
    ) -> None:
        world = count_calls(monkeypatch, ingest_module, "require_world")
        totals = count_calls(monkeypatch, ingest_module, "check_totals")
        result = ingest(fresh_url, (DATA / f"{dataset}.csv").read_bytes(), dataset=dataset)
        assert (result.created, result.current, result.replaced) == (False, True, None)
        assert (world, totals) == ([], [])

    def test_new_content_is_still_checked_across_rows(self, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        world = count_calls(monkeypatch, ingest_module, "require_world")
        shipped = (DATA / "arms-exports.csv").read_bytes()
        without_2001 = b"".join(line for line in shipped.splitlines(keepends=True) if not line.startswith(b"WLD,2001,"))
        before = checksum(fresh_url)
        with pytest.raises(InvalidFile) as refused:
            ingest(fresh_url, without_2001)
        assert "2001" in refused.value.detail and len(world) == 1
        assert checksum(fresh_url) == before


class TestPipeline:
    def test_each_deal_is_built_once(self, fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
        data = (DATA / "japan-export-pipeline.csv").read_bytes()
        built = count_calls(monkeypatch, pipeline_ingest, "deal_from_row")
        deals = data.decode().strip().count("\n")  # lines after the header
        result = ingest(fresh_url, data, dataset="japan-export-pipeline")
        assert result.row_count == deals
        assert [row["deal_id"] for row in built] == [row.split(",", 1)[0] for row in data.decode().splitlines()[1:]]
