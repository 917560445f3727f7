"""Revision ids and branch labels as the scripts declare them, read as text (``ast``, nothing
executed): what shell completion offers. Loading the history executes every revision script;
pressing TAB in a repository must not run its code."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.script import ScriptDirectory

from .. import alembic_compat as compat
from ..config import Settings
from .parallel_compile import script_files

_NAMES = ("revision", "branch_labels")


def declared_words(settings: Settings) -> set[str]:
    """Every ``revision = "..."`` and ``branch_labels = ...`` literal at the top level of the
    project's revision scripts (a script that does not parse, or computes them, gives nothing)."""
    script = ScriptDirectory.from_config(settings.alembic_config())  # reads the folders' names only
    files = script_files([Path(p).resolve() for p in compat.version_locations(script)],
                         script.recursive_version_locations)
    words: set[str] = set()
    for path in files:
        try:
            tree = ast.parse(Path(path).read_bytes(), path)
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError):
            continue  # one pathological script (200,000 nested '+') costs its own words only
        for node in tree.body:
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
            if isinstance(target, ast.Name) and target.id in _NAMES and node.value is not None:
                words.update(_literal_words(node.value))
    return words


def _literal_words(value: ast.expr) -> list[str]:
    try:
        literal = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return []
    if isinstance(literal, str):
        return [literal]
    return [item for item in literal if isinstance(item, str)] if isinstance(literal, (list, tuple)) else []
