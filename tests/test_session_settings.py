"""Files read the same whatever the applying session's settings (issue 29): SQLite with foreign
keys enforced (a ~/.sqliterc can turn them on) and MySQL/MariaDB whose server sql_mode has
NO_BACKSLASH_ESCAPES and ANSI_QUOTES. Each test applies distill's SQL with the real client."""

from __future__ import annotations

import subprocess

import pytest
import sqlalchemy as sa
from helpers import render_sql
from projects import write_project
from test_literals_real import BODY, CORPUS

from distill.config import load
from distill.history.scripts import History

# a parent whose children go with it (ON DELETE CASCADE), then a batch-mode change of the parent,
# which SQLite makes by copying it to a new table, dropping the old one and renaming
CASCADE = [
    {"revision": "fk0001", "message": "parent and children", "body": '''
def upgrade():
    op.create_table("parent", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.String(20), nullable=False))
    op.create_table("child", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("parent_id", sa.Integer,
                              sa.ForeignKey("parent.id", ondelete="CASCADE"), nullable=False))
    op.execute("INSERT INTO parent (id, name) VALUES (1, 'one'), (2, 'two')")
    op.execute("INSERT INTO child (id, parent_id) VALUES (10, 1), (11, 1), (20, 2)")

def downgrade():
    op.drop_table("child")
    op.drop_table("parent")
'''},
    {"revision": "fk0002", "down": "fk0001", "message": "recreate the parent", "body": '''
PARENT = sa.Table("parent", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("name", sa.String(20), nullable=False))

def upgrade():
    with op.batch_alter_table("parent", copy_from=PARENT, recreate="always") as batch:
        batch.add_column(sa.Column("rank", sa.Integer, nullable=True))

def downgrade():
    ranked = sa.Table("parent", sa.MetaData(), *[c.copy() for c in PARENT.columns],
                      sa.Column("rank", sa.Integer, nullable=True))
    with op.batch_alter_table("parent", copy_from=ranked, recreate="always") as batch:
        batch.drop_column("rank")
'''},
]

ORPHAN = {"revision": "fk0003", "down": "fk0002", "message": "an orphan", "body": '''
def upgrade():
    op.execute("INSERT INTO child (id, parent_id) VALUES (99, 999)")

def downgrade():
    op.execute("DELETE FROM child WHERE id = 99")
'''}


def _sqlite_with_foreign_keys(path, sql: str) -> subprocess.CompletedProcess:
    """``sqlite3 -bail`` with enforcement on before the file runs, as a ~/.sqliterc would."""
    return subprocess.run(["sqlite3", "-bail", "-cmd", "PRAGMA foreign_keys = ON", str(path)],
                          input=sql.encode(), capture_output=True, timeout=60)


def _rows(path, query: str) -> list[tuple]:
    with sa.create_engine(f"sqlite:///{path}").connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(query))]


@pytest.fixture(scope="module")
def cascade_history(tmp_path_factory) -> History:
    return History(load(write_project(tmp_path_factory.mktemp("cascade"), [*CASCADE, ORPHAN])))


def test_sqlite_table_recreate_keeps_child_rows_with_foreign_keys_on(cascade_history, tmp_path):
    database = tmp_path / "shop.sqlite"
    first = _sqlite_with_foreign_keys(database, render_sql(cascade_history, "sqlite", "base", "fk0001"))
    assert first.returncode == 0, first.stderr
    result = _sqlite_with_foreign_keys(database, render_sql(cascade_history, "sqlite", "fk0001", "fk0002"))
    assert result.returncode == 0, result.stderr
    assert _rows(database, "SELECT id, parent_id FROM child ORDER BY id") == [(10, 1), (11, 1), (20, 2)]
    assert _rows(database, "SELECT version_num FROM alembic_version") == [("fk0002",)]
    assert [column[1] for column in _rows(database, "PRAGMA table_info(parent)")] == ["id", "name", "rank"]
    # and back down: the parent is recreated again, the children stay
    down = _sqlite_with_foreign_keys(
        database, render_sql(cascade_history, "sqlite", "fk0002", "fk0001", down=True))
    assert down.returncode == 0, down.stderr
    assert _rows(database, "SELECT count(*) FROM child") == [(3,)]


def test_sqlite_file_that_would_leave_a_violation_stops_with_nothing_committed(cascade_history, tmp_path):
    database = tmp_path / "shop.sqlite"
    setup = _sqlite_with_foreign_keys(database, render_sql(cascade_history, "sqlite", "base", "fk0002"))
    assert setup.returncode == 0, setup.stderr
    before = subprocess.run(["sqlite3", str(database), ".dump"], capture_output=True, check=True).stdout
    result = _sqlite_with_foreign_keys(database, render_sql(cascade_history, "sqlite", "fk0002", "fk0003"))
    assert result.returncode != 0
    assert b"1 more rows violating a foreign key" in result.stderr
    after = subprocess.run(["sqlite3", str(database), ".dump"], capture_output=True, check=True).stdout
    assert after == before


def test_sqlite_file_without_a_guard_still_stops_on_a_violation(cascade_history, tmp_path):
    """--no-guard: no lock, so no transaction and no COMMIT; the check runs at the end (found in
    review: it was skipped, exit 0 with the orphan committed)."""
    database = tmp_path / "shop.sqlite"
    setup = _sqlite_with_foreign_keys(database, render_sql(cascade_history, "sqlite", "base", "fk0002"))
    assert setup.returncode == 0, setup.stderr
    unguarded = render_sql(cascade_history, "sqlite", "fk0002", "fk0003", guard=False)
    assert "BEGIN" not in unguarded
    result = _sqlite_with_foreign_keys(database, unguarded)
    assert result.returncode != 0 and b"1 more rows violating a foreign key" in result.stderr


@pytest.fixture(scope="module")
def corpus_history(tmp_path_factory) -> History:
    root = write_project(tmp_path_factory.mktemp("modes"), [
        {"revision": "c0ffee000001", "message": "literal corpus", "body": BODY.format(corpus=CORPUS)}])
    return History(load(root))


@pytest.mark.parametrize("dialect", ["mariadb", "mysql"])
def test_literals_arrive_unchanged_whatever_the_server_sql_mode(dialect, mariadb_server, corpus_history):
    database = mariadb_server.create(dialect)
    sql = render_sql(corpus_history, dialect, "base", "heads")
    server = [*mariadb_server.client(""), "-N", "-e"]
    previous = subprocess.run([*server, "SELECT @@GLOBAL.sql_mode"], capture_output=True, text=True,
                              check=True).stdout.strip()
    subprocess.run([*server, f"SET GLOBAL sql_mode = '{previous},NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"],
                   check=True)
    try:
        database.apply(sql)  # a new session: it starts with the server's mode
        mode = subprocess.run([*database.client, "-N", "-e", "SELECT @@SESSION.sql_mode"],
                              capture_output=True, text=True, check=True).stdout
        assert "NO_BACKSLASH_ESCAPES" in mode and "ANSI_QUOTES" in mode
    finally:
        subprocess.run([*server, f"SET GLOBAL sql_mode = '{previous}'"], check=True)
    url = database.url.replace(f"{dialect}+pymysql", "mysql+pymysql")
    with sa.create_engine(url).connect() as connection:
        stored = dict(connection.execute(sa.text(
            "SELECT id, value FROM corpus WHERE via = 'bulk_insert'")).all())
        execute = dict(connection.execute(sa.text(
            "SELECT id - 1000, value FROM corpus WHERE via = 'execute'")).all())
    # row 0 is the one the revision's UPDATE changes: a tab and a backslash
    assert stored == {**dict(enumerate(CORPUS)), 0: "updated\tvalue\\"}
    assert execute == dict(enumerate(CORPUS))
