"""The tokenizer the formatter's verification and the analysis rely on: what it must tell apart
in each dialect, and that its tokens always cover the text exactly."""

from __future__ import annotations

import random

import pytest

from distill import dialects
from distill.statements.lexer import COMMENT, DOLLAR, ERROR, NUMBER, PUNCT, QIDENT, STRING, WORD, WS, tokenize

ALL = ("postgresql", "mysql", "mariadb", "sqlite", "oracle", "mssql")


def kinds(sql: str, dialect: str) -> list[tuple[str, str]]:
    return [t for t in tokenize(sql, dialects.get(dialect).lexer) if t[0] != WS]


@pytest.mark.parametrize(("dialect", "sql", "expected"), [
    ("postgresql", "SELECT 'it''s' AS x",
     [(WORD, "SELECT"), (STRING, "'it''s'"), (WORD, "AS"), (WORD, "x")]),
    ("postgresql", r"SELECT E'a\'b', 'C:\'", [(WORD, "SELECT"), (STRING, r"E'a\'b'"), (PUNCT, ","),
                                              (STRING, r"'C:\'")]),
    ("mysql", r"SELECT 'C:\\', 'a\'b'", [(WORD, "SELECT"), (STRING, r"'C:\\'"), (PUNCT, ","),
                                         (STRING, r"'a\'b'")]),
    ("mysql", "SELECT 1--2", [(WORD, "SELECT"), (NUMBER, "1"), (PUNCT, "--"), (NUMBER, "2")]),
    ("mysql", "SELECT 1 -- two", [(WORD, "SELECT"), (NUMBER, "1"), (COMMENT, "-- two")]),
    ("mysql", "SELECT `a``b` # note", [(WORD, "SELECT"), (QIDENT, "`a``b`"), (COMMENT, "# note")]),
    ("postgresql", "DO $f$ BEGIN; END $f$", [(WORD, "DO"), (DOLLAR, "$f$ BEGIN; END $f$")]),
    ("postgresql", "/* a /* b */ c */ SELECT", [(COMMENT, "/* a /* b */ c */"), (WORD, "SELECT")]),
    ("mysql", "/* a /* b */ c */", [(COMMENT, "/* a /* b */"), (WORD, "c"), (PUNCT, "*/")]),
    ("mssql", "SELECT [a]]b] FROM t", [(WORD, "SELECT"), (QIDENT, "[a]]b]"), (WORD, "FROM"),
                                       (WORD, "t")]),
    ("sqlite", "SELECT 'open", [(WORD, "SELECT"), (ERROR, "'open")]),
    ("postgresql", "SELECT 'a' || 'b\nc", [(WORD, "SELECT"), (STRING, "'a'"), (PUNCT, "||"),
                                          (ERROR, "'b\nc")]),
    ("postgresql", "/* a /* b */ SELECT 'x'", [(ERROR, "/* a /* b */ SELECT 'x'")]),
])
def test_what_each_dialect_tells_apart(dialect, sql, expected):
    assert kinds(sql, dialect) == expected


@pytest.mark.parametrize("dialect", ALL)
def test_tokens_always_concatenate_back_to_the_text(dialect):
    pieces = ["'", '"', "`", "[", "]", "$$", "$a$", "/*", "*/", "--", "#", "\n", " ", "E'", "N'",
              "\\", "''", "x", "SELECT", "1.5e3", ".5", ";", "(", "-", "::", "\u00e9", "@", "\r"]
    rng = random.Random(dialect)
    rules = dialects.get(dialect).lexer
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        tokens = tokenize(text, rules)
        assert "".join(t for _, t in tokens) == text
        assert all(t for _, t in tokens)
        assert all(k != ERROR for k, _ in tokens[:-1])  # an error token runs to the end
