"""record_applied: each file a DBA applies leaves one row in the record table (bundle, release,
file, direction, revisions, the bundle's identity, the database user and time), in the same
transaction where the dialect has one; a file that fails leaves none."""

from __future__ import annotations

import json

import sqlalchemy as sa
from projects import run_distill, write_project

from distill.bundle.manifest import bundle_identity

TABLE = {"revision": "a1", "message": "a table", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}
COLUMN = {"revision": "b2", "down": "a1", "message": "a column", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("note", sa.String(20)))

    def downgrade():
        op.drop_column("t", "note")
'''}
FAILING = {"revision": "c3", "down": "b2", "message": "fails on purpose", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("size", sa.Integer))
        op.execute("INSERT INTO t (id) VALUES (1)")
        op.execute("INSERT INTO t (id) VALUES (1)")

    def downgrade():
        op.drop_column("t", "size")
'''}


def _rows(url: str) -> list[tuple]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        if "distill_applied" not in sa.inspect(connection).get_table_names():
            rows = []
        else:
            rows = [tuple(r) for r in connection.exec_driver_sql(
                "SELECT bundle_name, bundle_release, file_path, direction, from_revisions, to_revisions, "
                "bundle_sha256, applied_by IS NOT NULL, applied_at IS NOT NULL FROM distill_applied ORDER BY id")]
    engine.dispose()
    return rows


def test_each_applied_file_leaves_one_row_and_a_failed_one_none(tmp_path, databases):
    project = write_project(tmp_path / "project", [TABLE, COLUMN, FAILING],
                            distill_toml='project = "shop"\nrecord_applied = true\n')
    out = tmp_path / "bundle"
    dialect = databases.dialect
    result = run_distill(["build", "--dialect", dialect, "--to", "b2", "--out", str(out), "--name", "1.0"],
                         project)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["options"]["record_table"] == "distill_applied"
    runbook = (out / "README.md").read_text()
    assert "`SELECT version_num FROM alembic_version;` must return\n**`b2`**" in runbook
    assert "SELECT file_path, direction, to_revisions, applied_by, applied_at\nFROM distill_applied" in runbook
    assert "## If a file stops half-way" in runbook
    assert "Afterwards, `SELECT version_num FROM alembic_version;` must return nothing (an empty version " \
           "table: base)." in runbook
    identity = bundle_identity(manifest)
    database = databases.create()
    steps = sorted((out / dialect / "steps").glob("*.up.sql"))
    for step in steps:
        applied = database.apply(step.read_text())
        # the record table exists from the second file on: no NOTICE from distill's own statements
        assert b"NOTICE" not in applied.stderr, applied.stderr
    database.apply((out / dialect / "downgrade.sql").read_text())
    user_known = dialect != "sqlite"  # SQLite has no users: applied_by is NULL
    expected = [
        ("shop", "1.0", f"{dialect}/steps/{steps[0].name}", "upgrade", "", "a1", identity, user_known, True),
        ("shop", "1.0", f"{dialect}/steps/{steps[1].name}", "upgrade", "a1", "b2", identity, user_known, True),
        ("shop", "1.0", f"{dialect}/downgrade.sql", "downgrade", "b2", "", identity, user_known, True),
    ]
    assert _rows(database.url) == expected
    # the file that fails half-way: no row (PostgreSQL and SQLite roll the file back; on MySQL and
    # MariaDB the record is the file's last statement)
    database.apply((out / dialect / "upgrade.sql").read_text())
    failing = run_distill(["sql", "--dialect", dialect, "--from", "b2", "--to", "c3", "--record-applied"], project)
    assert failing.returncode == 0, failing.stderr
    assert "-- record: this file as applied, in distill_applied" in failing.stdout
    assert database.apply(failing.stdout, check=False).returncode != 0
    rows = _rows(database.url)
    assert len(rows) == 4 and rows[-1][2] == f"{dialect}/upgrade.sql"
    verified = run_distill(["verify", str(out), "--rebuild"], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_record_table_that_is_no_plain_name_is_refused(tmp_path):
    project = write_project(tmp_path / "project", [TABLE], distill_toml='record_applied = true\n'
                                                                       'record_table = "x; DROP TABLE t"\n')
    result = run_distill(["sql", "--dialect", "sqlite"], project)
    assert result.returncode == 1 and not result.stdout
    assert "record_table must be a plain lower-case table name" in result.stderr


def test_a_record_table_named_like_a_reserved_word_is_quoted(tmp_path, sqlite_files):
    project = write_project(tmp_path / "project", [TABLE], distill_toml='record_applied = true\n'
                                                                       'record_table = "order"\n')
    result = run_distill(["sql", "--dialect", "sqlite"], project)
    assert result.returncode == 0, result.stderr
    database = sqlite_files.create()
    database.apply(result.stdout)
    engine = sa.create_engine(database.url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql('SELECT to_revisions FROM "order"').scalar() == "a1"
    engine.dispose()
    for name in ("Distill_Applied", "alembic_version"):
        bad = write_project(tmp_path / name, [TABLE], distill_toml=f'record_table = "{name}"\n')
        refused = run_distill(["sql", "--dialect", "sqlite"], bad)
        assert refused.returncode == 1 and "record_table" in refused.stderr, refused.stderr


AUDIT = {"revision": "d4", "down": "a1", "message": "the application's own audit table", "body": '''
    def upgrade():
        op.create_table("audit", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("audit")
'''}


def test_a_record_table_the_history_uses_is_refused_before_anything_is_written(tmp_path):
    """On MariaDB the whole upgrade applied, then the record's INSERT failed on the application's
    table: a failure reported for a completed migration. Now refused when the bundle is built."""
    project = write_project(tmp_path / "project", [TABLE, AUDIT],
                            distill_toml='record_applied = true\nrecord_table = "audit"\n')
    out = tmp_path / "bundle"
    for args in (["build", "--dialect", "mariadb,sqlite", "--out", str(out), "--name", "1.0"],
                 ["sql", "--dialect", "postgresql"]):
        result = run_distill(args, project)
        assert result.returncode == 1 and not result.stdout, result.stderr
        assert "revision d4 itself uses the table 'audit' that record_applied writes to" in result.stderr
        assert "002_d4.py" in result.stderr
    assert not out.exists()
