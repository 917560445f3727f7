"""Turning statements into the text of a SQL script for the dialect's client.

Order: the client's stop-on-error command, the guard (before any other statement), the session
settings, then the statements, each followed by a blank line as Alembic writes them. An
annotation comment sits right above the statement it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..dialects import Dialect
from .delimiters import client_ready
from .findings import about_the_step
from .model import ANNOTATION, Statement
from .timeouts import NO_TIMEOUTS, Timeouts, timeout_lines


def script_text(statements: Iterable[Statement], dialect: Dialect, *,
                guard: Sequence[Statement] = (), timeouts: Timeouts = NO_TIMEOUTS) -> str:
    """The whole text of a script: stop-on-error, guard, session settings (with ``timeouts``),
    then ``statements``."""
    blocks: list[str] = []
    if dialect.guard.stop_on_error:
        blocks.append("\n".join([dialect.comment_line(f"{dialect.client.program}: stop at the first error"),
                                 *dialect.guard.stop_on_error]))
    if guard:
        blocks.append("\n".join([dialect.comment_line("guard: stop unless the database is at the "
                                                      "expected revision"), guard[0].text]))
        blocks.extend(g.text for g in guard[1:])
    if dialect.preamble:
        blocks.append("\n".join([dialect.comment_line(f"{dialect.client.program} session settings"),
                                 *dialect.preamble]))
    if timeouts:
        blocks.append("\n".join(timeout_lines(dialect, timeouts)))
    pending: list[str] = []
    for statement in client_ready(list(statements), dialect):
        if statement.kind == ANNOTATION and not about_the_step(statement):
            pending.append(statement.text)
            continue
        blocks.append("\n".join([*pending, statement.text]))
        pending = []
    blocks.extend(pending)
    if dialect.postamble and blocks:
        blocks.append("\n".join([dialect.comment_line(f"{dialect.client.program}: end of the file"),
                                 *dialect.postamble]))
    return "\n\n".join(blocks) + "\n" if blocks else ""
