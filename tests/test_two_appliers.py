"""Two DBAs apply the same file to one database at once: the second waits on the first one's
lock (or fails on it), then its guard stops it cleanly; the change is applied exactly once.
Real clients, real servers; the first file sleeps while it holds the lock."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa
from helpers import online
from projects import run_distill, write_project

from distill.config import load

TABLE = {"revision": "a1", "message": "a table", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}
SLOW = {"revision": "b2", "down": "a1", "message": "a column, slowly", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("note", sa.String(20)))
        name = op.get_context().dialect.name
        if name == "postgresql":
            op.execute("SELECT pg_sleep(3)")
        elif name in ("mysql", "mariadb"):
            op.execute("DO SLEEP(3)")
        else:
            op.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000) "
                       "SELECT count(*) FROM c")

    def downgrade():
        op.drop_column("t", "note")
'''}


def _lock_is_held(database) -> bool:
    """Whether a session holds distill's applier lock on ``database`` right now."""
    if database.dialect == "sqlite":
        probe = sqlite3.connect(database.url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    query = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
             if database.dialect == "postgresql" else
             "SELECT IS_USED_LOCK(CONCAT('distill:', LEFT(SHA1(DATABASE()), 40))) IS NOT NULL")
    engine = sa.create_engine(database.url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        held = bool(connection.exec_driver_sql(query).scalar())
    engine.dispose()
    return held


def _client(database, script) -> subprocess.Popen:
    with open(script, "rb") as stdin:
        return subprocess.Popen(database.client, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _two_appliers(database, script: Path, sql: str) -> bytes:
    """The file applied by a first client, then by a second one while the first holds the lock:
    the first must succeed, the second fail; what the second printed on stderr."""
    script.write_text(sql)
    first = _client(database, script)
    deadline = time.monotonic() + 30
    while not _lock_is_held(database):
        assert first.poll() is None and time.monotonic() < deadline, "the first applier never took the lock"
        time.sleep(0.05)
    second = _client(database, script)
    first_err, second_err = first.communicate(timeout=120)[1], second.communicate(timeout=120)[1]
    assert first.returncode == 0, first_err.decode()
    assert second.returncode != 0
    return second_err


def test_the_second_applier_waits_for_the_first_then_its_guard_stops_it(tmp_path, databases):
    project = write_project(tmp_path / "project", [TABLE, SLOW])
    database = databases.create()
    online(load(project), database.url, "upgrade", "a1")
    result = run_distill(["sql", "--dialect", databases.dialect, "--from", "a1", "--to", "b2",
                          "--lock-timeout", "60s"], project)
    assert result.returncode == 0, result.stderr
    second_err = _two_appliers(database, tmp_path / "upgrade.sql", result.stdout)
    if databases.dialect == "postgresql":  # stopped at once, before its BEGIN (see the next test)
        assert "distill guard: another session is applying a distill file" in second_err.decode()
    else:
        assert "distill guard: expected alembic_version at a1" in second_err.decode()
        assert "b2" in second_err.decode()  # what it found: the first applier's work
    engine = sa.create_engine(database.url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert [r[0] for r in connection.exec_driver_sql("SELECT version_num FROM alembic_version")] == ["b2"]
        assert "note" in {c["name"] for c in sa.inspect(connection).get_columns("t")}
    engine.dispose()


# a step that commits in its middle (Alembic's autocommit_block(), for CREATE INDEX CONCURRENTLY):
# its first part adds a row, so a second run of it would show
CONCURRENT_INDEX = {"revision": "c3", "down": "a1", "message": "an index, concurrently", "body": '''
    def upgrade():
        op.execute("INSERT INTO t (id) SELECT coalesce(max(id), 0) + 1 FROM t")
        op.execute("SELECT pg_sleep(2)")
        with op.get_context().autocommit_block():
            op.create_index("ix_t_id", "t", ["id"], postgresql_concurrently=True)
        op.execute("SELECT pg_sleep(2)")

    def downgrade():
        op.drop_index("ix_t_id", table_name="t")
        op.execute("DELETE FROM t")
'''}


def test_a_step_that_commits_in_its_middle_runs_once_with_two_appliers(tmp_path, postgres_server):
    project = write_project(tmp_path / "project", [TABLE, CONCURRENT_INDEX])
    database = postgres_server.create()
    online(load(project), database.url, "upgrade", "a1")
    result = run_distill(["sql", "--dialect", "postgresql", "--from", "a1", "--to", "c3"], project)
    assert result.returncode == 0, result.stderr
    second_err = _two_appliers(database, tmp_path / "upgrade.sql", result.stdout)
    assert "distill guard: another session is applying a distill file" in second_err.decode()
    engine = sa.create_engine(database.url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        assert [r[0] for r in connection.exec_driver_sql("SELECT version_num FROM alembic_version")] == ["c3"]
        assert connection.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1  # the step ran once
        assert connection.exec_driver_sql(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_t_id'::regclass").scalar() is True
    engine.dispose()
