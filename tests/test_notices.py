"""What a revision says while rendering reaches the people who apply it: lines it prints are
"manual steps" (check, manifest, top of the runbook, stderr of sql), log records become comments
without the handler's timestamp, Python warnings become findings naming the revision, and a
revision whose SQL changes from run to run (datetime.now(), uuid4()) is "not reproducible"."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

MANUAL = {"revision": "b2", "down": "a1", "message": "fill n", "imports": "import logging, warnings",
          "body": '''
def upgrade():
    op.add_column("t", sa.Column("n", sa.Integer))
    print("-- offline: the data migration is skipped; run by hand:")
    print("-- UPDATE t SET n = 0;")
    logging.getLogger("app.migrations").warning("data copy skipped offline")
    warnings.warn("t.n has no default", UserWarning)

def downgrade():
    op.drop_column("t", "n")
'''}
STAMPED = {"revision": "c3", "down": "b2", "message": "stamp", "imports": "import datetime",
           "body": '''
def upgrade():
    op.execute(f"INSERT INTO t (id, n) VALUES (1, {datetime.datetime.now():%S%f})")

def downgrade():
    op.execute("DELETE FROM t WHERE id = 1")
'''}
RANDOM = {"revision": "d4", "down": "c3", "message": "token", "imports": "import uuid",
          "body": '''
def upgrade():
    op.execute(f"COMMENT ON TABLE t IS '{uuid.uuid4()}'")

def downgrade():
    op.execute("COMMENT ON TABLE t IS NULL")
'''}
# The handler writes to stdout (which distill captures) with a timestamp, a pid and a host.
LOGGING = ("import logging, socket, sys\nlogging.basicConfig(stream=sys.stdout, format='%(asctime)s "
           "%(process)d ' + socket.gethostname() + ' [%(levelname)s] %(message)s')\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = write_project(tmp_path_factory.mktemp("notices"), [CREATE_T, MANUAL, STAMPED, RANDOM])
    env = root / "migrations" / "env.py"
    env.write_text(LOGGING + env.read_text())
    return root


def test_a_log_record_is_a_comment_with_level_and_message_only(project):
    result = run_distill(["sql", "--dialect", "postgresql", "--from", "a1", "--to", "b2"], project)
    assert result.returncode == 0, result.stderr
    assert "\n-- [warning] data copy skipped offline\n" in result.stdout
    assert str(os.getpid()) not in result.stdout and not re.search(r"\d\d:\d\d:\d\d", result.stdout)


def test_sql_tells_on_stderr_what_to_read_and_what_warned(project):
    result = run_distill(["sql", "--dialect", "sqlite", "--from", "a1", "--to", "b2"], project)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "distill: revision b2 (fill n): MANUAL STEPS: the revision prints 2 line(s) for offline mode, "
        "to read before applying: offline: the data migration is skipped; run by hand:",
        "distill: revision b2 (fill n): WARNING: UserWarning: t.n has no default",
    ]
    assert "-- MANUAL STEPS: the revision prints 2 line(s)" in result.stdout
    assert "\n-- WARNING: UserWarning: t.n has no default\n\n" in result.stdout


def test_the_same_bytes_under_any_hash_seed(project):
    outputs = set()
    for seed in range(6):
        result = run_distill(["sql", "--dialect", "postgresql", "--from", "a1", "--to", "b2"], project,
                             env={"PYTHONHASHSEED": str(seed)})
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1


def test_check_reports_manual_steps_warnings_and_what_is_not_reproducible(project):
    result = run_distill(["check", "--json", "--dialect", "postgresql,sqlite"], project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [(f["revision"], f["direction"], f["dialects"]) for f in report["manual_steps"]] == [
        ("b2", "upgrade", ["postgresql", "sqlite"])]
    assert report["warnings"] == [{"revision": "b2", "direction": "upgrade", "dialects": ["postgresql", "sqlite"],
                                   "message": "UserWarning: t.n has no default"}]
    unstable = {(f["revision"], f["direction"], d) for f in report["not_reproducible"] for d in f["dialects"]}
    assert unstable == {("c3", "upgrade", "postgresql"), ("c3", "upgrade", "sqlite"),
                        ("d4", "upgrade", "postgresql"), ("d4", "upgrade", "sqlite")}
    for finding in report["not_reproducible"]:
        assert re.fullmatch(r"renders differently each time; first differing line \d+: .*VALUES \(1, \d+\);"
                            if finding["revision"] == "c3" else
                            r"renders differently each time; first differing line \d+: COMMENT ON TABLE t IS "
                            r"'[0-9a-f-]{36}';", finding["message"]), finding


def test_the_bundle_lists_them_in_the_manifest_and_at_the_top_of_the_runbook(project, tmp_path):
    result = run_distill(["build", "--dialect", "sqlite", "--out", str(tmp_path / "b")], project)
    assert result.returncode == 0, result.stderr
    steps = {s["revision"]: s for s in json.loads((tmp_path / "b" / "manifest.json").read_text())
             ["dialects"]["sqlite"]["steps"]}
    assert steps["b2"]["up"]["manual_steps"][0].startswith("the revision prints 2 line(s)")
    assert steps["b2"]["up"]["warning"] == ["UserWarning: t.n has no default"]
    assert "not_reproducible" in steps["c3"]["up"] and "not_reproducible" in steps["d4"]["up"]
    assert "manual_steps" not in steps["a1"]["up"] and "not_reproducible" not in steps["b2"]["up"]
    runbook = (tmp_path / "b" / "README.md").read_text()
    order = [runbook.index(h) for h in ("## Read first: manual steps", "## Warnings raised while rendering",
                                        "## Not reproducible", "## What this release changes")]
    assert order == sorted(order)
    assert "- step 2 `b2` (upgrade): the revision prints 2 line(s)" in runbook


def test_no_warning_leaks_to_stderr_raw(project):
    result = run_distill(["check", "--dialect", "sqlite", "--from", "a1", "--to", "b2"], project)
    assert "site-packages" not in result.stderr and "warnings.warn" not in result.stderr
    assert "UserWarning" not in result.stderr, result.stderr


def test_check_s_second_rendering_renders_alone_the_steps_a_range_writes_otherwise():
    """check's second rendering renders each dialect's range once; where a step written within
    the range differs from the step alone (the example's branch points and merge), that step is
    rendered alone again before anything is reported: nothing is reported for them."""
    from distill import dialects
    from distill.config import load
    from distill.history.plan import make_plan, single_steps
    from distill.history.scripts import History
    from distill.offline.render import render
    from distill.offline.reproducible import Job, Probe, StepTexts, step_texts

    history = History(load(Path(__file__).resolve().parent.parent))
    plan, dialect = make_plan(history, "base", "heads"), dialects.get("postgresql")
    alone = {}
    for up, down in single_steps(history, plan):
        for direction, one in (("upgrade", up), ("downgrade", down)):
            alone.update({("postgresql", direction, revision): text
                          for revision, text in step_texts(render(history, one, dialect)).items()})
    within = step_texts(render(history, plan, dialect))
    assert any(within[revision] != alone["postgresql", "upgrade", revision] for revision in within)

    probe = Probe(history.settings, [Job("postgresql", direction, plan.start, plan.target, single=True)
                                     for direction in ("upgrade", "downgrade")], standalone=False)
    asked = probe._child.asked
    assert probe.differences([StepTexts(alone)]) == []
    assert probe._child.asked == asked + 1  # one more request: those steps, each alone


def _branch_and_merge(root: Path) -> Path:
    def table(name: str) -> str:
        return (f'\ndef upgrade():\n    op.create_table("{name}", sa.Column("id", sa.Integer, primary_key=True))\n'
                f'\ndef downgrade():\n    op.drop_table("{name}")\n')
    return write_project(root, [
        {"revision": "a1", "body": table("a")},
        {"revision": "b1", "down": "a1", "body": table("b")},
        {"revision": "c1", "down": "a1", "body": table("c")},
        {"revision": "m1", "down": ("b1", "c1"), "body": "\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n"},
    ])


def test_check_from_two_heads_renders_each_step_alone_where_the_range_cannot_go_down(tmp_path):
    """A range starting at two revisions has no downgrade as one plan (a downgrade goes to one
    revision): the second rendering renders each of its steps alone (found in review: check
    failed)."""
    result = run_distill(["check", "--from", "b1,c1", "--to", "m1", "--dialect", "sqlite"],
                         _branch_and_merge(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "NOT REPRODUCIBLE: 0" in result.stdout


def test_check_of_an_empty_range_whose_second_rendering_fails_ends(tmp_path):
    """The second rendering's range fails and has no step to render alone: nothing to compare,
    no endless retry (found in review: RecursionError). env.py fails only under the hash seed the
    second rendering gets (the first's plus one)."""
    root = _branch_and_merge(tmp_path)
    env_py = root / "migrations" / "env.py"
    env_py.write_text('import os\nif os.environ.get("PYTHONHASHSEED") == "8":\n'
                      '    raise RuntimeError("not in the second rendering")\n' + env_py.read_text())
    result = run_distill(["check", "--from", "a1", "--to", "a1", "--dialect", "sqlite"], root,
                         env={"PYTHONHASHSEED": "7"})
    assert result.returncode == 0, result.stderr
    assert "NOT REPRODUCIBLE: 0" in result.stdout
