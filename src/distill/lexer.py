"""A small, dialect-aware SQL tokenizer, independent of sqlparse.

It knows exactly what the dialects need to tell code from data: string literals (with or without
backslash escapes, E'' strings), quoted identifiers ("", ``, []), dollar-quoted bodies, and line
and block comments. Everything else is words, numbers and operator runs. It never raises: text it
cannot close (an unterminated literal) becomes one ``error`` token running to the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from .dialects import LexerRules

WS, COMMENT, STRING, QIDENT, DOLLAR, WORD, NUMBER, PUNCT, ERROR = (
    "ws", "comment", "string", "qident", "dollar", "word", "number", "punct", "error",
)
# Tokens whose text is data or a name, never layout: their bytes must survive any rewrite.
OPAQUE = frozenset({COMMENT, STRING, QIDENT, DOLLAR, ERROR})


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str


def _alternatives(rules: LexerRules) -> list[tuple[str, str]]:
    plain_string = r"'(?:[^'\\]|\\.|'')*'" if rules.backslash_escapes else r"'(?:[^']|'')*'"
    alts = [(WS, r"\s+")]
    # MySQL needs whitespace after '--' for a comment; '#' also starts one there.
    alts.append((COMMENT, r"--(?=[ \t\r\n]|$)[^\n]*" if rules.hash_comments else r"--[^\n]*"))
    if rules.hash_comments:
        alts.append((COMMENT, r"\#[^\n]*"))
    alts.append((COMMENT, r"/\*.*?\*/"))
    if rules.escape_string_prefix:
        alts.append((STRING, r"[eE]'(?:[^'\\]|\\.|'')*'"))
    alts.append((STRING, plain_string))
    if rules.double_quote == "string":
        alts.append((STRING, plain_string.replace("'", '"')))
    else:
        alts.append((QIDENT, r'"(?:[^"]|"")*"'))
    if rules.backtick_identifiers:
        alts.append((QIDENT, r"`(?:[^`]|``)*`"))
    if rules.bracket_identifiers:
        alts.append((QIDENT, r"\[(?:[^\]]|\]\])*\]"))
    if rules.dollar_quotes:
        alts.append((DOLLAR, r"\$(?P<tag>(?:[A-Za-z_\x80-\U0010ffff][\w]*)?)\$.*?\$(?P=tag)\$"))
    alts += [
        (NUMBER, r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"),
        (WORD, r"[A-Za-z_\x80-\U0010ffff@#$][\w$#@]*"),
        (PUNCT, r"[-+*/<>=~!%^&|?:]+|[^\s]"),
    ]
    return alts


@cache
def _compiled(rules: LexerRules) -> tuple[re.Pattern[str], tuple[str, ...]]:
    alts = _alternatives(rules)
    pattern = "|".join(f"(?P<t{i}>{rx})" for i, (_, rx) in enumerate(alts))
    return re.compile(pattern, re.DOTALL), tuple(kind for kind, _ in alts)


def _nested_comment_end(text: str, start: int) -> int:
    """End offset of a nested /* ... */ comment starting at ``start``, or -1 if unterminated."""
    depth, pos = 0, start
    while pos < len(text):
        two = text[pos : pos + 2]
        if two == "/*":
            depth, pos = depth + 1, pos + 2
        elif two == "*/":
            depth, pos = depth - 1, pos + 2
            if depth == 0:
                return pos
        else:
            pos += 1
    return -1


def tokenize(text: str, rules: LexerRules) -> Iterator[Token]:
    """Yield the tokens of ``text``; concatenating their texts gives ``text`` back exactly."""
    pattern, kinds = _compiled(rules)
    pos, end = 0, len(text)
    while pos < end:
        match = pattern.match(text, pos)
        if match is None:  # an opening quote or comment that never closes
            yield Token(ERROR, text[pos:])
            return
        kind = kinds[int(match.lastgroup[1:])]  # the outer group closes last
        stop = match.end()
        if kind == COMMENT and rules.nested_block_comments and text.startswith("/*", pos):
            stop = _nested_comment_end(text, pos)
            if stop < 0:
                yield Token(ERROR, text[pos:])
                return
        yield Token(kind, text[pos:stop])
        pos = stop


def expand_layout_tabs(text: str, rules: LexerRules) -> str:
    """Replace tabs by four spaces only where they are layout, never inside literals or names.

    Alembic's offline writer replaces every tab of a compiled statement, which silently changes
    string values that contain tabs; SQLAlchemy's own DDL indentation is the only tab meant.
    """
    if "\t" not in text:
        return text
    return "".join(
        tok.text.replace("\t", "    ") if tok.kind not in OPAQUE else tok.text
        for tok in tokenize(text, rules)
    )
