"""Each dialect's guard is written with the construct of the dialect's manual, as this file states it
(independently of the data file that writes the guard, whose own claim is checked too), for a check
at some revision, from base, and for the stop at a point of no return. MySQL's guard
uses no SIGNAL at all: its manual forbids SIGNAL as a prepared statement (MariaDB allows it, so
running it here could not tell), and a stored procedure would be left behind by a refusal."""

from __future__ import annotations

import re

import pytest

from distill import dialects
from distill.statements.guards import guard_statements, stop_statement
from distill.statements.model import VersionTable

TABLE = VersionTable("alembic_version", None, "alembic_version",
                     "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")


# Written here from each dialect's manual, not read from dialects/*.toml: the statement that stops
# the client on a wrong version ({accepted}: the IN list of versions the guard lets through), the
# one that stops it at a point of no return ({message}), and where the manual is.
_MYSQL = (r"(?s)PREPARE distill_guard FROM @distill_sql;.*SET SESSION sql_mode = IF\(BINARY @distill_found "
          r"IN \({accepted}\), @@SESSION\.sql_mode, CONCAT\('distill guard: expected alembic_version at ",
          r"SET SESSION sql_mode = REPLACE\('{message}', ',', ' '\);", "https://dev.mysql.com/doc/")
FACTS = {
    "postgresql": (r"(?s)^DO \$distill_guard\$\n.*IF found IS NULL OR found NOT IN \({accepted}\) THEN\n"
                   r"        RAISE EXCEPTION 'distill guard: expected alembic_version at %, found %', .*\$distill_guard\$;",
                   r"DO \$distill_stop\$\nBEGIN\n    RAISE EXCEPTION '{message}';\nEND\n\$distill_stop\$;",
                   "https://www.postgresql.org/docs/"),
    "mysql": _MYSQL,
    "mariadb": _MYSQL,  # MySQL's construct, not SIGNAL (below)
    "sqlite": (r"json_extract\('\[\]', CASE WHEN found IN \({accepted}\) THEN '\$' ELSE 'distill guard: expected "
               r"alembic_version at .*\) = 'never';",
               r"SELECT json_extract\('\[\]', '{message}'\);", "https://www.sqlite.org/"),
    "mssql": (r"(?s)^DECLARE @distill_found .*IF @distill_found NOT IN \({accepted}\)\nBEGIN\n.*"
              r"    THROW 50000, @distill_message, 1;\nEND;\nGO",
              r"THROW 50001, N'{message}', 1;\nGO", "https://learn.microsoft.com/en-us/sql/"),
    "oracle": (r"(?s)^DECLARE\n.*    IF found NOT IN \({accepted}\) THEN\n        RAISE_APPLICATION_ERROR\(-20000, "
               r"'distill guard: expected alembic_version at .*\nEND;\n/",
               r"BEGIN\n    RAISE_APPLICATION_ERROR\(-20001, '{message}'\);\nEND;\n/", "https://docs.oracle.com/"),
}
STOP = "distill: cannot revert abc: restore from a backup"


def test_every_dialect_has_its_facts_here():
    assert sorted(FACTS) == sorted(dialects.available())


@pytest.mark.parametrize("name", sorted(FACTS))
@pytest.mark.parametrize("revisions", [("3c1d9e8f2a03",), ("ab8e2a1b5c10", "9c7d3f2a6b09"), ()])
def test_the_guard_is_the_construct_of_the_manual(name, revisions):
    guard_pattern, _stop, manual = FACTS[name]
    dialect = dialects.get(name)
    quote = "N'" if name == "mssql" else "'"
    values = [",".join(sorted(revisions))] if revisions else ["(no alembic_version table)", "(empty)"]
    accepted = re.escape(", ".join(f"{quote}{value}'" for value in values))
    guard = "\n".join(s.text for s in guard_statements(dialect, TABLE, revisions))
    assert re.search(guard_pattern.replace("{accepted}", accepted), guard), guard
    assert re.search(dialect.guard.construct, guard), guard  # and the data file's own claim holds
    assert dialect.guard.documented_by and all(d.startswith(manual) for d in dialect.guard.documented_by)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_the_stop_is_the_construct_of_the_manual(name):
    stop = stop_statement(dialects.get(name), STOP).text
    assert re.fullmatch(FACTS[name][1].replace("{message}", re.escape(STOP)), stop), stop


@pytest.mark.parametrize("name", ["mysql", "mariadb"])
def test_mysql_needs_no_signal_and_no_procedure(name):
    dialect = dialects.get(name)
    texts = [s.text for s in guard_statements(dialect, TABLE, ("abc",))]
    texts.append(stop_statement(dialect, "distill: cannot revert abc: restore from a backup").text)
    for text in texts:
        assert "SIGNAL" not in text and "PROCEDURE" not in text, text
