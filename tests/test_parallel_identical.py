"""Using both cores never changes a byte: long plans rendered in two halves and stitched, and
bundles whose dialects and directions are built in worker processes, equal the one-process
result, on histories with branches, merges and depends_on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from distill import alembic_compat, dialects, workers
from distill.bundle.builder import build_files
from distill.bundle.manifest import BundleSpec
from distill.config import load
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline import two_cores as halves
from distill.offline.produce import produce
from distill.statements.script_text import script_text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate_history import generate  # noqa: E402


@pytest.fixture(scope="module", params=[("linear", 60), ("merges", 90), ("depends", 90)])
def history(request, tmp_path_factory) -> History:
    shape, n = request.param
    return History(load(generate(tmp_path_factory.mktemp(shape), n, shape)))


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(halves, "MIN_STEPS", 10)
    monkeypatch.setattr(workers, "usable_cores", lambda jobs: min(2, jobs))
    monkeypatch.delenv("DISTILL_JOBS", raising=False)


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "sqlite"])
def test_halves_stitch_to_the_same_bytes(history, dialect, two_cores):
    d = dialects.get(dialect)
    for down in (False, True):
        plan = make_plan(history, "heads" if down else "base", "base" if down else "heads", down=down)
        one, stats_one = produce(history, plan, d)
        two, stats_two = produce(history, plan, d, both_cores=True)
        assert script_text(two.statements(), d) == script_text(one.statements(), d)
        assert two.heads_after == one.heads_after
        assert stats_two.to_json() == stats_one.to_json()
        middle = len(plan.steps) // 2
        assert alembic_compat.heads_after(plan.start, plan.migration_steps[:middle]) == one.heads_before(middle)


def test_bundles_built_in_workers_equal_one_process(history, monkeypatch, two_cores):
    spec = BundleSpec("x", "base", "heads", ("postgresql", "sqlite"))
    in_workers = build_files(history, spec)
    monkeypatch.setattr(workers, "usable_cores", lambda jobs: 1)
    assert build_files(history, spec) == in_workers
