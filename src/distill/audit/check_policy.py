"""Applying a ``distill check`` policy (``fail_on``: which kinds of findings fail it), and the
findings as GitHub Actions annotations (``--format github``).

Kinds a policy names, and which findings each covers:

* ``unrenderable``: a revision that cannot render (the default, alone);
* ``irreversible``: a downgrade that does nothing or raises;
* ``destructive``: dropped tables, columns, constraints, every row deleted or updated;
* ``data-loss``: rows deleted or overwritten, a downgrade that does not write them back, a
  probable rename (drop + add of the same type);
* ``compatibility``: what breaks the application version still running during a rolling deploy
  (renames, drops, NOT NULL without a default);
* ``lock-risk``, ``not-reproducible``, ``manual-steps``, ``warnings``, ``data-dependent``;
* ``all``: every one of them.

A finding a waiver covers (``[[tool.distill.waivers]]``) is still listed, marked with the
waiver's reason and approver, and fails no policy; a waiver that covers nothing is a finding of
the kind it waives (UNUSED WAIVER), which fails the policies that name that kind.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..names import one_line
from ..statements.fail_on import DEFAULT, IRREVERSIBLE, UNRENDERABLE, Waiver
from ..statements.waivers import POLICY_OF, UNUSED_WAIVER
from .check_report import CheckReport

if TYPE_CHECKING:
    from ..history.scripts import History

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
    rule: str = UNRENDERABLE  # the report's kind of finding (one SARIF rule each)
    waiver: Waiver | None = None  # the waiver that acknowledges it: --fail-on ignores it
    unused: Waiver | None = None  # an UNUSED WAIVER: the waiver that covers nothing


def items(report: CheckReport) -> Iterator[Item]:
    """Every finding, one per waiver that covers it in some of its dialects, then an
    UNUSED WAIVER for each waiver that covers nothing (of the kind it waives)."""
    for (revision, _, direction, location, cause, fix), names in report.unrenderable.items():
        yield Item(UNRENDERABLE, "CANNOT RENDER", revision, direction, f"{cause}. {fix}", tuple(names),
                   location)
    for (revision, _, reason), found in report.irreversible.items():
        for waiver, names in report.waived(IRREVERSIBLE, revision, "downgrade", reason, found):
            yield Item(IRREVERSIBLE, "IRREVERSIBLE", revision, "downgrade", reason, tuple(names),
                       rule=IRREVERSIBLE, waiver=waiver)
    for (revision, direction, kind, message), found in report.findings.items():
        for waiver, names in report.waived(kind, revision, direction, message, found):
            yield Item(POLICY_OF.get(kind, kind), kind.replace("_", " ").upper(), revision, direction,
                       message, tuple(names), rule=kind, waiver=waiver)
    for waiver in report.unused_waivers():
        yield Item(waiver.kind, "UNUSED WAIVER", waiver.revision, waiver.direction or "upgrade",
                   report.unused_message(waiver), (waiver.dialect,) if waiver.dialect else report.dialects,
                   rule=UNUSED_WAIVER, unused=waiver)


__all__ = ["DEFAULT", "Item", "failing", "github_lines", "items", "script_line", "text"]


def failing(report: CheckReport, kinds: frozenset[str]) -> list[Item]:
    """The findings that make the check fail under ``kinds``: not the waived ones; a waiver that
    covers nothing fails it when the kind it waives does."""
    return [item for item in items(report) if item.kind in kinds and item.waiver is None]


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


_WAIVER_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*(tool\.distill\.)?waivers[ \t]*\]\]", re.M)


def _waiver_line(config: Path, number: int) -> int:
    """The line of the configuration file where waiver ``number`` starts: its ``number``-th
    ``[[tool.distill.waivers]]`` header (1 when it is written otherwise)."""
    try:
        source = config.read_text(encoding="utf-8")
        return source.count("\n", 0, [m.start() for m in _WAIVER_TABLE.finditer(source)][number - 1]) + 1
    except (OSError, UnicodeDecodeError, IndexError):
        return 1


def text(item: Item) -> str:
    """A finding in one line: revision, direction, dialects and message (and its waiver)."""
    where = f"{item.revision} {item.direction} [{', '.join(item.dialects)}]: "
    if item.unused is not None:
        where = ""  # it names its revision itself
    return one_line(where + item.message + (f" ({item.waiver.mark()})" if item.waiver else ""))


def script_line(item: Item, history: History) -> tuple[str, int]:
    """(path relative to the project, line) a finding points at: the revision script's failing
    operation, or its upgrade() / downgrade(); for a waiver, the configuration file."""
    if item.unused is not None:
        config = history.settings.root / history.settings.source
        return history.relpath(config), _waiver_line(config, item.unused.number)
    script = history.get(item.revision)
    found = _LINE.search(item.location)
    line = int(found[1]) if found else _function_line(script.module, item.direction)
    return history.relpath(script.path), line


def github_lines(report: CheckReport, history: History, kinds: frozenset[str]) -> list[str]:
    """One ``::error`` (a kind that fails the check) or ``::warning`` line per finding, at the
    revision script's line: the failing operation's, or its upgrade()'s / downgrade()'s. A
    waived finding is a warning that says who waived it and why."""
    lines = []
    for item in items(report):
        path, line = script_line(item, history)
        level = "error" if item.kind in kinds and item.waiver is None else "warning"
        where = f"file={_escape(path, property_value=True)},line={line}"
        title = _escape(f"distill {item.title}" + (" (waived)" if item.waiver else ""), property_value=True)
        # a revision id is the history's own text: no control character reaches the CI log
        message = _escape(text(item))
        lines.append(f"::{level} {where},title={title}::{message}")
    return lines
