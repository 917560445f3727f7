"""Oracle and SQL Server cannot run here: their files are checked structurally instead. Each file is
split as sqlplus / sqlcmd split it, every SQL statement is parsed with an independent parser
(sqlglot's oracle and tsql dialects), and each file begins and ends as the runbook's client
command needs. What sqlglot cannot parse (PL/SQL blocks, T-SQL THROW) is tokenized by it and
checked for balanced BEGIN/END, and the SQL inside EXECUTE IMMEDIATE / sp_executesql is parsed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlglot
from scripts_split import sqlcmd_batches, sqlplus_units

REPO = Path(__file__).resolve().parent.parent
FILES = sorted(p for d in ("oracle", "mssql") for p in (REPO / "releases").glob(f"*/{d}/**/*.sql"))
EMBEDDED = re.compile(r"(?:EXECUTE IMMEDIATE|sp_executesql N)\s*'((?:[^']|'')*)'", re.I)


def _balanced(text: str, read: str) -> None:
    """sqlglot's tokens (it raises on a broken literal) with every BEGIN or CASE closed by an
    END (``END IF`` / ``END LOOP`` close what is not counted; BEGIN TRANSACTION opens nothing)."""
    tokens = [t.text.upper() for t in sqlglot.tokenize(text, read=read)]
    depth = 0
    for i, token in enumerate(tokens):
        before, after = tokens[i - 1] if i else "", tokens[i + 1] if i + 1 < len(tokens) else ""
        if token == "BEGIN" and after not in ("TRANSACTION", "TRAN") or token == "CASE" and before != "END":
            depth += 1
        elif token == "END" and after not in ("IF", "LOOP"):
            depth -= 1
        assert depth >= 0, text
    assert depth == 0, text


IDENTITY_INSERT = re.compile(r"^IF EXISTS \((SELECT .*)\) SET IDENTITY_INSERT \S+ (ON|OFF);?$", re.S)


def _parse(text: str, read: str) -> None:
    code = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("--")).strip()
    guarded = IDENTITY_INSERT.match(code)
    if guarded:  # sqlglot does not parse SET IDENTITY_INSERT after IF: the condition is parsed
        sqlglot.parse(guarded[1], read=read, error_level=sqlglot.ErrorLevel.RAISE)
        return
    if re.search(r"^\s*(DECLARE|BEGIN)\b|\bTHROW\b", text, re.I | re.M):
        _balanced(text, read)  # a block sqlglot does not parse
        for inner in EMBEDDED.findall(text):
            sqlglot.parse(inner.replace("''", "'"), read=read, error_level=sqlglot.ErrorLevel.RAISE)
        return
    sqlglot.parse(text, read=read, error_level=sqlglot.ErrorLevel.RAISE)


@pytest.mark.parametrize("path", [p for p in FILES if "/oracle/" in str(p)],
                         ids=lambda p: str(p.relative_to(REPO / "releases")))
def test_oracle_file(path):
    units = sqlplus_units(path.read_text(encoding="utf-8"))
    commands = [text for kind, text in units if kind == "command"]
    assert commands[:2] == ["WHENEVER SQLERROR EXIT SQL.SQLCODE ROLLBACK", "WHENEVER OSERROR EXIT FAILURE"]
    assert units[0][0] == "command", "the error handling comes before any SQL"
    assert units[-2:] == [("sql", "COMMIT"), ("command", "EXIT")], "ends with COMMIT and EXIT"
    for kind, text in units:
        if kind != "command":
            _parse(text, "oracle")


@pytest.mark.parametrize("path", [p for p in FILES if "/mssql/" in str(p)],
                         ids=lambda p: str(p.relative_to(REPO / "releases")))
def test_sql_server_file(path):
    units = sqlcmd_batches(path.read_text(encoding="utf-8"))
    assert ("command", ":on error exit") in units[:2], "sqlcmd stops at the first error"
    for kind, text in units:
        if kind == "batch":
            _parse(text, "tsql")


def test_a_fixture_history_bundle(tmp_path):
    from projects import SHELF, run_distill, write_project
    project = write_project(tmp_path / "project", SHELF)
    result = run_distill(["build", "--dialect", "oracle,mssql", "--out", str(tmp_path / "b")], project)
    assert result.returncode == 0, result.stderr
    files = sorted((tmp_path / "b").glob("*/**/*.sql"))
    assert len(files) == 2 * (2 + 2 * 2)
    for path in files:
        if "/oracle/" in str(path):
            test_oracle_file(path)
        else:
            test_sql_server_file(path)
