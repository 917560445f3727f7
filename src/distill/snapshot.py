"""A comparable picture of a live database: schema objects and every table's rows.

Used to prove that applying distill's SQL gives what online Alembic gives: tables, columns (type,
nullability, default), primary keys, indexes, unique / foreign key / check constraints, views,
PostgreSQL enums, triggers and functions, and all rows, each normalised and sorted.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from . import dialects
from .lexer import tokenize

_SPACE = re.compile(r"\s+")


def _squash(text: Any) -> Any:
    return _SPACE.sub(" ", str(text)).strip() if text is not None else None


def _layout_free(sql: Any) -> Any:
    """Stored SQL text (SQLite and MySQL keep view and trigger bodies as written) without its
    layout: the tokens with single spaces, so reindenting is not a schema difference."""
    if sql is None:
        return None
    rules = dialects.get("sqlite").lexer
    return " ".join(piece for kind, piece in tokenize(str(sql), rules) if kind != "ws")


def _type_name(column_type: Any, dialect: Any) -> str:
    try:
        return str(column_type.compile(dialect=dialect))
    except Exception:  # a type the dialect cannot compile back (NullType): keep its repr
        return repr(column_type)


def _value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (int, str)) or value is None:
        return value
    return repr(value)


def _rows(conn: sa.Connection, table: sa.Table) -> list[list[Any]]:
    rows = conn.execute(sa.select(table)).fetchall()
    return sorted(([_value(v) for v in row] for row in rows), key=repr)


def _table(insp: Any, name: str, dialect: Any) -> dict[str, Any]:
    def named(items: list[dict], *keys: str) -> list[dict]:
        out = [{k: item.get(k) for k in keys} for item in items]
        return sorted(out, key=repr)

    reflected = insp.get_columns(name)
    # by name: a column dropped and added back comes last, and order is not part of the schema
    columns = {
        c["name"]: {
            "type": _type_name(c["type"], dialect),
            "nullable": c["nullable"],
            "default": c.get("default"),  # exact: a default is data too
        }
        for c in reflected
    }
    checks = [
        {"name": c.get("name"), "sqltext": _squash(c.get("sqltext"))}
        for c in insp.get_check_constraints(name)
    ]
    return {
        "columns": columns,
        "primary_key": insp.get_pk_constraint(name).get("constrained_columns"),
        "indexes": named(insp.get_indexes(name), "name", "column_names", "unique"),
        "unique_constraints": named(insp.get_unique_constraints(name), "name", "column_names"),
        "foreign_keys": named(
            insp.get_foreign_keys(name),
            "name", "constrained_columns", "referred_table", "referred_columns", "options",
        ),
        "check_constraints": sorted(checks, key=repr),
    }


_EXTRA_QUERIES = {
    "postgresql": {
        "triggers": "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
        "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
        "WHERE pronamespace = 'public'::regnamespace",
        "sequences": "SELECT sequencename, data_type::text, increment_by FROM pg_sequences "
        "WHERE schemaname = 'public'",
    },
    "mysql": {
        "triggers": "SELECT TRIGGER_NAME, ACTION_TIMING, EVENT_MANIPULATION, ACTION_STATEMENT "
        "FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        "table_ddl": None,  # SHOW CREATE TABLE, below
    },
    "sqlite": {
        "triggers": "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'",  # layout-free
        "table_ddl": "SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') "
        "AND sql IS NOT NULL",
    },
}


def _create_table_parts(sql: str) -> Any:
    """A CREATE TABLE whose column and constraint clauses compare in any order.

    Alembic's batch mode (online too) writes constraints in set order, and a column dropped and
    added back comes last: neither order is part of the schema.
    """
    sql = _squash(sql)
    start, end = sql.find("("), sql.rfind(")")
    if not sql.upper().startswith("CREATE TABLE") or start < 0 or end < start:
        return sql
    parts, depth, current = [], 0, ""
    for char in sql[start + 1 : end]:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    # SQLite keeps the name as written: a table renamed by batch mode reads CREATE TABLE "t"
    name = sql[:start].strip().replace('"', "").replace("`", "")
    return (name, tuple(sorted(parts)), sql[end + 1:].strip())


def snapshot(url: str | sa.URL) -> dict[str, Any]:
    """The schema and data of the database at ``url``, as plain sorted data."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            dialect = engine.dialect
            family = "mysql" if dialect.name in ("mysql", "mariadb") else dialect.name
            tables = sorted(insp.get_table_names())
            result: dict[str, Any] = {
                "tables": {name: _table(insp, name, dialect) for name in tables},
                "views": {
                    name: _layout_free(insp.get_view_definition(name))
                    for name in sorted(insp.get_view_names())
                },
            }
            if family == "postgresql":
                result["enums"] = sorted(
                    (e["name"], tuple(e["labels"])) for e in insp.get_enums()
                )
            for key, query in _EXTRA_QUERIES.get(family, {}).items():
                if query is None:
                    rows = [
                        (t, conn.exec_driver_sql(f"SHOW CREATE TABLE `{t}`").fetchone()[1])
                        for t in tables
                    ]
                else:
                    rows = conn.exec_driver_sql(query).fetchall()
                if key == "table_ddl":
                    rows = [(name, _create_table_parts(_squash(sql))) for name, sql in rows]
                if key == "triggers":
                    rows = [(*row[:-1], _layout_free(row[-1])) for row in rows]
                result[key] = sorted(
                    (tuple(v if isinstance(v, tuple) else _squash(v) for v in row) for row in rows),
                    key=repr,
                )
            metadata = sa.MetaData()
            result["rows"] = {
                name: _rows(conn, sa.Table(name, metadata, autoload_with=conn)) for name in tables
            }
            return result
    finally:
        engine.dispose()


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
