"""How sqlplus and sqlcmd split a script, for the structural check of Oracle and SQL Server files
(no Oracle or SQL Server can run here): client commands apart, SQL statements and PL/SQL or
T-SQL blocks as the client sends them to the server."""

from __future__ import annotations

import re

SQLPLUS_COMMANDS = re.compile(r"^(SET|WHENEVER|EXIT|PROMPT|REM|SPOOL)\b", re.I)
PLSQL_START = re.compile(r"^(DECLARE|BEGIN|CREATE( OR REPLACE)? (PROCEDURE|FUNCTION|TRIGGER|PACKAGE))\b", re.I)


def sqlplus_units(text: str) -> list[tuple[str, str]]:
    """("command" | "sql" | "plsql", text) in the order sqlplus runs them: a PL/SQL block ends at
    a line holding only '/', a SQL statement at a ';' ending a line or at a '/' line."""
    units: list[tuple[str, str]] = []
    current: list[str] = []
    kind = ""
    for line in text.split("\n"):
        stripped = line.strip()
        if not current:
            if not stripped or stripped.startswith("--"):
                continue
            if stripped == "/":
                continue  # runs the buffer again: distill never leaves one to run twice
            if SQLPLUS_COMMANDS.match(stripped):
                units.append(("command", stripped))
                continue
            kind = "plsql" if PLSQL_START.match(stripped) else "sql"
        if stripped == "/":
            units.append((kind, "\n".join(current).strip()))
            current = []
            continue
        current.append(line)
        if kind == "sql" and stripped.endswith(";"):
            units.append((kind, "\n".join(current).strip().rstrip(";")))
            current = []
    assert not current, f"a statement never ends: {current[:3]}"
    return units


def sqlcmd_batches(text: str) -> list[tuple[str, str]]:
    """("command" | "batch", text): sqlcmd sends everything up to a line holding only GO as one
    batch; lines starting with ':' are sqlcmd commands."""
    units: list[tuple[str, str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.upper() == "GO":
            if "\n".join(current).strip():
                units.append(("batch", "\n".join(current).strip()))
            current = []
        elif stripped.startswith(":"):  # sqlcmd reads its commands at any line start
            units.append(("command", stripped))
        else:
            current.append(line)
    if "\n".join(current).strip():
        units.append(("batch", "\n".join(current).strip()))
    return units
