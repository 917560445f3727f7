"""Turning captured statements into the text of a SQL script."""

from __future__ import annotations

from collections.abc import Iterable

from .capture import Statement
from .dialects import Dialect
from .fixups import client_ready


def preamble(dialect: Dialect) -> list[str]:
    """Client and session settings every script of ``dialect`` starts with (may be empty)."""
    if not dialect.preamble:
        return []
    return [dialect.comment_line(f"{dialect.client_program} session settings"), *dialect.preamble]


def script_text(statements: Iterable[Statement], dialect: Dialect) -> str:
    """The statements as one script: each followed by a blank line, as Alembic writes them.

    This is where statements are made ready for the dialect's client (MySQL's DELIMITER).
    """
    blocks = ["\n".join(preamble(dialect))] if dialect.preamble else []
    blocks.extend(s.text for s in client_ready(list(statements), dialect))
    return "\n\n".join(blocks) + "\n" if blocks else ""
