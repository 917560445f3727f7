"""Whether a step's downgrade can restore what its upgrade changed, from two kinds of evidence.

* The script: a ``downgrade()`` that is missing, ``pass`` (or only a docstring or ``...``) while
  its upgrade does something, or that raises, read from the function's own source lines.
* The SQL: a step whose statements are only comments and version-table bookkeeping renders
  nothing (``does_nothing``); whether that makes it irreversible is decided against its upgrade.
"""

from __future__ import annotations

import ast
import dis
import linecache
import textwrap
from dataclasses import dataclass
from types import ModuleType

from ..dialects import Dialect
from .findings import is_version_statement
from .model import SQL, Statement, VersionTable

_TRANSACTION_ONLY = ("BEGIN;", "COMMIT;", "BEGIN TRANSACTION;")


@dataclass(frozen=True)
class Verdict:
    """Whether a step's downgrade restores what its upgrade changed."""

    reversible: bool
    reason: str = ""


def _is_docstring(statement: ast.stmt) -> bool:
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)


def _is_noop(body: list[ast.stmt]) -> bool:
    return all(isinstance(s, ast.Pass) for s in body if not _is_docstring(s))


def _first_real(body: list[ast.stmt]) -> ast.stmt | None:
    return next((s for s in body if not _is_docstring(s)), None)


def _function_body(lines: list[str], function) -> list[ast.stmt] | None:
    """The body of a module-level function, parsed from its own lines only (a revision script
    can be long; only its upgrade()/downgrade() matter here)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return None
    first = code.co_firstlineno
    last = max((line for *_, line in code.co_lines() if line), default=first)
    try:  # the function's own lines; a statement spanning past its last code line: whole file
        tree = ast.parse(textwrap.dedent("".join(lines[first - 1:last])))
        node = tree.body[0] if tree.body else None
    except SyntaxError:
        try:
            tree = ast.parse("".join(lines))
        except SyntaxError:
            return None
        node = next((n for n in tree.body if getattr(n, "lineno", None) == first), None)
    return node.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


_RAISE = dis.opmap["RAISE_VARARGS"]


def _plainly_does_something(function) -> bool:
    """True when the bytecode alone shows a function is neither empty nor raising: most are,
    and their source need not be parsed (35x faster over a history; benchmarks/speedups.py).
    Wordcode: every instruction, caches included, is two bytes, opcode first (3.6 onwards)."""
    code = getattr(function, "__code__", None)
    return code is not None and len(code.co_code) > 24 and _RAISE not in code.co_code[::2]


def script_verdict(path: str, module: ModuleType) -> Verdict:
    """From the revision's source: is its downgrade missing, a no-op or a raise?"""
    down, up = getattr(module, "downgrade", None), getattr(module, "upgrade", None)
    if down is None:
        return Verdict(False, "it has no downgrade()")
    if _plainly_does_something(down):
        return Verdict(True)
    lines = linecache.getlines(path)
    body = _function_body(lines, down)
    if body is None:
        return Verdict(True)
    if isinstance(_first_real(body), ast.Raise):
        return Verdict(False, "its downgrade() raises")
    if _is_noop(body):
        up_body = _function_body(lines, up) if up is not None else None
        if not (up_body is not None and _is_noop(up_body)):
            return Verdict(False, "its downgrade() does nothing (pass)")
    return Verdict(True)


def does_nothing(statements: list[Statement], dialect: Dialect, table: VersionTable) -> bool:
    """True when a step's statements are only comments, notes and version-table bookkeeping."""
    return all(
        s.kind != SQL
        or is_version_statement(s.text, dialect, table)
        or s.text.strip().upper() in _TRANSACTION_ONLY
        for s in statements
    )
