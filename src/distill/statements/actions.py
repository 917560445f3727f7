"""A small pre-parse of the statements findings read: ``ALTER TABLE [IF EXISTS] [ONLY] name
action, action ...`` becomes one form per action, ``ALTER TABLE name action``, so rules read each
action by its grammar (``ALTER COLUMN x DROP NOT NULL`` is an ALTER COLUMN action, never a DROP of
a column named NOT; ``IF EXISTS`` is never a table name).

The words an action may start with are in ``dialects/_common.toml`` (``[grammar]``); a part that
starts with none of them continues the action before it (SQL Server's ``DROP COLUMN a, b``).
"""

from __future__ import annotations

import re

from .lexer import top_level_parts

_ALTER = re.compile(r"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(?P<table>[^\s*]+)\*? (?P<rest>.+)$", re.I)
_WORD = re.compile(r"\w*")
_INNER_PARENS = re.compile(r"\([^()]*\)")
# the leading words of an action a continuation part takes over ("DROP COLUMN", "ADD")
_LEAD = re.compile(r"^(?P<lead>(?P<verb>ADD|DROP)(?: COLUMN| CONSTRAINT)?(?: IF (?:NOT )?EXISTS)? )", re.I)


def elided(full: str) -> str:
    """``full`` with everything inside parentheses elided (a WHERE in a subquery does not count)."""
    top = full
    while _INNER_PARENS.search(top):
        top = _INNER_PARENS.sub("<>", top)
    return top


def alter_table(full: str, action_words: frozenset[str]) -> tuple[str, list[str]] | None:
    """(table, actions) of an ALTER TABLE statement (normalised), or None for any other."""
    match = _ALTER.match(full)
    if not match:
        return None
    actions: list[str] = []
    for part in top_level_parts(match["rest"]):
        first = _WORD.match(part)[0].upper()
        if actions and first not in action_words:
            lead = _LEAD.match(actions[-1])
            if not lead:  # no known action to continue: keep the text whole, as written
                actions[-1] = f"{actions[-1]}, {part}"
                continue
            # "DROP CONSTRAINT a, b" drops two constraints; "DROP CONSTRAINT a, COLUMN c" a column
            part = (f"{lead['verb']} " if first in ("COLUMN", "CONSTRAINT") else lead["lead"]) + part
        actions.append(part)
    return match["table"], actions


def forms(full: str, action_words: frozenset[str]) -> list[tuple[str, str]]:
    """(full, top) forms the rules read: one per action of an ALTER TABLE, else the statement."""
    parsed = alter_table(full, action_words)
    if parsed is None:
        return [(full, elided(full))]
    table, actions = parsed
    return [(f"ALTER TABLE {table} {action}", elided(f"ALTER TABLE {table} {action}"))
            for action in actions]
