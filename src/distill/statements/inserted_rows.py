"""Rows a step's upgrade inserts, and whether a DELETE of its downgrade removes only those.

A downgrade that deletes the rows its own upgrade inserted (``DELETE FROM t WHERE code IN ('a',
'b')`` after ``INSERT INTO t (code, ...) VALUES ('a', ...), ('b', ...)``) loses no data that was
there before the step. This is decided only when it is provable from the statements: the WHERE is
a conjunction of ``column = literal`` and ``column IN (literal, ...)``, and every combination of
values it admits is one the upgrade inserted, as written (the columns of the WHERE are taken as
the rows' key). Anything else (a subquery, OR, a function, a literal written differently) leaves
the DATA LOSS finding in place.
"""

from __future__ import annotations

from itertools import product

from ..dialects import Dialect
from .lexer import COMMENT, NUMBER, PUNCT, QIDENT, STRING, WORD, WS, tokenize
from .model import SQL, Statement

Rows = dict[str, list[dict[str, str | None]]]  # table -> rows, column -> literal (None: not one)
_CONSTANTS = {"NULL", "TRUE", "FALSE"}


def _tokens(text: str, dialect: Dialect) -> list[tuple[str, str]]:
    tokens = [(k, t) for k, t in tokenize(text, dialect.lexer) if k not in (WS, COMMENT)]
    while tokens and tokens[-1] == (PUNCT, dialect.terminator):
        tokens.pop()
    return tokens


def _name(tokens: list[tuple[str, str]], at: int) -> tuple[str, int]:
    """A possibly qualified name starting at ``at`` (unquoted parts lower-cased, quoted ones as
    written: a quoted name compares equal only to itself), and where it ends."""
    parts = []
    while at < len(tokens) and tokens[at][0] in (WORD, QIDENT):
        kind, text = tokens[at]
        parts.append(text[1:-1] if kind == QIDENT else text.lower())
        at += 1
        if at < len(tokens) and tokens[at] == (PUNCT, "."):
            at += 1
        else:
            break
    return ".".join(parts), at


def _literal(tokens: list[tuple[str, str]], at: int) -> tuple[str | None, int]:
    """The literal at ``at`` as written, and where it ends (None when it is no plain literal)."""
    kind, text = tokens[at] if at < len(tokens) else ("", "")
    if kind in (STRING, NUMBER):
        return text, at + 1
    if kind == WORD and text.upper() in _CONSTANTS:
        return text.upper(), at + 1
    if (kind, text) == (PUNCT, "-") and at + 1 < len(tokens) and tokens[at + 1][0] == NUMBER:
        return "-" + tokens[at + 1][1], at + 2
    return None, at


def _list(tokens: list[tuple[str, str]], at: int, item) -> tuple[list, int] | None:
    """``( item, item ... )`` starting at ``at``: the items and where it ends, or None."""
    if at >= len(tokens) or tokens[at] != (PUNCT, "("):
        return None
    items, at = [], at + 1
    while True:
        value, after = item(tokens, at)
        items.append(value)
        if after == at or after >= len(tokens):
            return None
        at = after
        if tokens[at] == (PUNCT, ")"):
            return items, at + 1
        if tokens[at] != (PUNCT, ","):
            return None
        at += 1


def _skip_expression(tokens, at):
    """Past one value that is no plain literal (up to the next top-level comma or ``)``)."""
    depth = 0
    while at < len(tokens):
        token = tokens[at]
        if token in ((PUNCT, ","), (PUNCT, ")")) and depth == 0:
            return None, at
        depth += (token == (PUNCT, "(")) - (token == (PUNCT, ")"))
        at += 1
    return None, at


def _value(tokens, at):
    value, after = _literal(tokens, at)
    return (value, after) if after != at else _skip_expression(tokens, at)


def inserted_rows(statements: list[Statement], dialect: Dialect, version_table: str) -> Rows:
    """The rows each ``INSERT INTO t (columns) VALUES (...), ...`` among ``statements`` inserts."""
    out: Rows = {}
    for statement in statements:
        tokens = _tokens(statement.text, dialect) if statement.kind == SQL else []
        if [t.upper() for _, t in tokens[:2]] != ["INSERT", "INTO"]:
            continue
        table, at = _name(tokens, 2)
        columns = _list(tokens, at, _name)
        if not columns or table in (version_table, version_table.lower()):
            continue
        names, at = columns
        if at >= len(tokens) or tokens[at][1].upper() != "VALUES":
            continue
        at += 1
        while (values := _list(tokens, at, _value)) and len(values[0]) == len(names):
            out.setdefault(table, []).append(dict(zip(names, values[0], strict=True)))
            at = values[1]
            if at >= len(tokens) or tokens[at] != (PUNCT, ","):
                break
            at += 1
    return out


def _where(tokens: list[tuple[str, str]], at: int) -> dict[str, list[str]] | None:
    """{column: the literals it may equal} of a WHERE of ANDed ``=`` and ``IN`` tests, or None."""
    allowed: dict[str, list[str]] = {}
    while True:
        column, at = _name(tokens, at)
        column = column.rsplit(".", 1)[-1]
        if not column or column in allowed or at >= len(tokens):
            return None
        if tokens[at] == (PUNCT, "="):
            value, after = _literal(tokens, at + 1)
            values, at = ([value], after) if value is not None else (None, at)
        elif tokens[at][1].upper() == "IN":
            parsed = _list(tokens, at + 1, _literal)
            values, at = parsed if parsed else (None, at)
        else:
            return None
        if not values or None in values:
            return None
        allowed[column] = values
        if at == len(tokens):
            return allowed
        if tokens[at][1].upper() != "AND":
            return None
        at += 1


def deletes_only_inserted(text: str, dialect: Dialect, rows: Rows) -> bool:
    """True when the DELETE ``text`` removes only rows ``rows`` shows its step's upgrade inserted:
    every row its WHERE allows is one of them in every column the upgrade wrote. (A WHERE on some
    of those columns only, kind = 'flag', also deletes older rows that share them: nothing here
    knows that the columns are a key.)"""
    tokens = _tokens(text, dialect)
    if [t.upper() for _, t in tokens[:2]] != ["DELETE", "FROM"]:
        return False
    table, at = _name(tokens, 2)
    if at >= len(tokens) or tokens[at][1].upper() != "WHERE" or table not in rows:
        return False
    allowed = _where(tokens, at + 1)
    if not allowed:
        return False
    columns = sorted(allowed)
    inserted = {tuple(row.get(c) for c in columns) for row in rows[table] if set(row) <= set(allowed)}
    return all(combination in inserted for combination in product(*(allowed[c] for c in columns)))
