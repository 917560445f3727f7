"""A comparable picture of a live database: schema objects and every table's rows.

Used to prove that applying distill's SQL gives what online Alembic gives: tables, columns (type,
nullability, default), primary keys, indexes, unique / foreign key / check constraints, views,
PostgreSQL enums, triggers and functions, and all rows, each normalised and sorted.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from .. import dialects
from ..dialects import Dialect
from ..statements.lexer import WS, tokenize, top_level_parts

_SPACE = re.compile(r"\s+")


def _squash(text: Any) -> Any:
    return _SPACE.sub(" ", str(text)).strip() if text is not None else None


def _layout_free(sql: Any, dialect: Dialect) -> Any:
    """Stored SQL text (SQLite and MySQL keep view and trigger bodies as written) without its
    layout: the tokens with single spaces, so reindenting is not a schema difference."""
    if sql is None:
        return None
    return " ".join(piece for kind, piece in tokenize(str(sql), dialect.lexer) if kind != WS)


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


def _create_table_parts(sql: str) -> Any:
    """A CREATE TABLE whose column and constraint clauses compare in any order.

    Alembic's batch mode (online too) writes constraints in set order, and a column dropped and
    added back comes last: neither order is part of the schema.
    """
    sql = _squash(sql)
    start, end = sql.find("("), sql.rfind(")")
    if not sql.upper().startswith("CREATE TABLE") or start < 0 or end < start:
        return sql
    parts = top_level_parts(sql[start + 1 : end])
    # SQLite keeps the name as written: a table renamed by batch mode reads CREATE TABLE "t"
    name = sql[:start].strip().replace('"', "").replace("`", "")
    return (name, tuple(sorted(parts)), sql[end + 1:].strip())


def _catalog_rows(conn: sa.Connection, dialect: Dialect, tables: list[str]) -> dict[str, Any]:
    """What the dialect's data file says to read beyond the inspector, each kind sorted."""
    catalog = dialect.catalog
    result: dict[str, Any] = {}
    for key, query in catalog.queries:
        rows = conn.exec_driver_sql(query).fetchall()
        if key == "triggers":
            rows = [(*row[:-1], _layout_free(row[-1], dialect)) for row in rows]
        result[key] = rows
    if catalog.table_ddl_query:
        result["table_ddl"] = conn.exec_driver_sql(catalog.table_ddl_query).fetchall()
    elif catalog.table_ddl_per_table:
        result["table_ddl"] = [
            (t, conn.exec_driver_sql(catalog.table_ddl_per_table.format(table=t)).fetchone()[1])
            for t in tables]
    if "table_ddl" in result:
        result["table_ddl"] = [(name, _create_table_parts(_squash(sql))) for name, sql in result["table_ddl"]]
    return {key: sorted((tuple(v if isinstance(v, tuple) else _squash(v) for v in row) for row in rows),
                        key=repr) for key, rows in result.items()}


def snapshot(url: str | sa.URL, *, rows: bool = True) -> dict[str, Any]:
    """The schema and data of the database at ``url``, as plain sorted data (without ``rows``:
    the schema only; not a single row is read)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            dialect = dialects.get(engine.dialect.name)
            tables = sorted(insp.get_table_names())
            result: dict[str, Any] = {
                "tables": {name: _table(insp, name, engine.dialect) for name in tables},
                "views": {name: _layout_free(insp.get_view_definition(name), dialect)
                          for name in sorted(insp.get_view_names())},
            }
            if dialect.catalog.enums:
                result["enums"] = sorted((e["name"], tuple(e["labels"])) for e in insp.get_enums())
            result.update(_catalog_rows(conn, dialect, tables))
            if rows:
                metadata = sa.MetaData()
                result["rows"] = {name: _rows(conn, sa.Table(name, metadata, autoload_with=conn))
                                  for name in tables}
            return result
    finally:
        engine.dispose()
