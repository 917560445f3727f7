"""Text that comes from users (revision scripts, env.py, configuration, bundles) on its way into
file names, SQL comments, the runbook and messages: checked here with full matches, or made one
line (no control character, newline or NUL), so the first lines of every file are distill's."""

from __future__ import annotations

import difflib
import re

from .errors import DistillError


def display_revisions(revisions: tuple[str, ...] | list[str]) -> str:
    """Revisions as messages and headers show them: comma-separated, or ``base``."""
    return ", ".join(revisions) if revisions else "base"

_RELEASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")
_FILE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# C0 and C1 controls (newline, carriage return, NUL, escape ...), Unicode line separators and
# bidirectional controls (which reorder what a reader sees of the rest of the line)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def one_line(text: object) -> str:
    """``text`` with every control character (newline and NUL included) made a space."""
    return _CONTROL.sub(" ", str(text))


def check_file_part(value: str, what: str) -> str:
    """``value`` if it can be part of a file name as it is; DistillError naming ``what`` otherwise."""
    if not _FILE_PART.fullmatch(value or "") or ".." in value:
        raise DistillError(
            f"{what} {one_line(value)!r} cannot be part of a file name: distill names files after "
            "revision ids made of letters, digits and . _ - (no '/', no '..', no spaces or control "
            "characters); change the revision id"
        )
    return value


def check_release_name(name: str) -> str:
    """``name`` if it is a plain release name usable as a directory name; DistillError otherwise."""
    if not _RELEASE_NAME.fullmatch(name or "") or ".." in name:
        raise DistillError(
            f"{name!r} is not a plain release name: use letters, digits and . _ + - (at most 64, "
            "starting with a letter or digit, no '..'), not a path, spaces or control characters"
        )
    return name


_TABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def check_table_name(value: object, what: str) -> str:
    """``value`` if it is a plain SQL name (letters, digits, _; at most 63; not starting with a
    digit): such a name is safe in every dialect's SQL, literal and client. DistillError naming
    ``what`` (where it came from) otherwise."""
    if not isinstance(value, str) or not _TABLE_NAME.fullmatch(value):
        raise DistillError(f"{what} {one_line(str(value))[:80]!r} is not a plain table name: distill writes "
                           "it into SQL, into string literals and into the runbook, so it takes letters, "
                           "digits and _ only (at most 63, not starting with a digit)")
    return value


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """``: did you mean 'x'?`` for the one of ``choices`` ``word`` looks like a typo or a short
    form of (``mysq``, ``postgres``), else ``""``."""
    word = word.lower()
    starting = [c for c in choices if word and c.startswith(word)]
    close = starting if len(starting) == 1 else difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f": did you mean {close[0]!r}?" if close else ""


def revision_label(revision: str, message: str) -> str:
    """``revision (message)``, or the revision alone when it has no message."""
    return f"{revision} ({message})" if message else revision
