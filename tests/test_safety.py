"""Irreversible, destructive and lock-risk analysis; --allow-base; guards of the dialects that
cannot run here; distill check over a history with several offline-unsafe revisions."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from projects import write_project
from runner import run_distill

REPO = Path(__file__).resolve().parent.parent
RELEASES = REPO / "releases"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return run_distill(list(args), cwd)


@pytest.mark.parametrize(("dialect", "raiser"), [("oracle", "RAISE_APPLICATION_ERROR(-20000"),
                                                   ("mssql", "THROW 50000")])
def test_guards_of_dialects_that_cannot_run_here_come_first(dialect, raiser):
    for path in [RELEASES / "1.1" / dialect / "upgrade.sql", RELEASES / "2.0" / dialect / "downgrade.sql",
                 *sorted((RELEASES / "1.1" / dialect / "steps").glob("*.sql"))]:
        text = path.read_text()
        body = [b for b in text.split("\n\n") if not all(
            line.startswith("--") or not line for line in b.splitlines())]
        stop = body[0]
        assert stop.splitlines()[-1] in ("WHENEVER OSERROR EXIT FAILURE", ":on error exit"), path
        guard = body[1]
        assert raiser in guard and "distill guard: expected alembic_version at" in guard, path
        manifest = json.loads((path.parents[2 if "steps" in str(path) else 1] / "manifest.json").read_text())
        assert manifest["format"] == "distill-bundle"
        assert guard.rstrip().endswith("/" if dialect == "oracle" else "GO")


def test_the_examples_irreversible_revision_is_found():
    manifest = json.loads((RELEASES / "2.1" / "manifest.json").read_text())
    step = manifest["steps"][0]
    assert step["revision"] == "f03d6b5a4c15" and step["reversible"] is False
    assert step["irreversible_reason"] == "its downgrade() does nothing (pass)"
    for name, entry in manifest["dialects"].items():
        assert entry["point_of_no_return"] == {"revision": "f03d6b5a4c15",
                                               "reason": "its downgrade() does nothing (pass)"}, name
        assert "down" not in entry["steps"][0]
    readme = (RELEASES / "2.1" / "README.md").read_text()
    # its only step cannot be reverted: no downgrade reverts anything (test_runbook)
    assert "**This release cannot be rolled back with SQL: restore the backup**" in readme
    assert "| `f03d6b5a4c15` |" in readme
    down = (RELEASES / "2.1" / "postgresql" / "downgrade.sql").read_text()
    assert "-- POINT OF NO RETURN: f03d6b5a4c15" in down
    assert down.rstrip().endswith("RAISE EXCEPTION 'distill: cannot revert f03d6b5a4c15: restore from a backup';\nEND\n$distill_stop$;")
    reversible = json.loads((RELEASES / "2.0" / "manifest.json").read_text())
    assert all(s["reversible"] for s in reversible["steps"])
    assert all(e["point_of_no_return"] is None for e in reversible["dialects"].values())


def test_downgrade_across_the_irreversible_revision_needs_the_flag():
    refused = cli("sql", "--dialect", "postgresql", "--down", "--from", "heads", "--to", "2.0")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "f03d6b5a4c15" in refused.stderr and "--allow-irreversible" in refused.stderr
    allowed = cli("sql", "--dialect", "postgresql", "--down", "--from", "heads", "--to", "2.0",
                  "--allow-irreversible")
    assert allowed.returncode == 0, allowed.stderr
    assert "-- NOT RESTORED: f03d6b5a4c15 (orders: cancel orders left pending" in allowed.stdout


def test_downgrade_to_base_needs_the_flag():
    refused = cli("sql", "--dialect", "sqlite", "--down", "--from", "2.0", "--to", "base")
    assert refused.returncode == 1 and "--allow-base" in refused.stderr and refused.stdout == ""
    allowed = cli("sql", "--dialect", "sqlite", "--down", "--from", "2.0", "--to", "base", "--allow-base")
    assert allowed.returncode == 0 and "DROP TABLE authors;" in allowed.stdout


def test_a_bundle_from_base_warns_that_its_downgrade_drops_everything():
    down = (RELEASES / "1.0" / "mysql" / "downgrade.sql").read_text()
    assert "-- WARNING: this downgrade goes back to base: it drops everything" in down
    assert "**WARNING: this release starts at base." in (RELEASES / "1.0" / "README.md").read_text()


def test_destructive_and_lock_risk_findings_in_the_example():
    manifest = json.loads((RELEASES / "2.0" / "manifest.json").read_text())
    for name, entry in manifest["dialects"].items():
        by_rev = {s["revision"]: s for s in entry["steps"]}
        assert by_rev["ab3a0c9d3e12"]["up"]["destructive"] == ["drops column authors.bio and its data"], name
        assert "drops column authors.bio and its data" not in by_rev["de1b9d8e2f13"]["up"]["destructive"]
    pg = {s["revision"]: s for s in manifest["dialects"]["postgresql"]["steps"]}
    assert any("CONCURRENTLY" in m for m in pg["ef2c8e7f1a14"]["up"]["lock_risk"])
    assert manifest["dialects"]["sqlite"]["steps"][0]["up"]["lock_risk"] == []  # hints: pg and mysql only
    up = (RELEASES / "2.0" / "postgresql" / "upgrade.sql").read_text()
    assert ("-- DESTRUCTIVE: drops column authors.bio and its data\n-- COMPATIBILITY: drops column authors.bio: "
            "the application version still running during the deploy reads or writes it and fails; stop using it "
            "in a release before this one\nALTER TABLE authors\nDROP COLUMN bio;") in up
    readme = (RELEASES / "2.0" / "README.md").read_text()
    assert "## Destructive changes" in readme and "drops column authors.bio and its data" in readme
    assert "## Lock risks (hints)" in readme
    down = (RELEASES / "1.1" / "sqlite" / "downgrade.sql").read_text()
    # SQLite batch mode recreates orders: that DROP TABLE is not destructive, the dropped column is
    assert "DESTRUCTIVE: drops table orders" not in down
    assert "-- DESTRUCTIVE: drops column orders.customer_id and its data" in down


def test_type_narrowing_is_destructive_and_widening_is_not():
    text = cli("sql", "--dialect", "postgresql", "--down", "--from", "5e3f", "--to", "4d2e").stdout
    assert "-- DESTRUCTIVE: narrows books.title from VARCHAR(400) to VARCHAR(200)" in text
    up = cli("sql", "--dialect", "postgresql", "--from", "4d2e", "--to", "5e3f").stdout
    assert "DESTRUCTIVE" not in up and "LOCK RISK: changes the type of books.title" in up


UNSAFE = {
    "queries": ("rows = op.get_bind().execute(sa.text('SELECT id FROM t')).fetchall()",
                "uses the result of a statement at line 11 (its .fetchall)"),
    "inspects": ("names = sa.inspect(op.get_bind()).get_table_names()", "inspects the live database"),
    "batch": ("with op.batch_alter_table('t') as b:\n        b.alter_column('n', type_=sa.BigInteger, "
              "existing_type=sa.Integer)", "without copy_from, so Alembic needs a live connection to reflect the table"),
    "engine": ("url = op.get_bind().engine.url", "reads the database URL"),
}


def test_check_lists_every_unsafe_revision_with_its_cause(tmp_path):
    revisions = [{"revision": "root000000", "body": (
        "def upgrade():\n    op.create_table('t', sa.Column('id', sa.Integer, primary_key=True), "
        "sa.Column('n', sa.Integer))\n\ndef downgrade():\n    op.drop_table('t')\n")}]
    down = "root000000"
    for name, (code, _) in UNSAFE.items():
        revisions.append({"revision": f"{name:0<10}", "down": down, "message": f"unsafe {name}",
                          "body": f"def upgrade():\n    {code}\n\ndef downgrade():\n    op.execute('SELECT 1')\n"})
        down = f"{name:0<10}"
    revisions.append({"revision": "raises0000", "down": down, "message": "raises on downgrade",
                      "body": "def upgrade():\n    op.execute('DELETE FROM t')\n\ndef downgrade():\n"
                              "    raise RuntimeError('cannot undo')\n"})
    write_project(tmp_path, revisions)
    result = cli("check", "--dialect", "postgresql,sqlite", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    problems = {p["revision"]: p for p in report["cannot_render"]}
    for name, (_, cause) in UNSAFE.items():
        problem = problems.pop(f"{name:0<10}")
        assert cause in problem["cause"], (name, problem)
        assert re.match(rf"migrations/versions/\d+_{name:0<10}\.py, line \d+", problem["location"])
        assert problem["fix"].startswith("Usual fix:")
        expected = ["sqlite"] if name == "batch" else ["postgresql", "sqlite"]
        assert problem["dialects"] == expected, name
    assert problems == {}
    assert [(i["revision"], i["reason"]) for i in report["irreversible"]] == [
        ("raises0000", "its downgrade() raises")]
    assert {"revision": "raises0000", "direction": "upgrade", "message": "deletes every row of t (no WHERE)",
            "dialects": ["postgresql", "sqlite"]} in report["destructive"]
    text = cli("check", "--dialect", "postgresql,sqlite", cwd=tmp_path)
    assert text.returncode == 1 and "CANNOT RENDER OFFLINE: 4" in text.stdout


def test_check_finds_a_downgrade_that_renders_nothing_for_one_dialect(tmp_path):
    body = ("def upgrade():\n    op.add_column('t', sa.Column('m', sa.Integer))\n\n"
            "def downgrade():\n    if op.get_context().dialect.name == 'postgresql':\n"
            "        op.drop_column('t', 'm')\n")
    write_project(tmp_path, [
        {"revision": "root000000", "body": "def upgrade():\n    op.create_table('t', sa.Column('id', "
                                           "sa.Integer, primary_key=True))\n\ndef downgrade():\n"
                                           "    op.drop_table('t')\n"},
        {"revision": "cond000000", "down": "root000000", "message": "postgres only", "body": body},
    ])
    report = json.loads(cli("check", "--dialect", "postgresql,sqlite", "--json", cwd=tmp_path).stdout)
    assert report["ok"] is True
    assert report["irreversible"] == [{
        "revision": "cond000000", "message": "postgres only", "dialects": ["sqlite"],
        "reason": "its downgrade renders nothing for this dialect but the version change"}]
    refused = cli("sql", "--dialect", "sqlite", "--down", "--from", "heads", "--to", "root", cwd=tmp_path)
    assert refused.returncode == 1 and "renders nothing for SQLite" in refused.stderr
    assert cli("sql", "--dialect", "postgresql", "--down", "--from", "heads", "--to", "root",
               cwd=tmp_path).returncode == 0
