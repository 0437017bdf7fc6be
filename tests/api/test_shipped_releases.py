"""A shipped release id names one content for good: a database seeded by an earlier package starts with this one.

Seeding stores each shipped resource as a release unless its content is stored already; a release id stored with
other content is refused (``Conflict``), so a package that changed a resource's rows under the same id would stop
every existing database from starting. ``SHIPPED`` lists every (dataset, release id) this project has shipped with
the hash of its file; changing a shipped file means a new release id (``scripts/curate_data.py``) and a new line.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from api.datasets import shipped
from api.datasets.ingest import current_release
from api.datasets.tables import Release
from api.db import make_engine
from api.migrations import upgrade

DATA = Path(__file__).resolve().parents[2] / "api" / "data"
PREVIOUS_PIPELINE = Path(__file__).parent / "data" / "japan-export-pipeline-tivcast-pipeline-2026-11-24.csv"

SHIPPED: dict[tuple[str, str], str] = {
    ("countries", "tivcast-2026-11-24"): "sha256:0f0bd88d08223e1ed54092ec21bd4cdec13b31a29eceb263b4b91f5d5512ab8b",
    ("arms-exports", "sipri-at-2024_2025"): "sha256:d0839e5bc1f3b9a792e5d07386a501fddd246916b8001026dc6321e4fd32509a",
    ("milex-constant-usd", "sipri-milex-2025"):
        "sha256:cb3b7acec2a113b8d8e517458b05f93a00609681699a54f85fa5f2d49b2633d6",
    ("milex-current-usd", "sipri-milex-2025"):
        "sha256:53ec19a657995b828f91efb7febf7a86507b5508a12bbcf5f57c9f01c5f3e0e2",
    ("milex-share-gdp", "sipri-milex-2025"):
        "sha256:f71772aa6c87dca1a2b2f52b9d14f4523dced58e8a06e85f6f15baf06ac8d15e",
    ("japan-defence-budget", "mod-mof-fy2002-fy2025"):
        "sha256:fd41b20dbd9ffe20dd4e382f7661e2916084e3e902ac1e5f03979962d3e88b4b",
    ("japan-defence-budget-headline", "mod-mof-fy2002-fy2026"):
        "sha256:4bc39732970ab46f7f36c96acfd0dee720c243bc739fed3ce7b3345b24755781",
    ("japan-export-deals", "sipri-at-2025"): "sha256:7b8e8321c37b04f79ccb305c8e6c938b779e389e8118443228101ccf11d7193e",
    # shipped until 2026-12-04 (its rows changed three times under this id before then)
    ("japan-export-pipeline", "tivcast-pipeline-2026-11-24"):
        "sha256:e4ff83b4988ca3ddf6a07083df566821f5be481f8ad46c83316aef92a744d026",
    ("japan-export-pipeline", "tivcast-pipeline-2026-12-04"):
        "sha256:d63cabd10bb8ee4535e98745f4a876974cb43f7a56e138740390f197afd1a7b9",
    ("japan-buildup-plan", "mod-dbp-fy2023-fy2027"):
        "sha256:d10ea5ca52acbfaf7849a39a179ce73720c4e2da6bd2d1b4c0c8939ba1caf95a",
    ("policy-events", "tivcast-timeline-2026-11-24"):
        "sha256:287a7adddaafca70926967c51c4f8e58d807e1711b87e56abdbe00a86ae8747a",
    ("policy-regimes", "tivcast-timeline-2026-11-24"):
        "sha256:2451d67b31b079ea14e0b757273684b56c2bda0dabab2d7e7a037e1df4ba24d4",
}


def package() -> dict[str, Any]:
    return json.loads((DATA / "datapackage.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_every_shipped_release_id_keeps_the_content_it_was_shipped_with() -> None:
    for resource in package()["resources"]:
        key = (resource["name"], resource["tivcast"]["release"]["id"])
        assert key in SHIPPED, f"{key} is new: add it with its hash to SHIPPED (and keep the old lines)"
        assert resource["hash"] == SHIPPED[key], (
            f"{key} was shipped with other content: a changed file needs a new release id (scripts/curate_data.py),"
            " or every database seeded with the old one refuses to start")


def test_the_hashes_are_the_files() -> None:
    for resource in package()["resources"]:
        digest = hashlib.sha256((DATA / resource["path"]).read_bytes()).hexdigest()
        assert resource["hash"] == f"sha256:{digest}", resource["name"]


def test_a_database_seeded_by_the_previous_package_starts_and_serves_the_new_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upgrade as it happens: the previous package's pipeline (release tivcast-pipeline-2026-11-24) is in the
    database, and the start-up seed of this package adds this package's release and makes it current."""
    engine = make_engine(f"sqlite:///{tmp_path / 'upgraded.db'}")
    try:
        upgrade(engine)
        current = package()
        before = json.loads(json.dumps(current))
        pipeline = next(r for r in before["resources"] if r["name"] == "japan-export-pipeline")
        pipeline["tivcast"]["release"]["id"] = "tivcast-pipeline-2026-11-24"
        real_read = shipped.read_resource

        def previous(resource: dict[str, Any]) -> bytes:
            if resource["name"] == "japan-export-pipeline":
                return PREVIOUS_PIPELINE.read_bytes()
            return real_read(resource)

        with monkeypatch.context() as patch:
            patch.setattr(shipped, "descriptor", lambda: before)
            patch.setattr(shipped, "read_resource", previous)
            shipped.seed(engine)  # the database as the previous version left it
        results = shipped.seed(engine)  # this version's start-up
        assert [(r.dataset_id, r.release_id, r.created) for r in results if r.created] == [
            ("japan-export-pipeline", "tivcast-pipeline-2026-12-04", True)]
        with Session(engine) as session:
            releases = session.exec(select(Release).where(Release.dataset_id == "japan-export-pipeline")).all()
            assert sorted(r.release_id for r in releases) == ["tivcast-pipeline-2026-11-24",
                                                              "tivcast-pipeline-2026-12-04"]
            served = current_release(session, "japan-export-pipeline")
            assert served is not None and served.release_id == "tivcast-pipeline-2026-12-04"
        with monkeypatch.context() as patch:  # the same rows under the old id again: refused, as it was before
            changed = json.loads(json.dumps(current))
            again = next(r for r in changed["resources"] if r["name"] == "japan-export-pipeline")
            again["tivcast"]["release"]["id"] = "tivcast-pipeline-2026-11-24"
            patch.setattr(shipped, "descriptor", lambda: changed)
            results = shipped.seed(engine)  # content already stored (as 2026-12-04): recognised, nothing written
            assert not any(r.created for r in results)
    finally:
        engine.dispose()
