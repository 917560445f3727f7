"""Applying a ``distill check`` policy (``fail_on``: which kinds of findings fail it), and the
findings as GitHub Actions annotations (``--format github``).

Kinds a policy names, and which findings each covers:

* ``unrenderable``: a revision that cannot render (the default, alone);
* ``irreversible``: a downgrade that does nothing or raises;
* ``destructive``: dropped tables, columns, constraints, every row deleted or updated;
* ``data-loss``: rows deleted or overwritten, a downgrade that does not write them back, a
  probable rename (drop + add of the same type);
* ``lock-risk``, ``not-reproducible``, ``manual-steps``, ``warnings``, ``data-dependent``;
* ``all``: every one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..history.scripts import History
from ..names import one_line
from ..statements.fail_on import DEFAULT, IRREVERSIBLE, UNRENDERABLE
from ..statements.findings import (
    DATA_DEPENDENT,
    DATA_LOSS,
    DESTRUCTIVE,
    LOCK_RISK,
    MANUAL_STEPS,
    NOT_REPRODUCIBLE,
    WARNING,
)
from ..statements.row_changes import NOT_RESTORED, PROBABLE_RENAMES
from .check import CheckReport

# a finding's kind in the report -> the policy kind that covers it
_POLICY_OF = {DESTRUCTIVE: "destructive", DATA_LOSS: "data-loss", NOT_RESTORED: "data-loss",
              PROBABLE_RENAMES: "data-loss", LOCK_RISK: "lock-risk", NOT_REPRODUCIBLE: "not-reproducible",
              MANUAL_STEPS: "manual-steps", WARNING: "warnings", DATA_DEPENDENT: "data-dependent"}
_LINE = re.compile(r", line (\d+)\b")


@dataclass(frozen=True)
class Item:
    """One finding of a check report, whatever its kind."""

    kind: str  # a policy kind
    title: str  # as the text report heads it
    revision: str
    direction: str
    message: str
    dialects: tuple[str, ...]
    location: str = ""  # "path, line N (...)" where the report knows it


def items(report: CheckReport) -> Iterator[Item]:
    for (revision, _, direction, location, cause, fix), names in report.unrenderable.items():
        yield Item(UNRENDERABLE, "CANNOT RENDER", revision, direction, f"{cause}. {fix}", tuple(names),
                   location)
    for (revision, _, reason), names in report.irreversible.items():
        yield Item(IRREVERSIBLE, "IRREVERSIBLE", revision, "downgrade", reason, tuple(names))
    for (revision, direction, kind, message), names in report.findings.items():
        yield Item(_POLICY_OF.get(kind, kind), kind.replace("_", " ").upper(), revision, direction,
                   message, tuple(names))


__all__ = ["DEFAULT", "Item", "failing", "github_lines", "items"]


def failing(report: CheckReport, kinds: frozenset[str]) -> list[Item]:
    """The findings that make the check fail under ``kinds``."""
    return [item for item in items(report) if item.kind in kinds]


def _escape(text: str, *, property_value: bool = False) -> str:
    """GitHub's workflow-command escaping: % CR LF always, : and , in a property's value."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _function_line(module: object, direction: str) -> int:
    """The line of the loaded script's upgrade() or downgrade() (1 when it has none): the
    history has the module already, nothing is read or parsed again."""
    function = getattr(module, "upgrade" if direction == "upgrade" else "downgrade", None)
    code = getattr(function, "__code__", None)
    return code.co_firstlineno if code is not None else 1


def github_lines(report: CheckReport, history: History, kinds: frozenset[str]) -> list[str]:
    """One ``::error`` (a kind that fails the check) or ``::warning`` line per finding, at the
    revision script's line: the failing operation's, or its upgrade()'s / downgrade()'s."""
    lines = []
    for item in items(report):
        script = history.get(item.revision)
        path = script.path
        found = _LINE.search(item.location)
        line = int(found[1]) if found else _function_line(script.module, item.direction)
        level = "error" if item.kind in kinds else "warning"
        where = f"file={_escape(history.relpath(path), property_value=True)},line={line}"
        title = _escape(f"distill {item.title}", property_value=True)
        # a revision id is the history's own text: no control character reaches the CI log
        message = _escape(one_line(f"{item.revision} {item.direction} [{', '.join(item.dialects)}]: "
                                   f"{item.message}"))
        lines.append(f"::{level} {where},title={title}::{message}")
    return lines
