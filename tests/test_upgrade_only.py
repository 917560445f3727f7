"""A revision script without downgrade() (upgrade-only projects): an irreversible step, exactly
like a downgrade that is ``pass``, for plan, sql, check, build and rehearse; never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

REVISIONS = [
    CREATE_T,
    {"revision": "b2", "down": "a1", "message": "add x, upgrade only", "body": '''
        def upgrade():
            op.add_column("t", sa.Column("x", sa.Integer))
    '''},
    {"revision": "c3", "down": "b2", "message": "add y", "body": '''
        def upgrade():
            op.add_column("t", sa.Column("y", sa.Integer))

        def downgrade():
            op.drop_column("t", "y")
    '''},
]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("upgrade-only"), REVISIONS)


def test_plan_down_lists_the_step(project):
    result = run_distill(["plan", "--down", "--from", "heads", "--to", "base"], project)
    assert result.returncode == 0
    assert "b2 -> a1  add x, upgrade only" in result.stdout


def test_sql_down_refuses_then_notes_it(project):
    refused = run_distill(["sql", "--down", "--from", "heads", "--to", "a1", "--dialect", "sqlite"], project)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "b2 (add x, upgrade only): it has no downgrade()" in refused.stderr
    allowed = run_distill(["sql", "--down", "--from", "heads", "--to", "a1", "--dialect", "sqlite",
                   "--allow-irreversible"], project)
    assert allowed.returncode == 0
    assert "-- NOT RESTORED: b2 (add x, upgrade only): it has no downgrade()" in allowed.stdout
    assert "DROP COLUMN y" in allowed.stdout.replace('"', "")


def test_check_json_names_it_irreversible(project):
    result = run_distill(["check", "--json", "--dialect", "sqlite,postgresql"], project)
    report = json.loads(result.stdout)
    assert result.returncode == 0 and report["ok"] is True
    assert report["irreversible"] == [{"revision": "b2", "message": "add x, upgrade only",
                                       "reason": "it has no downgrade()", "dialects": ["sqlite", "postgresql"]}]


def test_build_stops_the_downgrade_there_and_rehearses(project, tmp_path):
    bundle = tmp_path / "b"
    assert run_distill(["build", "--out", str(bundle), "--dialect", "sqlite"], project).returncode == 0
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["dialects"]["sqlite"]["point_of_no_return"] == {"revision": "b2",
                                                                    "reason": "it has no downgrade()"}
    assert [s["reversible"] for s in manifest["steps"]] == [True, False, True]
    assert "IRREVERSIBLE: it has no downgrade()" in (bundle / "README.md").read_text()
    rehearsal = run_distill(["rehearse", str(bundle), "--json"], project)
    assert rehearsal.returncode == 0, rehearsal.stdout + rehearsal.stderr
    assert json.loads(rehearsal.stdout)["passed"] is True
