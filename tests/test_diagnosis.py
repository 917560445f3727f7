"""Why a revision cannot render offline: the cause comes from the exception's type and the
operation that failed, each cause with its own fix; the line is the failing operation's, also
inside a batch block; only real database access is told to guard with is_offline_mode()."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy
from projects import CREATE_T, run_distill, write_project

GUARD = "guard the database access with `if context.is_offline_mode(): ...`"
PG_ONLY = ("This revision is written for postgresql only; leave {d} out of this range's dialects, "
           "or guard it with `op.get_context().dialect.name`.")

CASES = {  # revision -> upgrade body (downgrade is `pass`)
    "c_dropuq": 'op.drop_constraint("uq_t_n", "t", type_="unique")',
    "c_fk": 'op.create_foreign_key("fk_t_t", "t", "t", ["n"], ["id"])',
    "c_fkcol": 'op.add_column("t", sa.Column("p", sa.Integer, sa.ForeignKey("t.id")))',
    "c_varchar": 'op.add_column("t", sa.Column("s", sa.String()))',
    "c_array": 'op.add_column("t", sa.Column("tags", postgresql.ARRAY(sa.Text)))',
    "c_jsonb": 'op.create_table("j", sa.Column("id", sa.Integer, primary_key=True),\n'
               '                    sa.Column("d", postgresql.JSONB()))',
    "c_dup": 'op.create_table("d", sa.Column("id", sa.Integer), sa.Column("id", sa.Integer))',
    "c_long": 'op.create_index("ix_" + "x" * 70, "t", ["n"])',
    "c_raise": 'if op.get_context().dialect.name != "postgresql":\n'
               '        raise RuntimeError("Unsupported dialect")',
    "c_iterate": 'for row in op.get_bind().execute(sa.text("SELECT id FROM t")):\n'
                 '        op.execute(f"UPDATE t SET n = {row.id}")',
    "c_batch": 'with op.batch_alter_table("t") as batch_op:\n'
               '        batch_op.add_column(sa.Column("q", sa.Integer))\n'
               '        batch_op.add_column(sa.Column("tags", postgresql.ARRAY(sa.Text)))\n'
               '        batch_op.add_column(sa.Column("r", sa.Integer))',
    "c_alter": 'op.alter_column("t", "n", nullable=False)',
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    revisions, down = [CREATE_T], "a1"
    for name, body in CASES.items():
        revisions.append({"revision": name, "down": down, "message": "" if name == "c_raise" else name,
                          "imports": "from sqlalchemy.dialects import postgresql",
                          "body": f"def upgrade():\n    {body}\n\ndef downgrade():\n    pass\n"})
        down = name
    root = write_project(tmp_path_factory.mktemp("diagnosis"), revisions)
    result = run_distill(["check", "--json", "--dialect", "postgresql,mysql,sqlite"], root)
    assert result.returncode == 1, result.stderr
    found = {}
    for entry in json.loads(result.stdout)["cannot_render"]:
        assert entry["direction"] == "upgrade"
        for dialect in entry["dialects"]:
            found[entry["revision"], dialect] = entry
    return {"found": found, "root": root}


DUPLICATE_REFUSED = sqlalchemy.__version__ >= "2"  # SQLAlchemy 1.4 replaces it, with a warning


def test_which_revisions_cannot_render_where(report):
    # SQLAlchemy 2.0 refuses a duplicate column (1.4 replaces it); 2.1 renders JSONB for SQLite
    by_version = [("c_dup", "postgresql"), ("c_dup", "mysql"), ("c_dup", "sqlite")] if DUPLICATE_REFUSED else []
    if sqlalchemy.__version__ < "2.1":
        by_version.append(("c_jsonb", "sqlite"))
    assert sorted(report["found"]) == sorted(by_version + [
        ("c_dropuq", "sqlite"), ("c_fk", "sqlite"), ("c_fkcol", "sqlite"), ("c_varchar", "mysql"),
        ("c_array", "mysql"), ("c_array", "sqlite"), ("c_jsonb", "mysql"),
        ("c_long", "postgresql"),
        ("c_raise", "mysql"), ("c_raise", "sqlite"), ("c_iterate", "postgresql"), ("c_iterate", "mysql"),
        ("c_iterate", "sqlite"), ("c_batch", "mysql"), ("c_batch", "sqlite"), ("c_alter", "mysql"),
    ])


@pytest.mark.parametrize("operation", ["drop_constraint", "create_foreign_key", "add_column"])
def test_sqlite_constraint_change_without_batch_mode_is_not_called_batch_mode(report, operation):
    revision = {"drop_constraint": "c_dropuq", "create_foreign_key": "c_fk", "add_column": "c_fkcol"}
    entry = report["found"][revision[operation], "sqlite"]
    assert entry["cause"].startswith(f"sqlite has no ALTER TABLE for op.{operation}() (NotImplementedError: ")
    assert entry["fix"].startswith("Do it in batch mode, which recreates the table: "
                                   f'`with op.batch_alter_table("t", copy_from=sa.Table(...)) as batch_op: '
                                   f"batch_op.{operation}(...)`")
    assert "without copy_from" not in entry["cause"] and GUARD not in entry["fix"]
    assert f"op.{operation}(" in entry["location"] and ", line 11 (" in entry["location"]


@pytest.mark.parametrize(("revision", "dialect", "type_name"), [
    ("c_array", "mysql", "ARRAY"), ("c_array", "sqlite", "ARRAY"), ("c_jsonb", "mysql", "JSONB")])
def test_postgresql_only_type(report, revision, dialect, type_name):
    entry = report["found"][revision, dialect]
    assert entry["cause"] == f"it uses {type_name}, a postgresql-only type that {dialect} cannot render"
    assert entry["fix"] == PG_ONLY.format(d=dialect)


@pytest.mark.parametrize(("revision", "dialect", "cause", "fix"), [
    ("c_varchar", "mysql", "column s is a String without a length, and mysql's VARCHAR needs one",
     "Give it a length (sa.String(255)), or use sa.Text for text without a limit."),
    pytest.param("c_dup", "sqlite", "it defines a column twice (DuplicateColumnError: A column with name "
                 "'id' is already present in table 'd')", "Remove or rename the duplicate column in the revision.",
                 marks=pytest.mark.skipif(not DUPLICATE_REFUSED, reason="SQLAlchemy 1.4 accepts it")),
    ("c_long", "postgresql", "a name is longer than postgresql allows (IdentifierError: Identifier 'ix_"
     + "x" * 70 + "' exceeds maximum length of 63 characters)",
     "Give the table, column, index or constraint a shorter explicit name (name=...)."),
    ("c_raise", "mysql", "the revision itself raises RuntimeError: Unsupported dialect",
     "It refuses to render for mysql this way: leave mysql out of this range's dialects, or change "
     "the revision. If it refuses offline mode on purpose (it needs a database), render with `--shadow`."),
    ("c_alter", "mysql", "on mysql, Alembic restates the whole column to alter it, so "
     "op.alter_column() needs the column's current type (CommandError: All MySQL CHANGE/MODIFY "
     "COLUMN operations require the existing type)",
     "Pass existing_type= (and existing_nullable=, existing_server_default= where they apply) to "
     "op.alter_column()."),
])
def test_each_cause_has_its_own_fix(report, revision, dialect, cause, fix):
    entry = report["found"][revision, dialect]
    assert (entry["cause"], entry["fix"]) == (cause, fix)


def test_only_database_access_is_told_to_guard(report):
    for (revision, _dialect), entry in report["found"].items():
        assert (GUARD in entry["fix"]) == (revision == "c_iterate"), entry
        assert not re.search(r"(?<!\.)\.\.(?!\.)", entry["cause"] + entry["fix"]), entry  # no ".."


def test_an_iterated_query_result_is_database_access(report):
    entry = report["found"]["c_iterate", "postgresql"]
    assert entry["cause"] == ("it uses the result of a statement at line 11 (its rows), which offline is "
                              "written to the script, not run: there is no result to use")
    assert entry["fix"].startswith("Usual fix: render it against a database with --shadow")
    assert entry["location"].endswith('line 11 (`for row in op.get_bind().execute(sa.text("SELECT id FROM t")):`)')


@pytest.mark.parametrize("dialect", ["mysql", "sqlite"])
def test_the_line_inside_a_batch_block_is_the_failing_operation(report, dialect):
    entry = report["found"]["c_batch", dialect]
    assert entry["location"].endswith(
        'line 13 (`batch_op.add_column(sa.Column("tags", postgresql.ARRAY(sa.Text)))`)'), entry
    assert entry["cause"] == f"it uses ARRAY, a postgresql-only type that {dialect} cannot render"


def test_a_revision_without_message_is_named_without_empty_parentheses(report):
    result = run_distill(["sql", "--dialect", "sqlite", "--from", "c_long", "--to", "c_raise"], report["root"])
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("distill: error: cannot render revision c_raise offline for sqlite "
                                    "(upgrade): migrations/versions/010_c_raise.py, line 12 "
                                    '(`raise RuntimeError("Unsupported dialect")`)'), result.stderr
    text = run_distill(["check", "--dialect", "sqlite", "--from", "c_long", "--to", "c_raise"],
                       report["root"]).stdout
    assert "  c_raise, upgrade, all dialects: migrations/versions/010_c_raise.py" in text
    assert "c_raise ()" not in text and "c_raise (" not in result.stderr


# Issue 30: causes read against real histories that sent users the wrong way
MASKING_HELPER = '''
def ids():
    try:
        rows = op.get_bind().execute(sa.text("SELECT id FROM t")).fetchall()
    finally:
        print(len(rows))  # UnboundLocalError when the read failed: it hides why
    return rows
'''
WRONG_WAY = {
    "w_dropc": 'op.drop_constraint("fk_t_t", "t")',
    "w_masked": 'ids()',
    "w_refuse": 'if context.is_offline_mode():\n        raise RuntimeError("this revision needs a database")',
    "w_every": 'op.add_column("t", "not a column")',
    "w_inspect": 'sa.inspect(op.get_bind()).get_columns("t")',
    "w_url": 'url = op.get_bind().engine.url',
    "w_batch": 'with op.batch_alter_table("t", recreate="always") as batch_op:\n'
               '        batch_op.add_column(sa.Column("q", sa.Integer))',
}
EVERYWHERE = "on every dialect checked, so leaving dialects out does not help"
SHADOW = "render with `--shadow`"


@pytest.fixture(scope="module")
def wrong_way(tmp_path_factory) -> dict:
    revisions, down = [CREATE_T], "a1"
    for name, body in WRONG_WAY.items():
        revisions.append({"revision": name, "down": down, "message": name,
                          "imports": "from alembic import context\n" + (MASKING_HELPER if name == "w_masked" else ""),
                          "body": f"def upgrade():\n    {body}\n\ndef downgrade():\n    pass\n"})
        down = name
    root = write_project(tmp_path_factory.mktemp("wrong_way"), revisions)
    result = run_distill(["check", "--json", "--dialect", "postgresql,mysql,sqlite"], root)
    assert result.returncode == 1, result.stderr
    found: dict[str, list[dict]] = {}
    for entry in json.loads(result.stdout)["cannot_render"]:
        found.setdefault(entry["revision"], []).append(entry)
    return found


def test_mysql_drop_constraint_without_its_kind_is_told_to_pass_type(wrong_way):
    by_dialect = {d: e for e in wrong_way["w_dropc"] for d in e["dialects"]}
    assert sorted(by_dialect) == ["mysql", "sqlite"]
    mysql = by_dialect["mysql"]
    assert mysql["cause"].startswith("op.drop_constraint() does not say which kind of constraint it drops, "
                                     "and mysql drops each kind its own way (NotImplementedError: ")
    assert mysql["fix"] == ('Pass the constraint\'s kind: op.drop_constraint(name, table, type_="foreignkey") '
                            '(or type_="unique", "check", "primary").')
    assert "batch" not in mysql["fix"]
    # SQLite has no ALTER for constraints at all, whatever the kind: batch mode stays its fix
    assert by_dialect["sqlite"]["fix"].startswith("Do it in batch mode")


def test_an_exception_a_finally_raised_leads_to_the_real_cause(wrong_way):
    [entry] = wrong_way["w_masked"]
    assert entry["dialects"] == ["postgresql", "mysql", "sqlite"]
    assert entry["cause"].startswith("it uses the result of a statement at line ")
    assert "(its .fetchall), which offline is written to the script, not run: there is no result to use; " \
           "UnboundLocalError: " in entry["cause"] and entry["cause"].endswith(", raised while handling that, hid it")
    assert entry["fix"].startswith("Usual fix: render it against a database with --shadow")


@pytest.mark.parametrize("revision", ["w_refuse", "w_every"])
def test_a_revision_failing_on_every_dialect_is_told_to_fix_the_revision(wrong_way, revision):
    [entry] = wrong_way[revision]
    assert entry["dialects"] == ["postgresql", "mysql", "sqlite"]
    assert EVERYWHERE in entry["fix"] and "leave postgresql" not in entry["fix"], entry
    assert entry["fix"].endswith("correct the revision. If it refuses offline mode on purpose (it needs a "
                                 "database), render with `--shadow`." if revision == "w_refuse"
                                 else "correct the operation at the line above.")


def test_a_revision_failing_on_some_dialects_may_leave_them_out(report):
    entry = report["found"]["c_raise", "sqlite"]
    assert entry["dialects"] == ["sqlite"] and "leave sqlite out of this range's dialects" in entry["fix"]
    assert entry["fix"].endswith(f"If it refuses offline mode on purpose (it needs a database), {SHADOW}.")


def test_every_failure_a_shadow_would_render_says_so(wrong_way, report):
    for revision in ("w_inspect", "w_url", "w_batch"):  # database reads; batch mode reflecting the table
        assert wrong_way[revision] and all(SHADOW in e["fix"] for e in wrong_way[revision]), wrong_way[revision]
    # the result of a statement used: test_an_iterated_query_result_is_database_access
