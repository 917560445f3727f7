"""Differences between two schema snapshots, as a DBA reads them; and what online Alembic itself
does not repeat from run to run (``unstable``), which is not comparable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


def _names(columns: Any) -> str:
    return "(" + ", ".join(str(c) for c in columns or ()) + ")"


def _show(section: str, value: Any) -> str:
    """A value of a snapshot as a DBA reads it (an index, a key, a column, a row), not a dict."""
    if isinstance(value, dict) and section == "indexes":
        unique = "unique " if value.get("unique") else ""
        return f"{unique}index {value.get('name')} {_names(value.get('column_names'))}"
    if isinstance(value, dict) and section == "unique_constraints":
        return f"unique constraint {value.get('name')} {_names(value.get('column_names'))}"
    if isinstance(value, dict) and section == "foreign_keys":
        return (f"foreign key {value.get('name')} {_names(value.get('constrained_columns'))} -> "
                f"{value.get('referred_table')} {_names(value.get('referred_columns'))}")
    if isinstance(value, dict) and section == "check_constraints":
        return f"check {value.get('name')} ({value.get('sqltext')})"
    if isinstance(value, dict) and section == "columns":
        default = value.get("default")
        return (f"{value.get('type')}{'' if value.get('nullable', True) else ' NOT NULL'}"
                f"{'' if default is None else ' DEFAULT ' + str(default)}")
    if isinstance(value, dict) and "columns" in value:  # a whole table
        return "table with columns " + _names(value["columns"])
    if isinstance(value, (list, tuple)) and section in ("rows", "row"):
        return "(" + ", ".join(repr(v) for v in value) + ")"
    if isinstance(value, (list, tuple)) and section == "primary_key":
        return _names(value)
    if isinstance(value, str) and section not in ("rows", "row"):  # a type, a default: as the database says
        return value
    if isinstance(value, tuple) and section != "table_ddl":  # a catalog row: "citext", "trg ..."
        return " ".join(str(v) for v in value)
    return repr(value)


def _section(path: str) -> str:
    """Which part of a snapshot ``path`` is in: 'indexes', 'columns', 'rows' ..."""
    parts = path.split(".")
    if parts[0] == "rows":
        return "row" if len(parts) > 1 else "rows"
    if parts[0] == "tables" and len(parts) >= 3:
        return parts[2]
    if parts[0] == "tables":
        return "table"
    return parts[0]


def differences(expected: dict[str, Any], actual: dict[str, Any], path: str = "") -> list[str]:
    """Readable differences between two snapshots: ``where: expected X, found Y``, ``where:
    missing X``, ``where: unexpected X`` (X as a DBA reads it: ``index ix_a (a, b)``)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = f"{path}.{key}" if path else str(key)
            section = _section(where) if path else key
            if key not in actual:
                out.append(f"{where}: missing {_show(section, expected[key])}")
            elif key not in expected:
                out.append(f"{where}: unexpected {_show(section, actual[key])}")
            else:
                out.extend(differences(expected[key], actual[key], where))
        return out
    if isinstance(expected, list) and isinstance(actual, list) and expected != actual:
        missing = [e for e in expected if e not in actual]
        extra = [a for a in actual if a not in expected]
        section = _section(path)
        if missing or extra:
            return [f"{path}: missing {_show(section, m)}" for m in missing] + [
                f"{path}: unexpected {_show(section, a)}" for a in extra
            ]
    if expected != actual:
        section = _section(path)
        return [f"{path}: expected {_show(section, expected)}, found {_show(section, actual)}"]
    return []


_COLUMN = re.compile(
    r"^tables\.(?P<table>[^.]+)\.columns\.(?P<column>[^.:]+)(\.(?P<what>[^:]+))?: (?P<rest>.*)$")
_TABLE = re.compile(r"^(?P<section>tables|rows)\.(?P<table>[^.:]+)(\.(?P<what>[^:]+))?: (?P<rest>.*)$")
_SIDES = re.compile(r"^(?:(?P<missing>missing )|(?P<unexpected>unexpected )|expected (?P<expected>.*), "
                    r"found (?P<found>.*)$)(?P<value>.*)$")
_LISTED = ("indexes", "unique_constraints", "foreign_keys", "check_constraints")  # items name themselves


def _subject(difference: str) -> tuple[str, str, str] | None:
    """(where, what, rest) of a difference: ('table orders', 'column note', 'missing INTEGER')."""
    match = _COLUMN.match(difference)
    if match:
        what = f"column {match['column']}" + (f" {match['what'].replace('_', ' ')}" if match["what"] else "")
        return f"table {match['table']}", what, match["rest"]
    match = _TABLE.match(difference)
    if not match:
        return None
    if match["section"] == "rows":
        return f"table {match['table']}", "row", match["rest"]
    what = match["what"] or ""
    what = "" if what in _LISTED else what.replace("_", " ")
    return f"table {match['table']}", what, match["rest"]


def readable(difference: str, sides: tuple[str, str] | None = None) -> str:
    """A difference as a DBA reads it: 'table orders: index ix_a (a, b) missing', 'table orders:
    column note type: expected VARCHAR(60), found VARCHAR(80)'; with ``sides`` (what was expected,
    what was found: "the history", "the database"), 'table orders: column note VARCHAR(60): in the
    database, not in the history'."""
    parts = _subject(difference)
    if parts is None:
        where, rest = difference.split(": ", 1) if ": " in difference else (difference, "")
        parts = (where, "", rest)
    where, what, rest = parts
    side = _SIDES.match(rest)
    if side is None:
        return difference
    if sides is None:
        if side["missing"] or side["unexpected"]:
            subject = f"{what} {side['value']}".strip() if what != "row" else f"row {side['value']}"
            return f"{where}: {subject} {'missing' if side['missing'] else 'unexpected'}"
        return f"{where}: {what + ': ' if what else ''}expected {side['expected']}, found {side['found']}"
    if side["missing"] or side["unexpected"]:
        subject = f"{what} {side['value']}".strip()
        first, second = sides if side["missing"] else sides[::-1]
        return f"{where}: {subject}: in {first}, not in {second}"
    what = f"{what} " if what else ""
    return f"{where}: {what}{side['expected']} in {sides[0]}, {side['found']} in {sides[1]}"


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
            names.append(readable(difference).rsplit(" ", 1)[0] if ": " in difference else path)
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
