"""--shadow-url: revision code never runs on the named database. distill copies it (read-only)
into a database it made itself and renders there; the named database's dump is the same bytes
before and after, whatever the revisions do (commit, drop tables, use sequences, name schemas)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from helpers import assert_same_database, online
from projects import CREATE_T, run_distill, write_project
from sqlalchemy.engine import make_url

from distill.config import load

SETUP = {"revision": "a1", "message": "items, a table to drop, a table in a named schema", "body": '''
    SCHEMA = {schema!r}

    def upgrade():
        if SCHEMA == "side":
            op.execute("CREATE SCHEMA side")
        op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("name", sa.String(20)))
        op.create_table("doomed", sa.Column("id", sa.Integer, primary_key=True))
        op.create_table("keep", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("n", sa.Integer), schema=SCHEMA)

    def downgrade():
        pass
'''}
# commits distill's transaction itself (twice), reads rows, inserts through the sequence /
# auto-increment, drops a table, updates and drops a schema-qualified table
UNRULY = {"revision": "b2", "down": "a1", "message": "commits, drops, qualified names", "body": '''
    SCHEMA = {schema!r}
    QUALIFIED = "" if SCHEMA is None else SCHEMA + "."

    def upgrade():
        bind = op.get_bind()
        for row in bind.execute(sa.text("SELECT id, name FROM items ORDER BY id")).fetchall():
            bind.execute(sa.text("UPDATE items SET name = :n WHERE id = :i"),
                         {{"n": row.name.upper(), "i": row.id}})
        bind.commit() if hasattr(bind, "commit") else None  # SQLAlchemy 1.4: no commit() (the COMMIT below)
        items = sa.table("items", sa.column("id", sa.Integer), sa.column("name", sa.String))
        op.bulk_insert(items, [{{"name": "added"}}])
        bind.exec_driver_sql("COMMIT")
        op.drop_table("doomed")
        op.execute("UPDATE " + QUALIFIED + "keep SET n = n + 1")
        op.create_table("kept", sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))
        op.execute("INSERT INTO kept SELECT id, n FROM " + QUALIFIED + "keep")
        op.drop_table("keep", schema=SCHEMA)

    def downgrade():
        pass
'''}


def _history(root, schema, *, commits=True):
    """The history; without ``commits``, the same without the revision's own commits (online
    Alembic, the reference, loses what follows them: its transaction is gone)."""
    revisions = [{**r, "body": r["body"].format(schema=schema)} for r in (SETUP, UNRULY)]
    if not commits:
        for revision in revisions:
            revision["body"] = "\n".join(line for line in revision["body"].splitlines()
                                         if "COMMIT" not in line and "commit()" not in line)
    return write_project(root, revisions)


def _at_a1_with_rows(settings, database, qualified):
    online(settings, database.url, "upgrade", "a1")
    database.apply(f"INSERT INTO items (name) VALUES ('apple'); INSERT INTO items (name) VALUES ('pear');"
                   f"INSERT INTO doomed VALUES (5); INSERT INTO {qualified}keep VALUES (1, 10);")


def _file_bytes(database):
    return database.url.split(":///", 1)[1] if database.dialect == "sqlite" else None


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb", "sqlite"])
def test_the_named_database_is_the_same_bytes_after_revisions_that_commit_drop_and_qualify(
        dialect, request, tmp_path):
    from conftest import Databases
    databases = Databases(dialect, request)
    named = databases.create()
    schema = {"postgresql": "side", "sqlite": None, "mariadb": make_url(named.url).database}[dialect]
    qualified = f"{schema}." if schema else ""
    project = _history(tmp_path / "project", schema)
    settings = load(project)
    _at_a1_with_rows(settings, named, qualified)
    before = named.dump()
    raw = open(_file_bytes(named), "rb").read() if dialect == "sqlite" else None
    result = run_distill(["sql", "--dialect", dialect, "--from", "a1", "--to", "b2", "--shadow-url", named.url],
                         project)
    assert result.returncode == 0, result.stderr
    assert named.dump() == before  # rows, sequences, schemas and version table as they were
    if raw is not None:
        assert open(_file_bytes(named), "rb").read() == raw
        built = run_distill(["build", "--dialect", "sqlite", "--from", "a1", "--to", "b2", "--out",
                             str(tmp_path / "bundle"), "--shadow-url", named.url], project)
        assert built.returncode == 0, built.stderr
        assert open(_file_bytes(named), "rb").read() == raw and named.dump() == before
        manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
        assert manifest["dialects"]["sqlite"]["shadow"] == {
            "kind": "url", "held_data": True, "server_version": sqlite3.sqlite_version}
        assert str(tmp_path) not in (tmp_path / "bundle" / "manifest.json").read_text()
    flat = " ".join(result.stdout.split())
    assert "UPDATE items SET name = 'PEAR' WHERE id = 2" in flat
    assert "DROP TABLE doomed" in flat and f"DROP TABLE {qualified}keep" in flat
    assert "-- DATA-DEPENDENT: rendered from the rows of items in a copy of the --shadow-url " in result.stdout
    if dialect == "mariadb":
        return  # the SQL names the named database itself: not applied to another one
    target, reference = databases.create(), databases.create()
    for database in (target, reference):
        _at_a1_with_rows(settings, database, qualified)
    target.apply(result.stdout)
    online(load(_history(tmp_path / "reference", schema, commits=False)), reference.url, "upgrade", "b2")
    assert_same_database(reference.url, target.url)
    if dialect == "postgresql":  # the sequence too: same setval, so the next row gets the same id
        assert target.dump() == reference.dump()


LATIN1 = [
    {"revision": "a1", "message": "parents, in the database's own character set", "body": '''
    def upgrade():
        op.create_table("parents", sa.Column("code", sa.String(10), primary_key=True))

    def downgrade():
        op.drop_table("parents")
'''},
    {"revision": "b2", "down": "a1", "message": "children referencing parents", "body": '''
    def upgrade():
        op.create_table("children", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("parent", sa.String(10), sa.ForeignKey("parents.code")))

    def downgrade():
        op.drop_table("children")
'''},
    {"revision": "c3", "down": "b2", "message": "reaches into another database", "body": '''
    def upgrade():
        op.execute("UPDATE {other}.t SET n = 2")

    def downgrade():
        pass
'''},
]


def test_a_mariadb_copy_keeps_the_character_set_and_reaches_no_other_database(mariadb_server, tmp_path):
    """The copy has the named database's character set and collation (a new foreign key to a
    latin1 table works as online); a name qualified with another database of the same server
    fails in the copy, loudly, instead of reaching it."""
    named, other = mariadb_server.create(), mariadb_server.create()
    name, other_name = make_url(named.url).database, make_url(other.url).database
    named.apply(f"ALTER DATABASE `{name}` CHARACTER SET latin1 COLLATE latin1_swedish_ci;")
    other.apply("CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1);")
    project = write_project(tmp_path / "project", [{**r, "body": r["body"].replace("{other}", other_name)}
                                                   for r in LATIN1])
    online(load(project), named.url, "upgrade", "a1")
    before, other_before = named.dump(), other.dump()
    result = run_distill(["sql", "--dialect", "mariadb", "--from", "a1", "--to", "c3", "--shadow-url", named.url],
                         project)
    assert result.returncode == 1 and not result.stdout
    # b2 rendered (its FOREIGN KEY to the latin1 table works in the copy); c3 could not
    assert "cannot render revision c3 (reaches into another database)" in result.stderr, result.stderr
    assert f"Table '{other_name}.t' doesn't exist" in result.stderr, result.stderr
    assert "Only the --shadow-url database itself is copied" in result.stderr
    assert named.dump() == before and other.dump() == other_before


def test_a_url_whose_port_is_no_number_is_an_error_without_traceback_or_password(tmp_path):
    """make_url raises ValueError for such a port (found in review: a traceback)."""
    project = write_project(tmp_path / "project", [CREATE_T])
    repo = Path(__file__).resolve().parent.parent  # the example, with its committed bundles
    bad = "postgresql://u:s3cret@host:badport/db"
    for args, cwd in ((["sql", "--dialect", "postgresql", "--shadow-url", bad], project),
                      (["rehearse", "releases/1.0", "--url", bad], repo)):
        result = run_distill(args, cwd)  # run_distill asserts no traceback
        assert result.returncode != 0 and "s3cret" not in result.stdout + result.stderr
        assert "is not a database URL" in result.stderr, result.stderr
