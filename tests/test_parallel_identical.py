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


def test_check_in_workers_reports_what_one_pass_reports(tmp_path):
    """check's jobs (a dialect and half the revisions each, on both cores) replay what they found
    in revision and dialect order: the same report, byte for byte, as one pass in one process,
    on a history with findings of every kind and a revision that cannot render in one dialect."""

    from projects import SHELF, run_distill, write_project

    mysql_only = {"revision": "f3", "down": "f2", "message": "reads the database on mysql", "body": '''
        def upgrade():
            if op.get_context().dialect.name == "mysql":
                op.get_bind().execute(sa.text("SELECT 1")).fetchall()
            op.drop_column("shelf", "note")
            op.execute("DELETE FROM shelf WHERE id = 2")  # data loss (f2's UPDATE is a backfill)

        def downgrade():
            op.add_column("shelf", sa.Column("note", sa.Text))
    '''}
    write_project(tmp_path, [*SHELF, mysql_only])
    outputs = []
    for jobs in ("1", "2"):
        for output in ("--json", "--format=text"):
            result = run_distill(["-C", str(tmp_path), "check", output, "--dialect",
                                  "postgresql,mysql,sqlite,mariadb"], tmp_path, {"DISTILL_JOBS": jobs})
            assert result.returncode == 1, result.stderr
            outputs.append(result.stdout)
    assert outputs[:2] == outputs[2:]
    report = __import__("json").loads(outputs[0])
    assert [c["dialects"] for c in report["cannot_render"]] == [["mysql"]]
    assert "DESTRUCTIVE: 0" not in outputs[1]
    assert "DATA LOSS: 0" not in outputs[1] and "reads the database on mysql" in outputs[1]


def test_check_replays_findings_in_revision_then_dialect_order():
    """What the second dialect finds at the first revision comes before what the first dialect
    finds at the second: the order one pass over the revisions finds them in."""
    from distill.audit.check import CheckReport, replay

    report, texts = CheckReport(2, ("a", "b")), {}
    shared = ("r1", "upgrade", "destructive", "drops t")
    replay([{0: [("findings", shared, "a")], 1: [("findings", ("r2", "upgrade", "lock_risk", "x"), "a")]},
            {0: [("findings", ("r1", "upgrade", "lock_risk", "y"), "b"), ("findings", shared, "b"),
                 ("texts", ("b", "upgrade", "r1"), "SQL")]}], 2, report, texts)
    assert list(report.findings) == [shared, ("r1", "upgrade", "lock_risk", "y"), ("r2", "upgrade", "lock_risk", "x")]
    assert report.findings[shared] == ["a", "b"] and texts == {("b", "upgrade", "r1"): "SQL"}


def test_check_without_formatting_reports_what_it_reports_with_it(tmp_path):
    """check renders without formatting (findings read each statement with its spaces and
    comments normalised, and formatting keeps every token): the same report as with sqlparse,
    here on SQL written in lower case, where keyword case differs between the two."""
    from projects import write_project

    from distill.audit.check import check

    write_project(tmp_path, [
        {"revision": "a1", "message": "create", "body": '''
            def upgrade():
                op.execute("create table t (id integer primary key, c varchar(10), d integer)")

            def downgrade():
                op.execute("drop table t")
        '''},
        {"revision": "a2", "down": "a1", "message": "lower", "body": '''
            def upgrade():
                op.execute("alter table t alter column c type text")
                op.execute("update t set c = 'x' where d > 1")
                op.execute("alter table t drop column d")

            def downgrade():
                op.execute("alter table t add column d integer")
        '''}])
    history = History(load(tmp_path))
    names = ("postgresql", "oracle", "mysql")
    plain, formatted = (check(history, "base", "heads", names, style=style).to_json() for style in ("none", "sqlparse"))
    assert plain == formatted and plain["destructive"] and plain["data_loss"]
