"""Formatting each statement with sqlparse, fast, without ever changing what it means.

sqlparse is neither safe nor fast on migration SQL: it misreads
strings that end in a backslash, upper-cases identifiers that look like keywords, and runs at
~0.1 MB/s. So sqlparse never sees data or names:

1. distill's own lexer (``statements.lexer``) splits the statement; every literal, quoted identifier,
   dollar body, block comment, number and every word that is not a structural keyword is replaced
   by a placeholder (``q0x``, ``q1x`` ...). What is left is the statement's *shape*.
2. sqlparse formats the shape (reindent; keyword case where the dialect folds unquoted names),
   or ``closed_forms`` gives sqlparse's layout directly for the commonest shapes (bulk inserts,
   UPDATE, DELETE and SELECT with plain conditions, views, a kept layout with nothing to
   upper-case).
   Shapes repeat (every version UPDATE, every INSERT row has the same one, and most statements
   have the same shape in every dialect), so each distinct shape is formatted once per process
   and cached for every dialect with the same settings; a shape whose formatting is not a
   fixpoint is not formatted (where sqlparse's output, spaces collapsed, is its input again,
   that is proven without formatting it twice).
3. The placeholders are put back, and the result is accepted only if the lexer sees the same
   tokens as in the original (case-insensitively for unquoted words only where the dialect folds
   them). Otherwise, and for statements over the size cap, with line comments, or that sqlparse
   cannot handle, the statement is kept verbatim. Each outcome is counted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

import sqlparse

from ..dialects import Dialect
from . import closed_forms
from .lexer import COMMENT, DOLLAR, ERROR, NUMBER, QIDENT, STRING, WORD, WS, Token, tokenize
from .model import SQL, Statement
from .styles import CLOSED_FORMS_SQLPARSE, STYLES

# Words sqlparse may see: they give a statement its structure. Everything else is masked.
STRUCTURAL = frozenset("""
ADD ALL ALTER AND AS ASC BEGIN BETWEEN BY CASCADE CASE CHECK COLUMN COMMIT CONSTRAINT CREATE
CROSS DEFAULT DELETE DESC DISTINCT DROP ELSE END EXISTS FOREIGN FROM FULL GROUP HAVING IF IN
INDEX INNER INSERT INTERSECT INTO IS JOIN LEFT LIKE LIMIT NOT NULL OFFSET ON OR ORDER OUTER
PRIMARY REFERENCES RENAME RETURNING RIGHT ROLLBACK SELECT SET TABLE THEN TO TRANSACTION UNION
UNIQUE UPDATE USING VALUES VIEW WHEN WHERE WITH
""".split())
_MASKED_KINDS = frozenset({STRING, QIDENT, DOLLAR, NUMBER, COMMENT})
_PLACEHOLDER = re.compile(r"\bq(\d+)x\b")
_TRAILING_SPACE = re.compile(r"[ \t]+(?=\n)")
_ANY_SPACE = re.compile(r"\s+")
_CACHE_SIZE = 4096  # distinct shapes kept: memory stays flat whatever the input size


def closed_forms_on() -> bool:
    """closed_forms is sqlparse's layout as the versions CI proves it on write it
    (``CLOSED_FORMS_SQLPARSE``); under any other, sqlparse lays out every shape."""
    return sqlparse.__version__ in CLOSED_FORMS_SQLPARSE


@dataclass
class FormatStats:
    """How many statements were formatted and why the others were kept verbatim."""

    formatted: int = 0
    unchanged: int = 0  # formatting gave the same text
    verbatim: Counter = field(default_factory=Counter)  # reason -> count

    def to_json(self) -> dict:
        return {
            "formatted": self.formatted,
            "unchanged": self.unchanged,
            "verbatim": dict(sorted(self.verbatim.items())),
        }

    def __add__(self, other: FormatStats) -> FormatStats:
        return FormatStats(self.formatted + other.formatted, self.unchanged + other.unchanged,
                           self.verbatim + other.verbatim)

    def summary(self) -> str:
        kept = sum(self.verbatim.values())
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.verbatim.items()))
        return (f"{self.formatted} formatted, {self.unchanged} already formatted, "
                f"{kept} kept verbatim" + (f" ({reasons})" if reasons else ""))


class _Rejected(Exception):
    """The statement is kept verbatim; the message is the reason, for the counts."""


def significant_tokens(tokens: list[Token], fold: bool) -> list[tuple[str, str]]:
    """The tokens that carry meaning, as the verifier compares them (``fold``: unquoted words
    compare case-insensitively, for dialects that fold unquoted names)."""
    if fold:
        return [(k, t.upper()) if k == WORD else (k, t) for k, t in tokens if k != WS]
    return [tok for tok in tokens if tok[0] != WS]


class Formatter:
    """Formats the statements of one dialect; keeps a cache of formatted shapes and the counts."""

    def __init__(self, dialect: Dialect, style: str = "sqlparse") -> None:
        if style not in STYLES:
            raise ValueError(f"unknown format style {style!r}; use one of {', '.join(STYLES)}")
        self.dialect = dialect
        self.profile = dialect.format
        self.style = style
        self.stats = FormatStats()
        self._fold = self.profile.keyword_case == "upper"
        self._keep_layout = tuple(p.upper() for p in self.profile.keep_layout)
        self._layouts = {(keep, upper): _Layout(keep, upper, self.profile.reindent, self.profile.indent_width)
                         for keep in (False, True) for upper in (False, True)}

    # ---- public ---------------------------------------------------------------------------
    def statements(self, statements: list[Statement]) -> list[Statement]:
        """Each statement formatted (or kept as it is), counted in ``stats``."""
        return [self.statement(s) for s in statements]

    def statement(self, statement: Statement) -> Statement:
        """``statement`` formatted; distill's own and non-SQL statements pass through."""
        if self.style == "none" or statement.kind != SQL:
            return statement
        try:
            text = self.text(statement.text)
        except _Rejected as reason:
            self.stats.verbatim[str(reason)] += 1
            return statement
        if text == statement.text:
            self.stats.unchanged += 1
            return statement
        self.stats.formatted += 1
        return Statement(statement.kind, text)

    def text(self, sql: str) -> str:
        """``sql`` formatted, or _Rejected with the reason it must stay as it is."""
        if len(sql) > self.profile.max_statement_bytes:
            raise _Rejected("over the size cap")
        tokens = tokenize(sql, self.dialect.lexer)
        for kind, text in tokens:
            if kind == ERROR:
                raise _Rejected("not lexable")
            if kind == COMMENT and not text.startswith("/*"):
                raise _Rejected("line comment inside")
        shape, masked = self._mask(tokens)
        keep_layout = _ANY_SPACE.sub(" ", sql.lstrip()[:40]).upper().startswith(self._keep_layout)
        if not keep_layout and self.profile.reindent:
            shape = _ANY_SPACE.sub(" ", shape).strip()
        # a kept layout still goes through sqlparse where the dialect folds case: its output step
        # also turns CR LF into LF and strips trailing Unicode spaces, whatever the letters
        layout = self._layouts[keep_layout, self._fold and (keep_layout or _needs_upper(shape))]
        formatted_shape = _formatted_shape(shape, layout)
        if formatted_shape is None:
            raise _Rejected("sqlparse failed or is not stable")
        result = _PLACEHOLDER.sub(lambda m: masked[int(m[1])], formatted_shape)
        if result == sql:
            return sql
        if significant_tokens(tokenize(result, self.dialect.lexer), self._fold) != significant_tokens(
            tokens, self._fold
        ):
            raise _Rejected("tokens changed")
        return result

    # ---- steps ----------------------------------------------------------------------------
    def _mask(self, tokens: list[Token]) -> tuple[str, list[str]]:
        """The statement's shape, and the masked texts in placeholder order."""
        parts: list[str] = []
        masked: list[str] = []
        previous_masked = False
        for kind, text in tokens:
            is_masked = kind in _MASKED_KINDS or (kind == WORD and text.upper() not in STRUCTURAL)
            if is_masked and previous_masked:  # N'x', X'0F', 10e: one placeholder, not two
                masked[-1] += text
            elif is_masked:
                parts.append(f"q{len(masked)}x")
                masked.append(text)
            else:
                parts.append(text)
            previous_masked = is_masked
        return "".join(parts), masked


# The layout sqlparse gives a shape depends only on the shape and these settings, not on the
# dialect: one cache for every dialect, direction and job that runs in this process, so that a
# bundle's second and third dialects find most of their shapes formatted already.
@dataclass(frozen=True)
class _Layout:
    keep_layout: bool
    upper: bool  # keyword_case="upper"
    reindent: bool
    indent_width: int


def _format_once(shape: str, layout: _Layout) -> str:
    if layout.keep_layout and not layout.upper:
        out = shape
    elif layout.keep_layout:
        out = closed_forms.kept_layout_upper(shape, _needs_upper(shape)) if closed_forms_on() else None
        if out is None:
            out = sqlparse.format(shape, keyword_case="upper")
    else:
        out = closed_forms.reindented(shape, layout.indent_width) if layout.reindent and closed_forms_on() \
            else None
        if out is None:
            out = sqlparse.format(shape, reindent=layout.reindent, indent_width=layout.indent_width,
                                  keyword_case="upper" if layout.upper else None)
    return _TRAILING_SPACE.sub("", out).strip()


@lru_cache(maxsize=_CACHE_SIZE)
def _formatted_shape(shape: str, layout: _Layout) -> str | None:
    """sqlparse's layout of a shape, only if formatting it again changes nothing."""
    try:
        first = _format_once(shape, layout)
        again = first if layout.keep_layout else _ANY_SPACE.sub(" ", first)
        if again == shape:
            # formatting the result again would hand sqlparse the very text it was just given:
            # the same output (a pure function), so a fixpoint without a second pass
            return first
        second = _format_once(again, layout)
    except Exception:  # sqlparse's token cap, recursion, or anything else it cannot take
        return None
    return first if first == second else None


def clear_shape_cache() -> None:
    """Forget every formatted shape (for benchmarks that measure cold caches)."""
    _formatted_shape.cache_clear()


def _needs_upper(shape: str) -> bool:
    """Whether keyword_case="upper" could change ``shape``. sqlparse applies ``str.upper`` to the
    text of keyword tokens only, and no keyword token holds a placeholder (``\\bq12x\\b``): a
    shape whose other characters all stay the same under ``upper`` comes out the same with and
    without it, and both dialects share one cache entry."""
    rest = _PLACEHOLDER.sub("", shape)
    return rest != rest.upper()
