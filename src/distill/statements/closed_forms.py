"""sqlparse's layout of the commonest statement shapes, computed without sqlparse.

On a varied history nearly every statement has a shape of its own (a bulk insert of 7 rows of 5
columns, an UPDATE with three conditions), so the shape cache rarely hits and sqlparse, at about
0.1 MB/s, is most of a build's time. For a few shapes that migrations render over and over, what
sqlparse 0.5-0.6 does with ``reindent`` is simple and known:

* ``INSERT INTO t (a, b) VALUES (..), (..)``: the column list stays on the first line, ``VALUES``
  starts the second, and every further row gets a line of its own aligned under the first row;
* ``UPDATE t SET a=v, b=w WHERE c AND d`` and ``DELETE FROM t WHERE ...``: a line for each clause,
  the SET items aligned after ``SET ``, each AND/OR on a line of its own, indented, and the items of
  an ``IN (...)`` list each on a line of its own, aligned under the first;
* a kept layout where only keyword case changes (CREATE TABLE in PostgreSQL and Oracle), when no
  keyword could change: the text with trailing spaces removed.

Each form matches a whole shape (placeholders ``q0x``, ``q1x``..., structural words in upper case,
single spaces, as ``formatting`` hands it over) or gives None, and sqlparse formats that shape as
before: nothing outside these narrow grammars is decided here. ``tests/test_closed_forms.py``
compares every form with sqlparse itself on thousands of generated shapes, near misses included.
"""

from __future__ import annotations

import re

# sqlparse refuses statements of more than 10,000 tokens (the statement is then kept verbatim);
# a shape of at most this many characters cannot have that many, so no form hides that refusal.
MAX_SHAPE = 10_000

_P = r"q\d+x"  # a placeholder
_NAME = rf"{_P}(?:\.{_P})?"
_SIGNED = rf"-?{_P}"
_VALUE = rf"(?:{_SIGNED}|NULL)"
_CONDITION = (
    rf"{_NAME} (?:=|!=|<>|<|>|<=|>=) {_SIGNED}"
    rf"|{_NAME} IS (?:NOT )?NULL"
    rf"|{_NAME} BETWEEN {_SIGNED} AND {_SIGNED}"
    rf"|{_NAME} (?:NOT )?LIKE {_P}"
    rf"|{_NAME} IN \({_P}(?:, {_P})*\)"
)
_WHERE = rf"(?: WHERE (?:{_CONDITION})(?: (?:AND|OR) (?:{_CONDITION}))*)?"

_INSERT = re.compile(
    rf"(INSERT INTO {_NAME}(?: \({_P}(?:, {_P})*\))?) VALUES "
    rf"(\({_VALUE}(?:, {_VALUE})*\)(?:, \({_VALUE}(?:, {_VALUE})*\))*)(;?)"
)
# A negative value in a SET list shifts sqlparse's alignment of the items after it: not here.
_UPDATE = re.compile(rf"UPDATE ({_NAME}) SET ({_P}=(?:{_P}|NULL)(?:, {_P}=(?:{_P}|NULL))*)({_WHERE})(;?)")
_DELETE = re.compile(rf"DELETE FROM ({_NAME})({_WHERE})(;?)")
_ROW_BREAK = re.compile(r"\), (?=\()")
_NEXT_ROW = "),\n" + " " * len("VALUES ")  # each further row under the first
_JOINER = re.compile(rf" (AND|OR) (?=(?:{_CONDITION})(?: (?:AND|OR) |;?$))")
_ONE_CONDITION = re.compile(_CONDITION)
_IN_LIST = re.compile(rf"( IN \()({_P}(?:, {_P})*)\)")
# No quote, no CR, a ';' only at the end, no GO (sqlparse ends a statement at each)
_KEPT_LAYOUT_SAFE = re.compile(r"(?:[^'\"\r;gG]|[gG](?![oO]))*(?:;[ \t\n]*)?")


def reindented(shape: str, indent_width: int) -> str | None:
    """What ``sqlparse.format(shape, reindent=True, indent_width=indent_width)`` returns, with
    trailing spaces removed, for the shapes above; None for any other shape."""
    if len(shape) > MAX_SHAPE:
        return None
    if match := _INSERT.fullmatch(shape):
        head, rows, end = match.groups()
        return f"{head}\nVALUES " + _ROW_BREAK.sub(_NEXT_ROW, rows) + end
    if match := _UPDATE.fullmatch(shape):
        table, assignments, where, end = match.groups()
        lines = [f"UPDATE {table}", "SET " + assignments.replace(", ", ",\n" + " " * len("SET "))]
    elif match := _DELETE.fullmatch(shape):
        table, where, end = match.groups()
        lines = ["DELETE", f"FROM {table}"]
    else:
        return None
    where_lines = _where_lines(where, indent_width)
    return None if where_lines is None else "\n".join(lines + where_lines) + end


def _where_lines(where: str, indent_width: int) -> list[str] | None:
    """A WHERE clause's lines: the first condition after WHERE, each further one after its
    indented AND/OR, an IN list's items one per line under its first item (None if the clause
    does not split into whole conditions)."""
    if not where:
        return []
    parts = _JOINER.split(where.removeprefix(" WHERE "))
    if not all(_ONE_CONDITION.fullmatch(condition) for condition in parts[0::2]):
        return None
    lines = []
    for joiner, condition in zip(["WHERE", *parts[1::2]], parts[0::2], strict=True):
        line = ("" if joiner == "WHERE" else " " * indent_width) + joiner + " " + condition
        lines.append(_IN_LIST.sub(_one_item_a_line, line))
    return lines


def _one_item_a_line(match: re.Match) -> str:
    """An IN list's items, each after the first on a line of its own, under the first."""
    return match[1] + match[2].replace(", ", ",\n" + " " * match.start(2)) + ")"


def kept_layout_upper(shape: str, needs_upper: bool) -> str | None:
    """What ``sqlparse.format(shape, keyword_case="upper")`` returns, with trailing spaces
    removed, when no keyword can change (``needs_upper`` false) and the text holds nothing its
    output step rewrites (CR LF, trailing Unicode spaces, statements split after ';' or GO); else None."""
    if needs_upper or len(shape) > MAX_SHAPE or not _KEPT_LAYOUT_SAFE.fullmatch(shape):
        return None
    if any(ch.isspace() and ch not in " \t\n" for ch in shape):
        return None
    return shape
