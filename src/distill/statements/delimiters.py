"""MySQL/MariaDB compound statements: the client cuts ``BEGIN ... END`` bodies at the first ``;``
unless the script switches ``DELIMITER``; distill switches it around exactly those statements."""

from __future__ import annotations

import functools

from ..dialects import Dialect, LexerRules
from .lexer import COMMENT, PUNCT, WS, tokenize
from .model import SQL, Statement


@functools.lru_cache(maxsize=8192)  # a step's statements are emitted twice: whole file and step file
def _compound_body(statement: str, rules: LexerRules, terminator: str) -> str | None:
    """The body of ``statement`` without its final terminator(s) when it has inner ``;``."""
    tokens = tokenize(statement, rules)
    while tokens and (tokens[-1][0] == WS or tokens[-1][1] == terminator):
        tokens.pop()
    if not any(kind == PUNCT and ";" in piece for kind, piece in tokens):
        return None
    body = "".join(piece for _, piece in tokens)
    # A delimiter appended to a trailing line comment would be commented out.
    return body + "\n" if tokens[-1][0] == COMMENT else body


def client_ready(statements: list[Statement], dialect: Dialect) -> list[Statement]:
    """Statements rewritten only where the dialect's client would otherwise misread them."""
    if dialect.compound_statements != "delimiter":
        return statements
    out = []
    for statement in statements:
        body = _compound_body(statement.text, dialect.lexer, dialect.terminator)
        if statement.kind != SQL or body is None:
            out.append(statement)
            continue
        delimiter = next((d for d in dialect.delimiter_candidates if d not in body), None)
        if delimiter is None:
            raise ValueError(f"no DELIMITER candidate is free for statement: {body[:80]}")
        out.append(
            Statement(SQL, f"DELIMITER {delimiter}\n{body}{delimiter}\nDELIMITER {dialect.terminator}")
        )
    return out
