"""Differences between two schema snapshots, as a DBA reads them; and what online Alembic itself
does not repeat from run to run (``unstable``), which is not comparable."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


NOT_COMPARABLE = "<not comparable>"


@dataclass(frozen=True)
class Unstable:
    """What online Alembic itself writes differently on each run (two references disagree)."""

    columns: dict[str, list[int]]  # table -> positions of row columns whose values differ
    paths: tuple[str, ...]  # other snapshot paths that differ (whole row sets among them)
    names: tuple[str, ...]  # each of them as a DBA reads it

    def __bool__(self) -> bool:
        return bool(self.columns or self.paths)


NOTHING = Unstable({}, (), ())


def _row_columns(one: list[list[Any]], other: list[list[Any]]) -> list[int] | None:
    """Positions of the columns whose values differ between two row sets of one table; None
    when even the number of rows differs."""
    if len(one) != len(other):
        return None
    width = len(one[0]) if one else 0
    return [i for i in range(width)
            if sorted(repr(row[i]) for row in one) != sorted(repr(row[i]) for row in other)]


def unstable(first: dict[str, Any], second: dict[str, Any]) -> Unstable:
    """Where two snapshots of online Alembic's own result for the same path differ."""
    columns: dict[str, list[int]] = {}
    paths: list[str] = []
    names: list[str] = []
    for table in sorted(set(first.get("rows", {})) & set(second.get("rows", {}))):
        positions = _row_columns(first["rows"][table], second["rows"][table])
        if positions is None:
            paths.append(f"rows.{table}")
            names.append(f"rows of table {table}: how many")
        elif positions:
            columns[table] = positions
            titles = list(first["tables"].get(table, {}).get("columns", {}))
            names += [f"rows of table {table}, column {titles[i] if i < len(titles) else i}"
                      for i in positions]
    for difference in differences(masked(first, columns), masked(second, columns)):
        path = difference.split(": ", 1)[0]
        if path not in paths:
            paths.append(path)
            names.append(readable(difference).split(": ", 1)[0] if ": " in difference else path)
    return Unstable(columns, tuple(paths), tuple(names))


def masked(snap: dict[str, Any], columns: dict[str, list[int]]) -> dict[str, Any]:
    """``snap`` with the values at ``columns`` replaced by a placeholder, rows sorted again."""
    if not columns or "rows" not in snap:
        return snap
    rows = dict(snap["rows"])
    for table, positions in columns.items():
        if table in rows:
            rows[table] = sorted(([NOT_COMPARABLE if i in positions else v for i, v in enumerate(row)]
                                  for row in rows[table]), key=repr)
    return {**snap, "rows": rows}


def comparable_differences(expected: dict[str, Any], actual: dict[str, Any], skip: Unstable) -> list[str]:
    """``differences`` without what ``skip`` says online Alembic itself does not repeat."""
    found = differences(masked(expected, skip.columns), masked(actual, skip.columns))
    return [d for d in found if not any(d == p or d.startswith((p + ":", p + ".")) for p in skip.paths)]
