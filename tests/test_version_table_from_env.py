"""env.py names its own version table: the SQL, the guards, the runbook and rehearse all use it
(the name is decided once, by what env.py configures)."""

from __future__ import annotations

import json

from projects import CREATE_T, ENV_PY, run_distill, write_project

REVISIONS = [
    CREATE_T,
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


def test_a_renamed_version_table_is_used_everywhere(tmp_path):
    project = write_project(tmp_path / "project", REVISIONS)
    env = ENV_PY.replace('dialect_opts={"paramstyle": "named"})',
                         'dialect_opts={"paramstyle": "named"}, version_table="app_versions")')
    env = env.replace("context.configure(connection=connection)",
                      'context.configure(connection=connection, version_table="app_versions")')
    assert env.count("app_versions") == 2
    (project / "migrations" / "env.py").write_text(env)
    bundle = tmp_path / "b"
    assert run_distill(["build", "--out", str(bundle), "--dialect", "sqlite"], project).returncode == 0
    upgrade = (bundle / "sqlite" / "upgrade.sql").read_text()
    assert "app_versions" in upgrade and "alembic_version" not in upgrade
    runbook = (bundle / "README.md").read_text()
    assert "app_versions" in runbook and "alembic_version" not in runbook
    rehearsal = run_distill(["rehearse", str(bundle), "--json"], project)
    report = json.loads(rehearsal.stdout)
    assert rehearsal.returncode == 0 and report["passed"] is True, rehearsal.stdout


def test_a_version_table_in_a_schema_on_postgresql(tmp_path, postgres_server):
    project = write_project(tmp_path / "project", REVISIONS)
    options = 'version_table="app_versions", version_table_schema="public"'
    env = ENV_PY.replace('dialect_opts={"paramstyle": "named"})', f'dialect_opts={{"paramstyle": "named"}}, {options})')
    env = env.replace("context.configure(connection=connection)", f"context.configure(connection=connection, {options})")
    assert env.count("version_table_schema") == 2
    (project / "migrations" / "env.py").write_text(env)
    bundle = tmp_path / "b"
    assert run_distill(["build", "--out", str(bundle), "--dialect", "postgresql"], project).returncode == 0
    upgrade = (bundle / "postgresql" / "upgrade.sql").read_text()
    assert "CREATE TABLE IF NOT EXISTS public.app_versions" in upgrade
    assert "to_regclass('public.app_versions')" in upgrade and "alembic_version" not in upgrade
    runbook = (bundle / "README.md").read_text()
    assert "SELECT version_num FROM public.app_versions;" in runbook and "alembic_version" not in runbook
    rehearsal = run_distill(["rehearse", str(bundle), "--json", "--url", postgres_server.create().url], project)
    report = json.loads(rehearsal.stdout)
    assert rehearsal.returncode == 0 and report["passed"] is True, rehearsal.stdout
