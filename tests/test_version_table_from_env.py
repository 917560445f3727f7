"""env.py names its own version table: the SQL, the guards, the runbook and rehearse all use it
(the name is decided once, by what env.py configures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from projects import ENV_PY, write_project

REVISIONS = [
    {"revision": "a1", "message": "create t", "body": '''
        def upgrade():
            op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

        def downgrade():
            op.drop_table("t")
    '''},
    {"revision": "b2", "down": "a1", "message": "add x", "body": '''
        def upgrade():
            op.add_column("t", sa.Column("x", sa.Integer))

        def downgrade():
            with op.batch_alter_table("t", copy_from=sa.Table(
                    "t", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("x", sa.Integer))) as batch:
                batch.drop_column("x")
    '''},
]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "distill", *args], cwd=cwd, capture_output=True, text=True)
    assert "Traceback" not in result.stderr + result.stdout
    return result


def test_a_renamed_version_table_is_used_everywhere(tmp_path):
    project = write_project(tmp_path / "project", REVISIONS)
    env = ENV_PY.replace('dialect_opts={"paramstyle": "named"})',
                         'dialect_opts={"paramstyle": "named"}, version_table="app_versions")')
    env = env.replace("context.configure(connection=connection)",
                      'context.configure(connection=connection, version_table="app_versions")')
    assert env.count("app_versions") == 2
    (project / "migrations" / "env.py").write_text(env)
    bundle = tmp_path / "b"
    assert run(["build", "--out", str(bundle), "--dialect", "sqlite"], project).returncode == 0
    upgrade = (bundle / "sqlite" / "upgrade.sql").read_text()
    assert "app_versions" in upgrade and "alembic_version" not in upgrade
    runbook = (bundle / "README.md").read_text()
    assert "app_versions" in runbook and "alembic_version" not in runbook
    rehearsal = run(["rehearse", str(bundle), "--json"], project)
    report = json.loads(rehearsal.stdout)
    assert rehearsal.returncode == 0 and report["passed"] is True, rehearsal.stdout
