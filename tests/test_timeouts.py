"""--lock-timeout / --statement-timeout: the dialect's settings at the top of every file, after
the guard; on the real servers a file blocked by another session's lock stops at the timeout and
leaves the database as it was."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest
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
COLUMN = {"revision": "b2", "down": "a1", "message": "a column", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("note", sa.String(20)))

    def downgrade():
        op.drop_column("t", "note")
'''}
# what keeps ALTER TABLE t waiting in each dialect, held by another session
_HOLD = {"postgresql": "LOCK TABLE t IN ACCESS SHARE MODE", "mariadb": "SELECT * FROM t",
         "mysql": "SELECT * FROM t"}
_TIMED_OUT = {"postgresql": "canceling statement due to lock timeout",
              "mariadb": "Lock wait timeout exceeded", "mysql": "Lock wait timeout exceeded",
              "sqlite": "database is locked"}


@contextlib.contextmanager
def _lock_held(database):
    """Another session holding a lock on t until the block ends."""
    if database.dialect == "sqlite":
        connection = sqlite3.connect(database.url.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    engine = sa.create_engine(database.url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        transaction = connection.begin()
        connection.exec_driver_sql(_HOLD[database.dialect])
        try:
            yield
        finally:
            transaction.rollback()
    engine.dispose()


def test_a_file_blocked_by_a_lock_stops_at_the_lock_timeout_and_changes_nothing(tmp_path, databases):
    project = write_project(tmp_path / "project", [TABLE, COLUMN])
    database = databases.create()
    online(load(project), database.url, "upgrade", "a1")
    result = run_distill(["sql", "--dialect", databases.dialect, "--from", "a1", "--to", "b2",
                          "--lock-timeout", "1s", "--statement-timeout", "1min"], project)
    assert result.returncode == 0, result.stderr
    before = database.dump()
    with _lock_held(database):
        applied = database.apply(result.stdout, check=False)
    assert applied.returncode != 0
    assert _TIMED_OUT[databases.dialect] in applied.stderr.decode()
    assert database.dump() == before  # neither the column nor alembic_version changed
    database.apply(result.stdout)  # once the lock is gone, the same file applies
    assert "b2" in database.dump().decode()


@pytest.mark.parametrize("dialect, expected", [
    ("postgresql", ["SET lock_timeout = '1500ms';", "SET statement_timeout = '120000ms';"]),
    ("mysql", ["SET SESSION lock_wait_timeout = 2;", "SET SESSION innodb_lock_wait_timeout = 2;",
               "-- no statement timeout: MySQL limits only SELECT statements (max_execution_time), "
               "not DDL or DML"]),
    ("mariadb", ["SET SESSION lock_wait_timeout = 2;", "SET SESSION innodb_lock_wait_timeout = 2;",
                 "SET SESSION max_statement_time = 120;"]),
    ("sqlite", [".timeout 1500", "-- no statement timeout: SQLite has no statement timeout"]),
    ("mssql", ["SET LOCK_TIMEOUT 1500;", "GO", "-- no statement timeout: SQL Server has no statement "
               "timeout a script can set (sqlcmd -t sets the client's query timeout)"]),
    ("oracle", ["ALTER SESSION SET DDL_LOCK_TIMEOUT = 2;", "-- no statement timeout: Oracle has no "
                "statement timeout a script can set (the Resource Manager limits calls)"]),
])
def test_every_file_of_a_bundle_sets_the_timeouts_at_its_top(tmp_path, dialect, expected):
    project = write_project(tmp_path / "project", [TABLE, COLUMN],
                            distill_toml='lock_timeout = "1500ms"\nstatement_timeout = "2min"\n')
    out = tmp_path / "bundle"
    result = run_distill(["build", "--dialect", dialect, "--out", str(out)], project)
    assert result.returncode == 0, result.stderr
    files = sorted((out / dialect).rglob("*.sql"))
    assert len(files) == 6
    for path in files:
        text = path.read_text()
        block = "-- timeouts (lock 1500ms, statement 2min): a statement that waits or runs longer " \
                "fails, and the file stops there\n" + "\n".join(expected) + "\n"
        assert block in text, path
        # before the lock against a second applier (whose wait the lock timeout bounds), where the
        # dialect takes one; else right after the guard
        first = "-- lock:" if dialect in ("postgresql", "mysql", "mariadb", "sqlite") else "-- guard"
        assert text.index(first) > text.index(block) if first.startswith("-- lock") else \
            text.index(first) < text.index(block)
    runbook = (out / "README.md").read_text()
    assert "Every file sets timeouts (lock 1500ms, statement 2min) at its top, before its lock" in runbook
    verified = run_distill(["verify", str(out), "--rebuild"], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_duration_without_a_unit_is_refused_naming_the_option(tmp_path):
    project = write_project(tmp_path / "project", [TABLE])
    result = run_distill(["sql", "--dialect", "sqlite", "--lock-timeout", "5"], project)
    assert result.returncode == 2 and not result.stdout  # a usage error
    assert result.stderr.endswith("Error: --lock-timeout: '5' is not a duration: give a number and "
                                  "a unit (500ms, 5s, 2min, 1h)\n")
    bad = write_project(tmp_path / "bad", [TABLE], distill_toml='statement_timeout = "2 days"\n')
    result = run_distill(["sql", "--dialect", "sqlite"], bad)
    assert result.returncode == 1 and "statement_timeout: '2 days' is not a duration" in result.stderr
