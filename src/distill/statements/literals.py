"""Where Alembic's offline text changes what a literal means, and how distill keeps it exact.

* literal tabs: Alembic replaces every tab of a compiled statement with four spaces, changing
  string values; distill expands only layout tabs.
* literal carriage returns: the mariadb/mysql client and the sqlite3 shell drop a CR that comes
  before a LF even inside a string literal; distill writes such CRs as the dialect's data file says.
* version table from base: Alembic's offline CREATE TABLE fails on a database that online Alembic
  downgraded to base (it leaves the table, empty); distill writes it as the dialect's data file
  says (IF NOT EXISTS, or a guarded form).
"""

from __future__ import annotations

from ..dialects import Dialect
from .lexer import STRING, expand_layout_tabs, tokenize


def _carriage_return_kept(literal: str, dialect: Dialect) -> str:
    if dialect.carriage_return == "backslash-escape":
        return literal.replace("\r", "\\r")
    quote = literal[0]  # "concatenate": 'a<CR>b' -> ('a' || char(13) || 'b')
    pieces = literal[1:-1].split("\r")
    joiner = f" || {dialect.carriage_return_expression} || "
    return "(" + joiner.join(f"{quote}{piece}{quote}" for piece in pieces) + ")"


def literals_kept(sql: str, dialect: Dialect) -> str:
    """``sql`` with layout tabs expanded and literal carriage returns made client-proof."""
    sql = expand_layout_tabs(sql, dialect.lexer)
    if "\r" not in sql or dialect.carriage_return == "as-is":
        return sql
    return "".join(
        _carriage_return_kept(piece, dialect)
        if kind == STRING and "\r" in piece and piece[0] in "'\""
        else piece
        for kind, piece in tokenize(sql, dialect.lexer)
    )


def version_table_create(create: str, table_sql: str, dialect: Dialect) -> str:
    """Alembic's CREATE TABLE of the version table, made to tolerate an existing (empty) one."""
    rest = create[len("CREATE TABLE "):] if create.upper().startswith("CREATE TABLE ") else create
    return dialect.version_table_create.format(
        create=create, rest=rest, table_in_literal=table_sql.replace("'", "''"),
        create_in_literal=create.replace("'", "''"))
