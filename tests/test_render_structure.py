"""Structure of the rendered SQL for every dialect, including the two that cannot run here
(Oracle, SQL Server): statement separators, version-table bookkeeping, no RETURNING that a
script client cannot run, notes printed by revisions kept as comments in their step."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic.ddl.mssql import MSSQLImpl
from projects import write_project

from distill import dialects
from distill.config import load
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline.render import render
from distill.statements.literals import literals_kept
from distill.statements.model import COMMENT, NOTE, SEPARATOR, SQL
from distill.statements.script_text import script_text

ALL = dialects.available()


def rendering(history, dialect, from_spec="base", to_spec="heads", down=False):
    return render(history, make_plan(history, from_spec, to_spec, down=down), dialects.get(dialect))


@pytest.mark.parametrize("dialect", ALL)
@pytest.mark.parametrize("down", [False, True])
def test_version_statements_are_plain_and_in_step_order(example_history, dialect, down):
    result = rendering(example_history, dialect, "heads" if down else "base",
                       "base" if down else "heads", down)
    version = [s.text for s in result.statements() if "alembic_version" in s.text]
    for text in version:
        assert "RETURNING" not in text.upper() and ":ret_" not in text
        assert "OUTPUT inserted" not in text
    if not down:  # created first, in a form that tolerates the empty table a downgrade leaves
        assert "CREATE TABLE" in version[0] and "alembic_version" in version[0]
        assert any(form in version[0] for form in ("IF NOT EXISTS", "IS NULL", "SQLCODE != -955"))
    for index, step in enumerate(result.plan.steps):
        own = [s.text for s in result.step_statements(index) if "alembic_version" in s.text]
        # INSERT/UPDATE to the revision going up; UPDATE/DELETE from it going down.
        assert any(f"'{step.revision}'" in t for t in own), (step.revision, own)


@pytest.mark.parametrize("dialect", ["oracle", "mssql"])
def test_every_statement_is_followed_by_its_batch_separator(example_history, dialect):
    separator = dialects.get(dialect).batch_separator
    statements = rendering(example_history, dialect).statements()
    for current, following in zip(statements, statements[1:] + [None], strict=True):
        # BEGIN TRANSACTION shares the first batch (Alembic writes no GO after it).
        if current.kind == SQL and current.text != "BEGIN TRANSACTION;":
            assert following is not None and following.kind == SEPARATOR, current.text
            assert following.text == separator
    text = script_text(statements, dialects.get(dialect))
    assert re.search(rf"^{re.escape(separator)}$", text, re.M)


def test_oracle_statements_have_no_terminator_but_plsql_blocks_keep_theirs(example_history):
    statements = [s for s in rendering(example_history, "oracle").statements() if s.kind == SQL]
    for s in statements:
        if "TRIGGER" in s.text:
            assert s.text.rstrip().endswith("END;")
            assert ":NEW.stock" in s.text and "\\:" not in s.text
        elif s.text.startswith("BEGIN"):  # the version table, created unless it exists
            assert s.text.rstrip().endswith("END;") and "-955" in s.text
        else:
            assert not s.text.rstrip().endswith(";"), s.text
    text = script_text(rendering(example_history, "oracle").statements(), dialects.get("oracle"))
    assert text.startswith(
        "-- sqlplus: stop at the first error\nWHENEVER SQLERROR EXIT SQL.SQLCODE ROLLBACK\n"
        "WHENEVER OSERROR EXIT FAILURE\n\n-- sqlplus session settings\nSET DEFINE OFF\n"
        "SET SQLBLANKLINES ON\n")


def test_sql_server_identity_insert_only_where_rows_carry_an_identity(example_history):
    text = script_text(rendering(example_history, "mssql").statements(), dialects.get("mssql"))
    # genres.id is not an identity column: Alembic's unconditional wrapper would fail there.
    assert "IDENTITY_INSERT" not in text
    assert "INSERT INTO genres (id, name, description) VALUES (1, 'Fiction'" in text


def test_sql_server_identity_insert_forms(tmp_path):
    body = '''
def upgrade():
    items = op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("name", sa.String(20)))
    op.bulk_insert(items, [{"id": 1, "name": "with id"}])
    op.bulk_insert(items, [{"name": "no id"}])
    light = sa.table("items", sa.column("id", sa.Integer), sa.column("name", sa.String))
    op.bulk_insert(light, [{"id": 2, "name": "light"}])

def downgrade():
    op.drop_table("items")
'''
    history = History(load(write_project(tmp_path, [{"revision": "ident00001", "body": body}])))
    texts = [s.text for s in rendering(history, "mssql").statements() if s.kind == SQL]
    on = [t for t in texts if "IDENTITY_INSERT" in t and t.endswith("ON;")]
    assert on[0] == "SET IDENTITY_INSERT items ON;"  # a Table whose identity column is given
    assert on[1] == (  # sa.table(): decided by the server
        "IF EXISTS (SELECT 1 FROM sys.identity_columns WHERE object_id = OBJECT_ID(N'items') "
        "AND name IN (N'id', N'name')) SET IDENTITY_INSERT items ON;"
    )
    assert len(on) == 2  # the rows without an id get no wrapper
    assert issubclass(MSSQLImpl, object)


def test_printed_notes_become_comments_in_their_step(example_history):
    for dialect in ALL:
        result = rendering(example_history, dialect)
        index = next(i for i, s in enumerate(result.plan.steps) if s.revision == "de1b9d8e2f13")
        notes = [s for s in result.step_statements(index) if s.kind == NOTE]
        assert [n.text for n in notes] == [
            "-- NOTE: books.updated_at is maintained by trigger trg_books_touch"
        ]
        others = [s for i in range(len(result.plan.steps)) if i != index
                  for s in result.step_statements(i) if s.kind == NOTE]
        assert others == []


def test_each_step_starts_with_alembics_running_comment(example_history):
    result = rendering(example_history, "postgresql")
    for index, step in enumerate(result.plan.steps):
        comments = [s.text for s in result.step_statements(index) if s.kind == COMMENT]
        assert comments[0].startswith("-- Running upgrade") and step.revision in comments[0]
    run_level = [s.text for seg in result.segments if seg.step is None for s in seg.statements]
    assert run_level == ["BEGIN;", "COMMIT;"]


def test_mysql_compound_statements_switch_the_delimiter(example_history):
    for dialect in ("mysql", "mariadb"):
        text = script_text(rendering(example_history, dialect).statements(), dialects.get(dialect))
        texts = text.split("\n\n")
        trigger = next(t for t in texts if "CREATE TRIGGER" in t)
        assert trigger.startswith("DELIMITER //\nCREATE TRIGGER trg_books_touch")
        assert trigger.endswith("END//\nDELIMITER ;")
        assert sum("DELIMITER" in t for t in texts) == 1  # only where it is needed


def test_literal_tabs_survive_and_layout_tabs_do_not():
    sql = "CREATE TABLE t (\n\tx VARCHAR(10) DEFAULT 'a\tb'\n)"
    for name in ALL:
        out = literals_kept(sql, dialects.get(name))
        assert out.startswith("CREATE TABLE t (\n    x VARCHAR(10)")
        assert "'a\tb'" in out


def test_literal_carriage_returns_per_dialect():
    sql = "INSERT INTO t VALUES ('a\r\nb', 'it''s\r')"
    assert literals_kept(sql, dialects.get("postgresql")) == sql
    assert literals_kept(sql, dialects.get("mysql")) == "INSERT INTO t VALUES ('a\\r\nb', 'it''s\\r')"
    assert literals_kept(sql, dialects.get("sqlite")) == (
        "INSERT INTO t VALUES (('a' || char(13) || '\nb'), ('it''s' || char(13) || ''))"
    )


def test_standalone_mode_never_runs_env_py_and_loses_its_naming_convention(example_history):
    plan = make_plan(example_history, "base", "2b7e")
    project = render(example_history, plan, dialects.get("postgresql")).statements()
    standalone = render(example_history, plan, dialects.get("postgresql"), standalone=True)
    project_text = "\n".join(s.text for s in project)
    standalone_text = "\n".join(s.text for s in standalone.statements())
    assert "CONSTRAINT ck_books_price_nonneg CHECK" in project_text  # env.py's target_metadata
    assert "CONSTRAINT price_nonneg CHECK" in standalone_text
    assert sa.__version__.startswith("2.")
