"""What a DBA must know before running a bundle: destructive statements, lock risks, and steps
whose downgrade cannot restore what their upgrade changed.

* Statement rules come from ``dialects/`` (``_common.toml`` plus each dialect's file) and match
  a lexer-normalised statement; a finding becomes an annotation comment right above it.
* Type changes are judged where Alembic still knows both types (``alter_column``'s
  ``existing_type`` and ``type_``, see ``fixups``): only a narrowing is destructive.
* Irreversible steps: a ``downgrade()`` that is ``pass``/a docstring/``...`` or that raises
  (read from the script's AST), or one that renders nothing but the version-table change while
  its upgrade did something (per dialect).
"""

from __future__ import annotations

import ast
import dis
import linecache
import re
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .capture import ANNOTATION, COMMENT, NOTE, SQL, Statement
from .dialects import Dialect
from .lexer import DOLLAR, QIDENT, STRING, WS, tokenize

if TYPE_CHECKING:
    from .render import Rendering, VersionTable

DESTRUCTIVE, LOCK_RISK = "destructive", "lock_risk"
LABELS = {DESTRUCTIVE: "DESTRUCTIVE", LOCK_RISK: "LOCK RISK"}
_LABEL_TO_KIND = {label: kind for kind, label in LABELS.items()}
_INNER_PARENS = re.compile(r"\([^()]*\)")
_BATCH_RENAME = re.compile(r"^ALTER TABLE _alembic_tmp_(?P<table>\S+) RENAME TO (?P<to>\S+)", re.I)
_CREATE_TABLE = re.compile(r"^CREATE TABLE (IF NOT EXISTS )?(?P<table>\S+)", re.I)


def annotation(dialect: Dialect, kind: str, message: str) -> Statement:
    return Statement(ANNOTATION, dialect.comment_line(f"{LABELS[kind]}: {message}"))


def parse_annotation(statement: Statement) -> tuple[str, str] | None:
    """(kind, message) of an annotation statement."""
    text = statement.text.lstrip("-#/ *")
    label, _, message = text.partition(": ")
    kind = _LABEL_TO_KIND.get(label)
    return (kind, message) if kind else None


def normalise(text: str, dialect: Dialect) -> tuple[str, str]:
    """(full, top): the statement as rules see it; top has parenthesised parts elided.

    Words keep their case (rules match case-insensitively, names in messages read as written).
    """
    parts = []
    for kind, piece in tokenize(text, dialect.lexer):
        if kind == WS or piece.startswith(("--", "/*", "#")) and kind != STRING:
            parts.append(" ")
        elif kind == QIDENT:
            parts.append(piece[1:-1])
        elif kind in (STRING, DOLLAR):
            parts.append("?")
        else:
            parts.append(piece)
    full = re.sub(r"\s+", " ", "".join(parts)).strip().rstrip(";").strip()
    full = re.sub(r" ?([(),]) ?", lambda m: {"(": " (", ")": ")", ",": ", "}[m[1]], full).strip()
    top = full
    while _INNER_PARENS.search(top):
        top = _INNER_PARENS.sub("<>", top)
    return full, top


def is_version_statement(text: str, dialect: Dialect, table: VersionTable) -> bool:
    return _mentions_version_table(normalise(text, dialect)[0], table)


def _mentions_version_table(full: str, table: VersionTable) -> bool:
    words = full.replace("(", " ").split()[:4]
    return table.name.upper() in (w.upper() for w in words) or table.sql.upper() in full.upper()[:80]


def _findings(full: str, top: str, dialect: Dialect) -> list[tuple[str, str, str]]:
    """(kind, message, table) for every rule that matches the normalised statement."""
    found = []
    for rule in dialect.rules:
        match = rule.pattern.search(top if rule.on == "top" else full)
        if match:
            groups = {k: (v or "") for k, v in match.groupdict().items()}
            found.append((rule.kind, rule.message.format(**groups), groups.get("table", "")))
    return found


def annotate(rendering: Rendering) -> Rendering:
    """The rendering with an annotation right above every destructive or lock-risky statement."""
    dialect, table = rendering.dialect, rendering.version_table
    created: set[str] = set()  # tables created earlier in this rendering: empty, no lock risk

    version_words = {table.name.upper(), table.sql.upper()}

    def bookkeeping(text: str) -> bool:  # the version table's own statements: cheap test first
        words = text[:120].replace("(", " ").split()[:4]
        return any(w.upper().strip('"`[]') in version_words or w.upper() in version_words for w in words)

    def change(statements: list[Statement]) -> list[Statement]:
        normalised = {i: normalise(s.text, dialect) for i, s in enumerate(statements)
                      if s.kind == SQL and not bookkeeping(s.text)}
        # SQLite batch mode copies a table, drops it and renames the copy: that DROP loses nothing.
        batch_recreated = {m["to"] for full, _ in normalised.values()
                           for m in [_BATCH_RENAME.match(full)] if m}
        out: list[Statement] = []
        for index, statement in enumerate(statements):
            if index not in normalised or _mentions_version_table(normalised[index][0], table):
                out.append(statement)
                continue
            full, top = normalised[index]
            already = {parse_annotation(s) for s in out[-3:] if s.kind == ANNOTATION}
            for kind, message, table_name in _findings(full, top, dialect):
                is_drop = full.upper().startswith("DROP TABLE")
                if kind == DESTRUCTIVE and is_drop and table_name in batch_recreated:
                    continue  # SQLite batch mode: the table was copied and is renamed back
                if kind == LOCK_RISK and table_name in created:
                    continue  # created earlier in this run: empty, nothing to lock
                if (kind, message) not in already:
                    out.append(annotation(dialect, kind, message))
            created_match = _CREATE_TABLE.match(full)
            if created_match and not created_match["table"].startswith("_alembic_tmp_"):
                created.add(created_match["table"])
            out.append(statement)
        return out

    return rendering.map_statements(change)


def findings_of(statements: list[Statement]) -> dict[str, list[str]]:
    """The annotations among ``statements``, by kind, in order."""
    out: dict[str, list[str]] = {DESTRUCTIVE: [], LOCK_RISK: []}
    for statement in statements:
        parsed = parse_annotation(statement) if statement.kind == ANNOTATION else None
        if parsed:
            out[parsed[0]].append(parsed[1])
    return out


# ---- type changes ------------------------------------------------------------------------------

_INTEGER_RANK = {"SmallInteger": 1, "Integer": 2, "BigInteger": 3}


def _family(t: sa.types.TypeEngine) -> str:
    for family, base in (("integer", sa.Integer), ("numeric", sa.Numeric), ("string", sa.String),
                         ("datetime", sa.DateTime), ("date", sa.Date), ("time", sa.Time),
                         ("boolean", sa.Boolean), ("binary", sa.LargeBinary)):
        if isinstance(t, base):
            return family
    return type(t).__name__


def lossy_type_change(table: str, column: str, old, new) -> str | None:
    """A message when changing ``old`` to ``new`` can lose data; None for a widening."""
    if old is None or new is None:
        return None
    old = old() if isinstance(old, type) else old
    new = new() if isinstance(new, type) else new
    what = f"{table}.{column} from {old} to {new}"
    if _family(old) != _family(new):
        return f"converts {what}: values that do not convert are lost or rejected"
    if _family(old) == "integer":
        rank = lambda t: next((r for n, r in _INTEGER_RANK.items() if type(t).__name__ == n), 2)  # noqa: E731
        return f"narrows {what}: larger values are rejected" if rank(new) < rank(old) else None
    if _family(old) == "numeric":
        op, np_ = getattr(old, "precision", None), getattr(new, "precision", None)
        os_, ns = getattr(old, "scale", None) or 0, getattr(new, "scale", None) or 0
        if (np_ is not None and (op is None or np_ < op)) or ns < os_:
            return f"narrows {what}: values are rounded or rejected"
        return None
    if _family(old) == "string":
        if isinstance(old, sa.Enum) and isinstance(new, sa.Enum):
            missing = [e for e in old.enums if e not in new.enums]
            return f"removes values {', '.join(missing)} of {table}.{column}" if missing else None
        ol, nl = getattr(old, "length", None), getattr(new, "length", None)
        if nl is not None and (ol is None or nl < ol):
            return f"narrows {what}: longer values are cut or rejected"
        return None
    if str(old) != str(new):
        return f"changes {what}: check that every value fits"
    return None


# ---- irreversible steps --------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """Whether a step's downgrade restores what its upgrade changed."""

    reversible: bool
    reason: str = ""


def _is_noop(body: list[ast.stmt]) -> bool:
    rest = [s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return all(isinstance(s, ast.Pass) for s in rest)


def _first_real(body: list[ast.stmt]) -> ast.stmt | None:
    return next((s for s in body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))),
                None)


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
    and their source need not be parsed."""
    code = getattr(function, "__code__", None)
    return code is not None and len(code.co_code) > 24 and _RAISE not in code.co_code[::2]


def script_verdict(path: str, module) -> Verdict:
    """From the revision's source: is its downgrade a no-op or a raise?"""
    down, up = getattr(module, "downgrade", None), getattr(module, "upgrade", None)
    if down is None:
        return Verdict(False, "it has no downgrade()")
    if _plainly_does_something(down):
        return Verdict(True)
    lines = linecache.getlines(path)
    body = _function_body(lines, down)
    if body is None:
        return Verdict(True)
    first = _first_real(body)
    if isinstance(first, ast.Raise):
        return Verdict(False, "its downgrade() raises")
    if _is_noop(body):
        up_body = _function_body(lines, up) if up is not None else None
        if not (up_body is not None and _is_noop(up_body)):
            return Verdict(False, "its downgrade() does nothing (pass)")
    return Verdict(True)


def does_nothing(statements: list[Statement], dialect: Dialect, table: VersionTable) -> bool:
    """True when a step's statements are only comments, notes and version-table bookkeeping."""
    return all(
        s.kind in (COMMENT, NOTE, ANNOTATION) or s.kind != SQL
        or is_version_statement(s.text, dialect, table)
        or s.text.strip().upper() in ("BEGIN;", "COMMIT;", "BEGIN TRANSACTION;")
        for s in statements
    )
