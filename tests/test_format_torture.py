"""The formatter never changes meaning: a torture corpus, formatted and unformatted, applied with
the real clients, gives identical schema and data; and it reads better where it can."""

from __future__ import annotations

import pytest
from helpers import assert_same_database

from distill import dialects
from distill.statements.formatting import Formatter
from distill.statements.model import SEPARATOR, SQL, Statement
from distill.statements.script_text import script_text

ROWS = ", ".join(f"({i}, 'row {i}; -- not a comment', 'it''s {i}')" for i in range(10_000))

POSTGRESQL = [
    'CREATE TABLE account (id integer primary key, "user" text, data text, type text, key text, version integer)',
    'CREATE TABLE "user" (id serial primary key, name text not null, "Mixed Case" text)',
    "create table data (id int, payload jsonb)",
    "create table type (id int, v text)",
    "create table key (id int)",
    "create table version (id int, n text)",
    "insert into account (id, \"user\", data, type, key, version) values (1, 'C:\\temp\\', 'a;b', '-- x', 'tab\tin', 2)",
    "INSERT INTO account VALUES (2, E'esc\\\\aped\\'quote\\\\', 'it''s', '/* not */', 'x', 3)",
    "update account set data = 'updated; -- still', version = version + 1 where id = 1 and type = '-- x'",
    "insert into \"user\" (name, \"Mixed Case\") values ('ünïcödé 日本 📚', 'Keep')",
    "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.n := 'x;y'; RETURN NEW; END; $$",
    "CREATE FUNCTION plus_one(a int) RETURNS int LANGUAGE sql AS $body$ SELECT a + 1; $body$",
    "CREATE TRIGGER trg BEFORE INSERT ON version FOR EACH ROW EXECUTE FUNCTION touch()",
    "insert into version (id, n) values (1, 'replaced by the trigger')",
    "insert into data select g, jsonb_build_object('k', g) from generate_series(1, 5) g",
    "insert into type (id, v) select id, payload->>'k' from data where payload ? 'k' and payload #> '{k}' is not null",
    "insert into type (id, v) select 99, 'match' where 'ABC' ~* 'b' and plus_one(1) = 2",
    "create index ix_account_data on account (data) where data <> 'a;b'",
    "create view v_account as select a.id, a.\"user\", u.name from account a left join \"user\" u on u.id = a.id where a.key is not null order by a.id",
    "alter table account add column note text default 'd''efault; --'",
    "CREATE TABLE big (id int primary key, a text, b text)",
    f"INSERT INTO big (id, a, b) VALUES {ROWS}",
]

MARIADB = [
    "CREATE TABLE account (id int primary key, `user` text, data text, type text, `key` text, version int) /*!40101 ENGINE=InnoDB */",
    "CREATE TABLE `user` (id int auto_increment primary key, name varchar(50), `Mixed Case` text)",
    "CREATE TABLE Data (id int)",  # table names are case-sensitive here: Data and data are two
    "CREATE TABLE data (id int)",
    "insert into account (id, `user`, data, type, `key`, version) values (1, 'C:\\\\temp\\\\', 'a;b', '-- x', 'tab\\tin', 2)",
    "insert into account values (2, 'back\\\\slash at end\\\\', 'it''s', \"double \\\"quoted\\\"\", '/* x */', 3)",
    "insert into Data values (1)",
    "insert into data values (2)",
    "/*!40101 SET @saved_client = @@character_set_client */",
    "update account set data = 'updated; -- still', version = version + 1 where id = 1",
    "insert into `user` (name, `Mixed Case`) values ('ünïcödé 日本 📚', 'Keep')",
    "CREATE TRIGGER trg BEFORE INSERT ON account FOR EACH ROW BEGIN SET NEW.type = 'trg;x'; SET NEW.version = NEW.version + 1; END",
    "CREATE PROCEDURE bump() BEGIN UPDATE data SET id = id + 1; UPDATE Data SET id = id + 10; END",
    "CALL bump()",
    "insert into account (id, version) values (3, 0)",
    "create view v_account as select a.id, a.`user`, u.name from account a left join `user` u on u.id = a.id where a.`key` is not null",
    "CREATE TABLE big (id int primary key, a text, b text)",
    f"INSERT INTO big (id, a, b) VALUES {ROWS}",
]

SQLITE = [
    'CREATE TABLE account (id integer primary key, "user" text, data text, type text, key text, version integer)',
    "CREATE TABLE [user] (id integer primary key, name text, `Mixed Case` text)",
    "insert into account (id, \"user\", data, type, key, version) values (1, 'C:\\temp\\', 'a;b', '-- x', 'tab\tin', 2)",
    "insert into account values (2, 'it''s', '/* x */', 'x', 'y', 3)",
    "CREATE TRIGGER trg AFTER INSERT ON account BEGIN UPDATE account SET type = 'trg;x' WHERE id = NEW.id; END",
    "insert into account (id, version) values (3, 0)",
    "insert into [user] (name, `Mixed Case`) values ('ünïcödé 日本 📚', 'Keep')",
    "update account set data = 'updated; -- still', version = version + 1 where id = 1",
    "create view v_account as select a.id, a.\"user\", u.name from account a left join [user] u on u.id = a.id where a.key is not null",
    "CREATE TABLE big (id int primary key, a text, b text)",
    f"INSERT INTO big (id, a, b) VALUES {ROWS}",
]

CORPORA = {"postgresql": POSTGRESQL, "mariadb": MARIADB, "sqlite": SQLITE}


def statements(dialect_name: str) -> list[Statement]:
    terminator = dialects.get(dialect_name).terminator
    return [Statement(SQL, text + terminator) for text in CORPORA[dialect_name]]


@pytest.fixture(params=sorted(CORPORA))
def torture(request):
    dialect = dialects.get(request.param)
    return dialect, request


def test_formatted_and_unformatted_corpora_give_the_same_database(torture):
    dialect, request = torture
    from conftest import Databases

    raw = statements(dialect.name)
    formatter = Formatter(dialect)
    formatted = formatter.statements(raw)
    stats = formatter.stats
    assert stats.formatted >= 5, stats.summary()  # it really formats
    assert stats.verbatim["over the size cap"] == 1  # the 10,000-row INSERT
    databases = Databases(dialect.name, request)
    plain_db, formatted_db = databases.create(), databases.create()
    plain_db.apply(script_text(raw, dialect))
    formatted_db.apply(script_text(formatted, dialect))
    assert_same_database(plain_db.url, formatted_db.url)
    # and the formatting is a fixpoint
    again = Formatter(dialect)
    assert again.statements(formatted) == formatted
    assert again.stats.formatted == 0


def test_case_is_changed_only_where_names_fold():
    for name in ("mysql", "mariadb", "mssql", "sqlite"):
        out = Formatter(dialects.get(name)).text("select data, key, version from account where type = 1")
        assert out == "select data,\n       key,\n       version\nfrom account\nwhere type = 1"
    out = Formatter(dialects.get("postgresql")).text("select data, key, version from account where type = 1")
    # names that look like keywords (data, key, version, type) keep their case even here
    assert out == "SELECT data,\n       key,\n       version\nFROM account\nWHERE type = 1"


def test_backslash_string_does_not_derail_the_formatter():
    # plain sqlparse lexes \\' as an escaped quote here and then upper-cases the data that follows
    sql = "insert into t (a, b) values ('C:\\temp\\', 'select from where')"
    out = Formatter(dialects.get("postgresql")).text(sql)
    assert out == "INSERT INTO t (a, b)\nVALUES ('C:\\temp\\', 'select from where')"


def test_separators_and_comments_are_kept_exactly():
    for name, separator in (("mssql", "GO"), ("oracle", "/")):
        dialect = dialects.get(name)
        items = [Statement(SQL, "select a from t"), Statement(SEPARATOR, separator),
                 Statement("comment", "-- Running upgrade  -> x")]
        out = Formatter(dialect).statements(items)
        assert out[1:] == items[1:]
        plsql = "BEGIN\n  IF :x > 0 THEN\n    raise_application_error(-20001, 'a;b');\n  END IF;\nEND;"
        assert Formatter(dialect).statement(Statement(SQL, plsql)).text.count("\n") == 4


def test_format_none_is_alembic_unchanged(example_history):
    from distill.history.plan import make_plan
    from distill.offline.render import render

    plan = make_plan(example_history, "base", "heads")
    rendering = render(example_history, plan, dialects.get("postgresql"))
    formatter = Formatter(dialects.get("postgresql"), "none")
    assert formatter.statements(rendering.statements()) == rendering.statements()


def test_cli_format_option_and_counts():
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent

    def run(*args):
        from runner import run_distill
        return run_distill(["sql", "--dialect", "postgresql", "--to", "2b7e", *args], repo)

    formatted, plain = run("-v"), run("--format", "none")
    assert "UPDATE alembic_version\nSET version_num='2b7e41d09c02'\nWHERE" in formatted.stdout
    assert "UPDATE alembic_version SET version_num='2b7e41d09c02' WHERE" in plain.stdout
    assert formatted.stderr.startswith("distill: postgresql: ")
    assert " formatted, " in formatted.stderr and "kept verbatim" in formatted.stderr
    assert plain.stderr == ""
