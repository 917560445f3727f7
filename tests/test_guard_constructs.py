"""Each dialect's guard is written with the construct its data file cites from the dialect's manual,
for a check at some revision, from base, and for the stop at a point of no return. MySQL's guard
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


@pytest.mark.parametrize("name", dialects.available())
@pytest.mark.parametrize("revisions", [("3c1d9e8f2a03",), ("ab8e2a1b5c10", "9c7d3f2a6b09"), ()])
def test_the_guard_is_the_cited_construct(name, revisions):
    dialect = dialects.get(name)
    guard = "\n".join(s.text for s in guard_statements(dialect, TABLE, revisions))
    assert re.search(dialect.guard.construct, guard), guard
    assert dialect.guard.documented_by and all(d.startswith("https://") for d in dialect.guard.documented_by)


@pytest.mark.parametrize("name", ["mysql", "mariadb"])
def test_mysql_needs_no_signal_and_no_procedure(name):
    dialect = dialects.get(name)
    texts = [s.text for s in guard_statements(dialect, TABLE, ("abc",))]
    texts.append(stop_statement(dialect, "distill: cannot revert abc: restore from a backup").text)
    for text in texts:
        assert "SIGNAL" not in text and "PROCEDURE" not in text, text
