"""A small, dialect-aware SQL tokenizer, independent of sqlparse.

It knows exactly what the dialects need to tell code from data: string literals (with or without
backslash escapes, E'' strings), quoted identifiers ("", ``, []), dollar-quoted bodies, and line
and block comments. Everything else is words, numbers and operator runs. It never raises: text it
cannot close (an unterminated literal) becomes one ``error`` token running to the end.
"""

from __future__ import annotations

import re
from functools import cache

from ..dialects import LexerRules

WS, COMMENT, STRING, QIDENT, DOLLAR, WORD, NUMBER, PUNCT, ERROR = (
    "ws", "comment", "string", "qident", "dollar", "word", "number", "punct", "error",
)
# Tokens whose text is data or a name, never layout: their bytes must survive any rewrite.
OPAQUE = frozenset({COMMENT, STRING, QIDENT, DOLLAR, ERROR})


Token = tuple[str, str]  # (kind, text): plain tuples, the lexer is on the formatter's hot path


def _alternatives(rules: LexerRules) -> list[tuple[str, str]]:
    """The token patterns, most frequent first (each is tried in order at every position)."""
    plain_string = r"'(?:[^'\\]|\\.|'')*'" if rules.backslash_escapes else r"'(?:[^']|'')*'"
    # A word never starts where a literal, a dollar body or a comment does.
    not_literal = r"(?![eE]')" if rules.escape_string_prefix else ""
    word_start = "A-Za-z_\\x80-\\U0010ffff@" + ("" if rules.hash_comments else "#") + (
        "" if rules.dollar_quotes else "$")
    alts = [
        (WS, r"\s+"),
        (WORD, not_literal + "[" + word_start + r"][\w$#@]*"),
        (NUMBER, r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"),
    ]
    if rules.escape_string_prefix:
        alts.append((STRING, r"[eE]'(?:[^'\\]|\\.|'')*'"))
    alts.append((STRING, plain_string))
    # MySQL needs whitespace after '--' for a comment; '#' also starts one there.
    alts.append((COMMENT, r"--(?=[ \t\r\n]|$)[^\n]*" if rules.hash_comments else r"--[^\n]*"))
    if rules.hash_comments:
        alts.append((COMMENT, r"\#[^\n]*"))
    alts.append((COMMENT, r"/\*.*?\*/"))
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
    # Opening quotes are never punctuation: one that does not close makes the rest an ERROR.
    quotes = "'\"" + ("`" if rules.backtick_identifiers else "") + (
        "[" if rules.bracket_identifiers else "")
    alts.append((PUNCT, r"[-+*/<>=~!%^&|?:]+|[^\s" + re.escape(quotes) + "]"))
    # Last: an opening quote none of the above could close runs to the end. With it, every
    # position matches something, so the tokens always cover the text.
    alts.append((ERROR, "[" + re.escape(quotes) + "].*"))
    return alts


@cache
def _compiled(rules: LexerRules) -> tuple[re.Pattern[str], list[str]]:
    """The pattern, and the token kind by the group number of each alternative."""
    alts = _alternatives(rules)
    pattern = re.compile("|".join(f"(?P<t{i}>{rx})" for i, (_, rx) in enumerate(alts)), re.DOTALL)
    kinds = [""] * (pattern.groups + 1)
    for i, (kind, _) in enumerate(alts):  # m.lastindex is the alternative's (outer) group
        kinds[pattern.groupindex[f"t{i}"]] = kind
    return pattern, kinds


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


def tokenize(text: str, rules: LexerRules) -> list[Token]:
    """The (kind, text) tokens of ``text``; their texts concatenate back to ``text`` exactly."""
    pattern, kinds = _compiled(rules)
    tokens = [(kinds[m.lastindex], m[0]) for m in pattern.finditer(text)]
    if rules.nested_block_comments and any(k == COMMENT and "/*" in t[2:] for k, t in tokens):
        return _tokenize_nested(text, pattern, kinds)
    return tokens


def _tokenize_nested(text: str, pattern: re.Pattern[str], kinds: list[str]) -> list[Token]:
    """The same, for text with a block comment inside a block comment (SQL Server, PostgreSQL)."""
    tokens: list[Token] = []
    pos, end = 0, len(text)
    while pos < end:
        match = pattern.match(text, pos)
        assert match is not None  # every position matches: see _alternatives
        kind, stop = kinds[match.lastindex], match.end()
        if kind == COMMENT and text.startswith("/*", pos):
            stop = _nested_comment_end(text, pos)
            if stop < 0:
                tokens.append((ERROR, text[pos:]))
                break
        tokens.append((kind, text[pos:stop]))
        pos = stop
    return tokens


def expand_layout_tabs(text: str, rules: LexerRules) -> str:
    """Replace tabs by four spaces only where they are layout, never inside literals or names.

    Alembic's offline writer replaces every tab of a compiled statement, which silently changes
    string values that contain tabs; SQLAlchemy's own DDL indentation is the only tab meant.
    """
    if "\t" not in text:
        return text
    return "".join(
        piece.replace("\t", "    ") if kind not in OPAQUE else piece
        for kind, piece in tokenize(text, rules)
    )


def top_level_parts(text: str) -> list[str]:
    """``text`` split at the commas outside parentheses, each part stripped, in one pass (a
    CREATE TABLE's column and constraint clauses)."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
    return [*parts, text[start:].strip()]
