"""Differences between two schema snapshots, as a DBA reads them."""

from __future__ import annotations

import re
from typing import Any


def differences(expected: dict[str, Any], actual: dict[str, Any], path: str = "") -> list[str]:
    """Readable differences between two snapshots: ``where: expected X, found Y``."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{where}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{where}: unexpected {actual[key]!r}")
            else:
                out.extend(differences(expected[key], actual[key], where))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and expected != actual:
        missing = [e for e in expected if e not in actual]
        extra = [a for a in actual if a not in expected]
        if missing or extra:
            return [f"{path}: missing {m!r}" for m in missing] + [
                f"{path}: unexpected {a!r}" for a in extra
            ]
    if expected != actual:
        return [f"{path}: expected {expected!r}, found {actual!r}"]
    return []


_COLUMN = re.compile(
    r"^tables\.(?P<table>[^.]+)\.columns\.(?P<column>[^.:]+)(\.(?P<what>[^:]+))?: (?P<rest>.*)$")
_TABLE = re.compile(r"^(?P<section>tables|rows)\.(?P<table>[^.:]+)(\.(?P<what>[^:]+))?: (?P<rest>.*)$")


def readable(difference: str) -> str:
    """A difference as a DBA reads it: 'table books, column title: type expected ..., found ...'."""
    match = _COLUMN.match(difference)
    if match:
        what = f" {match['what']}" if match["what"] else ""
        return f"table {match['table']}, column {match['column']}:{what} {match['rest']}"
    match = _TABLE.match(difference)
    if match:
        what = match["what"] or ("rows" if match["section"] == "rows" else "table")
        prefix = "rows of table" if match["section"] == "rows" else "table"
        return f"{prefix} {match['table']}: {what.replace('_', ' ')} {match['rest']}"
    return difference


def without_empty_table(snap: dict[str, Any], table: str) -> dict[str, Any]:
    """``snap`` without ``table`` when that table is empty: Alembic leaves an empty version table
    behind after a downgrade to base, where a fresh database has none."""
    if snap.get("rows", {}).get(table) != []:
        return snap
    out = {**snap, "tables": {k: v for k, v in snap["tables"].items() if k != table},
           "rows": {k: v for k, v in snap["rows"].items() if k != table}}
    if "table_ddl" in snap:
        out["table_ddl"] = [row for row in snap["table_ddl"] if row[0] != table]
    return out
