"""distill check --fail-on: which kinds of findings exit 1 (each kind alone, all, the configured
default); --format github: one annotation per finding that GitHub's workflow-command syntax parses."""

from __future__ import annotations

import json
import re

import pytest
from projects import run_distill, write_project

REVISIONS = [
    {"revision": "a1", "message": "a table", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.String(20)))

    def downgrade():
        op.drop_table("t")
'''},
    {"revision": "b2", "down": "a1", "message": "an index", "body": '''
    def upgrade():
        op.create_index("ix_t_note", "t", ["note"])

    def downgrade():
        op.drop_index("ix_t_note", table_name="t")
'''},
    {"revision": "c3", "down": "b2", "message": "purge, for good", "body": '''
    def upgrade():
        op.execute("DELETE FROM t WHERE id > 5")

    def downgrade():
        pass
'''},
    {"revision": "d4", "down": "c3", "message": "asks for a hand", "body": '''
    def upgrade():
        print("-- run ANALYZE t by hand afterwards")  # a SQL comment: a manual step
        op.add_column("t", sa.Column("size", sa.Integer))

    def downgrade():
        with op.batch_alter_table("t") as batch:
            batch.drop_column("size")
'''},
]
FAILS = {"unrenderable": False, "irreversible": True, "destructive": True, "data-loss": True,
         "lock-risk": True, "not-reproducible": False, "manual-steps": True, "warnings": False,
         "data-dependent": False, "all": True, "irreversible,not-reproducible": True}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("policy"), REVISIONS)


def test_each_kind_fails_the_check_only_when_such_a_finding_exists(project):
    default = run_distill(["check", "--dialect", "postgresql"], project)
    assert default.returncode == 0, default.stdout + default.stderr
    for kinds, fails in FAILS.items():
        result = run_distill(["check", "--dialect", "postgresql", "--fail-on", kinds, "--json"], project)
        assert result.returncode == (1 if fails else 0), (kinds, result.stdout, result.stderr)
        assert json.loads(result.stdout)["failed"] is fails


def test_the_configured_fail_on_is_the_default_and_an_unknown_kind_is_refused(project, tmp_path):
    configured = write_project(tmp_path / "configured", REVISIONS, distill_toml='fail_on = ["lock-risk"]\n')
    assert run_distill(["check", "--dialect", "postgresql"], configured).returncode == 1
    assert run_distill(["check", "--dialect", "sqlite"], configured).returncode == 0  # no lock risk there
    bad = run_distill(["check", "--fail-on", "destructive,typo"], project)
    assert bad.returncode == 2 and not bad.stdout  # a usage error, not a finding (exit 1)
    assert "--fail-on: unknown kind(s) typo; the kinds are unrenderable, irreversible" in bad.stderr


def test_github_annotations_parse_and_point_into_the_revision_scripts(project):
    result = run_distill(["check", "--dialect", "postgresql", "--fail-on", "destructive", "--format", "github"],
                         project)
    assert result.returncode == 1
    pattern = re.compile(r"::(error|warning) file=([^,:]+),line=(\d+),title=([^:,]+)::(.+)")
    lines = result.stdout.splitlines()
    parsed = [pattern.fullmatch(line) for line in lines]
    assert all(parsed), lines
    for match in parsed:
        script = project / match[2]
        assert script.is_file() and 1 <= int(match[3]) <= len(script.read_text().splitlines())
    levels = {(m[4], m[1]) for m in parsed}
    assert ("distill DESTRUCTIVE", "error") in levels and ("distill LOCK RISK", "warning") in levels
    destructive = [m for m in parsed if m[4] == "distill DESTRUCTIVE"]
    assert destructive[0][5] == "a1 downgrade [postgresql]: drops table t and every row in it"
    assert (project / destructive[0][2]).read_text().splitlines()[int(destructive[0][3]) - 1].startswith(
        "def downgrade")


def test_a_revision_id_with_control_characters_is_refused_in_one_line(tmp_path):
    hostile = write_project(tmp_path / "hostile", [{"revision": "a1\x1b[31m", "message": "a table", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}])
    result = run_distill(["check", "--dialect", "sqlite", "--fail-on", "destructive", "--format", "github"],
                         hostile)
    assert result.returncode == 1 and not result.stdout, result.stdout  # refused when the history loads
    assert "\x1b" not in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("distill: error: the revision id in migrations/versions/001_a1")
