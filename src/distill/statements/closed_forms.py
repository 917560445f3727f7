"""sqlparse's layout of the commonest statement shapes, computed without sqlparse.

On a varied history nearly every statement has a shape of its own (a bulk insert of 7 rows of 5
columns, an UPDATE with three conditions), so the shape cache rarely hits and sqlparse, at about
0.1 MB/s, is most of a build's time. For a few shapes that migrations render over and over, what
sqlparse 0.5-0.6 does with ``reindent`` is simple and known:

* ``INSERT INTO t (a, b) VALUES (..), (..)``: the column list stays on the first line, ``VALUES``
  starts the second, and every further row gets a line of its own aligned under the first row;
* ``UPDATE t SET a=v, b=w WHERE ...``, ``DELETE FROM t WHERE ...`` and ``[CREATE VIEW v AS |
  INSERT INTO t (..) ]SELECT a, f(b) AS c FROM t WHERE ... ORDER BY a``: a line for each clause,
  the items of SET, SELECT and ORDER BY aligned after their keyword (after a negative SET value,
  further right by its ``a=-``), each AND/OR on a line of its own, indented at the top level and
  under the first condition inside a parenthesis, and the items of an ``IN (...)`` list each on
  a line of its own, aligned under the first;
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
_CONDITION = re.compile(
    rf"{_NAME} (?:=|!=|<>|<|>|<=|>=) {_SIGNED}"
    rf"|{_NAME} IS (?:NOT )?NULL"
    rf"|{_NAME} BETWEEN {_SIGNED} AND {_SIGNED}"
    rf"|{_NAME} (?:NOT )?LIKE {_P}"
    rf"|{_NAME} IN \({_P}(?:, {_P})*\)"
)
_JOINER = re.compile(r" (AND|OR) ")
_MAX_DEPTH = 20  # parentheses within parentheses (sqlparse gives up at 100)
_WHERE = r"(?: WHERE (.+?))?"  # parsed by _where_lines
# A select list's items: names, calls, one arithmetic operation, each with an optional alias.
_ITEM = rf"(?:{_NAME}|{_P}\((?:{_NAME}(?:, {_NAME})*)?\)|{_NAME} [-+*/] {_NAME})(?: AS {_P})?"
_ORDER = rf"{_NAME}(?: ASC| DESC)?"

_INSERT = re.compile(
    rf"(INSERT INTO {_NAME}(?: \({_P}(?:, {_P})*\))?) VALUES "
    rf"(\({_VALUE}(?:, {_VALUE})*\)(?:, \({_VALUE}(?:, {_VALUE})*\))*)(;?)"
)
_ASSIGNMENT = rf"{_P}=(?:{_SIGNED}|NULL)"
_UPDATE = re.compile(rf"UPDATE ({_NAME}) SET ({_ASSIGNMENT}(?:, {_ASSIGNMENT})*){_WHERE}(;?)")
_DELETE = re.compile(rf"DELETE FROM ({_NAME}){_WHERE}(;?)")
_SELECT = re.compile(
    rf"(?:(CREATE VIEW {_NAME} AS|INSERT INTO {_NAME} \({_P}(?:, {_P})*\)) )?"
    rf"SELECT ({_ITEM}(?:, {_ITEM})*) FROM ({_NAME}(?: AS {_P})?){_WHERE}"
    rf"(?: ORDER BY ({_ORDER}(?:, {_ORDER})*))?(;?)"
)
_ROW_BREAK = re.compile(r"\), (?=\()")
_NEXT_ROW = "),\n" + " " * len("VALUES ")  # each further row under the first
_IN_LIST = re.compile(rf"( IN \()({_P}(?:, {_P})*)\)")
# a comma between items, or a call's parentheses (kept whole): one pass, linear in the length
_LIST_ITEM = re.compile(r"\([^()]*\)|, ")
# No quote, no CR, a ';' only at the end, no GO (sqlparse ends a statement at each)
_KEPT_LAYOUT_SAFE = re.compile(r"(?:[^'\"\r;gG]|[gG](?![oO]))*(?:;[ \t\n]*)?")


class _NoForm(Exception):
    """The shape is outside the grammar: sqlparse lays it out."""


def reindented(shape: str, indent_width: int) -> str | None:
    """What ``sqlparse.format(shape, reindent=True, indent_width=indent_width)`` returns, with
    trailing spaces removed, for the shapes above; None for any other shape."""
    if len(shape) > MAX_SHAPE:
        return None
    if match := _INSERT.fullmatch(shape):
        head, rows, end = match.groups()
        return f"{head}\nVALUES " + _ROW_BREAK.sub(_NEXT_ROW, rows) + end
    try:
        if match := _UPDATE.fullmatch(shape):
            table, assignments, where, end = match.groups()
            lines = [f"UPDATE {table}", "SET " + _assignments(assignments)]
            lines += _where_lines(where, indent_width)
        elif match := _DELETE.fullmatch(shape):
            table, where, end = match.groups()
            lines = ["DELETE", f"FROM {table}", *_where_lines(where, indent_width)]
        elif match := _SELECT.fullmatch(shape):
            head, items, source, where, order, end = match.groups()
            lines = [head] if head else []
            lines += ["SELECT " + _aligned(items, "SELECT "), f"FROM {source}"]
            lines += _where_lines(where, indent_width)
            lines += ["ORDER BY " + _aligned(order, "ORDER BY ")] if order else []
        else:
            return None
    except _NoForm:
        return None
    return "\n".join(lines) + end


def _aligned(items: str, keyword: str) -> str:
    """A list's items after ``keyword``, each further item on a line of its own under the first."""
    separator = ",\n" + " " * len(keyword)
    return _LIST_ITEM.sub(lambda m: m[0] if m[0] != ", " else separator, items)


def _assignments(assignments: str) -> str:
    """A SET list: each further item on a line of its own under the first, except that sqlparse
    moves the items after a negative value (``a=-1``) right by that item's ``a=-``."""
    column, laid = len("SET "), []
    for item in assignments.split(", "):
        laid.append(item)
        if "=-" in item:
            column += item.index("=-") + len("=-")
        laid.append(",\n" + " " * column)
    return "".join(laid[:-1])


def _where_lines(where: str | None, indent_width: int) -> list[str]:
    """A WHERE clause's lines: each AND/OR on a line of its own, indented at the top level and
    under a parenthesis's first condition inside it, an IN list's items one per line under its
    first item (_NoForm if the clause is not made of the conditions above)."""
    if where is None:
        return []
    tree, end = _expression(where, 0, 0)
    if end != len(where):
        raise _NoForm
    lines = ["WHERE "]
    _lay_out(tree, lines, indent_width)
    return lines


_Tree = tuple  # (joiners, terms); a term is a condition's text or a parenthesised _Tree


def _expression(text: str, at: int, depth: int) -> tuple[_Tree, int]:
    joiners, terms = [], []
    term, at = _term(text, at, depth)
    terms.append(term)
    while joiner := _JOINER.match(text, at):
        term, at = _term(text, joiner.end(), depth)
        joiners.append(joiner[1])
        terms.append(term)
    return (joiners, terms), at


def _term(text: str, at: int, depth: int) -> tuple[_Tree | str, int]:
    if text.startswith("(", at):
        if depth >= _MAX_DEPTH:
            raise _NoForm
        tree, at = _expression(text, at + 1, depth + 1)
        if not text.startswith(")", at):
            raise _NoForm
        return tree, at + 1
    condition = _CONDITION.match(text, at)
    if condition is None:
        raise _NoForm
    return condition[0], condition.end()


def _lay_out(tree: _Tree, lines: list[str], joiner_indent: int) -> None:
    """Append ``tree`` to the last line; each further term on a new line after its joiner."""
    joiners, terms = tree
    for index, term in enumerate(terms):
        if index:
            lines.append(" " * joiner_indent + joiners[index - 1] + " ")
        if isinstance(term, tuple):
            lines[-1] += "("
            _lay_out(term, lines, len(lines[-1]))
            lines[-1] += ")"
        else:
            column = len(lines[-1])
            laid = _IN_LIST.sub(lambda m, c=column: m[1] + m[2].replace(", ", ",\n" + " " * (c + m.start(2)))
                                + ")", term)
            first, *rest = laid.split("\n")
            lines[-1] += first
            lines += rest


def kept_layout_upper(shape: str, needs_upper: bool) -> str | None:
    """What ``sqlparse.format(shape, keyword_case="upper")`` returns, with trailing spaces
    removed, when no keyword can change (``needs_upper`` false) and the text holds nothing its
    output step rewrites (CR LF, trailing Unicode spaces, statements split after ';' or GO); else None."""
    if needs_upper or len(shape) > MAX_SHAPE or not _KEPT_LAYOUT_SAFE.fullmatch(shape):
        return None
    if any(ch.isspace() and ch not in " \t\n" for ch in shape):
        return None
    return shape
