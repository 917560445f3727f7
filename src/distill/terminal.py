"""The way out: every text the command line prints (reports, messages, errors, usage) and every
report it writes passes through ``echo`` or ``visible``, which neutralise what a terminal would
obey instead of show. A received bundle, a revision script or a configuration can hold escape
sequences (OSC 52 writes the clipboard, OSC 0 the window title, OSC 8 hides a link, DCS, CSI),
8-bit C1 controls (``\\x9b`` is a CSI of its own) and bidirectional controls (U+202E reverses
what follows it on the screen); each such character is shown as its escape, ``\\u001b``,
``\\u009b``, ``\\u202e``, so that what the reader sees is what the text holds.

Newline and tab stay. The escape form is JSON's: in a JSON report it means the same character,
so a report stays valid JSON that reads the same. The SQL that ``distill sql`` prints is SQL, not
terminal text: it is never changed (see ``sql_for_a_terminal``).
"""

from __future__ import annotations

import io
import re
import sys

import click

# C0 controls but tab and newline, DEL, C1 controls, and the Unicode line separators and
# bidirectional controls (embeddings, overrides, isolates, marks)
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# distill's own colours (click.style): kept in a report distill styled, every other escape shown
_STYLE = re.compile(r"(\x1b\[[0-9;]*m)")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def visible(text: object, *, styled: bool = False) -> str:
    """``text`` with every control character but newline and tab shown as its ``\\uXXXX``
    escape. ``styled``: the text is a report distill coloured after making its parts visible,
    whose colour codes (and only those: ``ESC [ ... m``) stay."""
    text = str(text)
    if not styled:
        return _HIDDEN.sub(_escape, text)
    return "".join(part if index % 2 else _HIDDEN.sub(_escape, part)
                   for index, part in enumerate(_STYLE.split(text)))


def holds_hidden(text: str) -> bool:
    """Whether ``text`` holds a character ``visible`` would show as its escape."""
    return _HIDDEN.search(text) is not None


def echo(text: object = "", *, err: bool = False, nl: bool = True, styled: bool = False) -> None:
    """click.echo of ``visible(text)``: the one way the command line prints."""
    click.echo(visible(text, styled=styled), err=err, nl=nl)


def show_click_error(exc: click.ClickException) -> None:
    """A usage error as click shows it (usage, hint, ``Error: ...``), made visible: the message
    can quote what was typed, or a name read from the project."""
    buffer = io.StringIO()
    exc.show(file=buffer)
    echo(buffer.getvalue(), err=True, nl=False)


def stdout_is_a_terminal() -> bool:
    return sys.stdout.isatty()
