"""Resolving what a user names to revision ids.

A spec is anything Alembic accepts (full or unique-prefix ids, ``head``, ``heads``, ``base``,
``label@head``, branch labels, relative ``rev+N`` / ``rev-N``), a release version from the
``[tool.distill.releases]`` map, or several of those separated by commas.
"""

from __future__ import annotations

import difflib
import re

from alembic.script.revision import RevisionError as AlembicRevisionError
from alembic.util import CommandError

from .. import alembic_compat as compat
from ..errors import RevisionError
from .scripts import History, display_revisions

# label@head, label@base, label@<revision>, or label@head+N: both sides present
_BRANCHED = re.compile(r"[^@\s]+@[^@\s]+")
_RELATIVE = re.compile(r"^(?P<base>.*?)(?P<sign>[+-])(?P<count>\d+)$")
_ALEMBIC_ERRORS = (AlembicRevisionError, CommandError, ValueError)


def resolve(history: History, spec: str, *, relative_to: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The revision ids ``spec`` names, in the order given; () for base.

    ``relative_to`` anchors a bare ``+N`` / ``-N`` (the other end of a range).
    """
    result: list[str] = []
    parts = [p.strip() for p in spec.split(",")]
    if not any(parts):
        raise RevisionError(f"empty revision spec {spec!r}")
    for part in parts:
        for rev in _resolve_one(history, part, relative_to, depth=0):
            if rev not in result:
                result.append(rev)
    return tuple(result)


def _resolve_one(history: History, part: str, relative_to: tuple[str, ...], depth: int) -> tuple[str, ...]:
    if "@" in part and not _BRANCHED.fullmatch(part):
        raise RevisionError(f"revision spec {part!r} is not label@head, label@base or label@<revision>")
    releases = history.settings.releases
    if part in releases and depth == 0:
        return _resolve_one(history, releases[part], relative_to, depth + 1)
    if part == "base":
        return ()
    if part == "heads":
        return history.heads()
    if part == "head":
        heads = history.heads()
        if len(heads) > 1:
            raise RevisionError(
                "'head' is ambiguous: the history has several heads: "
                + "; ".join(history.describe(h) for h in heads)
                + ". Name one (a revision, 'label@head') or use 'heads' for all of them."
            )
        return heads
    relative = _RELATIVE.match(part)
    # a bare +N / -N always counts from the other end (Alembic would count from the heads)
    if relative and (not relative["base"] or not _exists(history, part)):
        base = relative["base"]
        anchor = resolve(history, base) if base else relative_to
        count = int(relative["count"]) * (1 if relative["sign"] == "+" else -1)
        return (_walk(history, anchor, count, part),)
    return _lookup(history, part)


def _exists(history: History, part: str) -> bool:
    try:
        history.script.revision_map.get_revisions(part)
        return True
    except _ALEMBIC_ERRORS:
        return False


def _lookup(history: History, part: str) -> tuple[str, ...]:
    rmap = history.script.revision_map
    known = compat.revision_ids(rmap)
    if "@" not in part and part not in known:
        labels = {label for s in history.script.walk_revisions() for label in s.branch_labels}
        if len(part) < 4 and part not in labels:
            raise RevisionError(f"revision {part!r} is too short: give a revision id, or a prefix of at "
                                "least four characters, a branch label, or a release version of "
                                f"[tool.distill.releases] ({_releases(history)})")
        candidates = sorted(r for r in known if r.startswith(part))
        if len(candidates) > 1:
            raise RevisionError(
                f"revision {part!r} is ambiguous: it is the start of "
                + "; ".join(history.describe(c) for c in candidates)
                + ". Give more characters."
            )
    try:
        revs = rmap.get_revisions(part)
    except _ALEMBIC_ERRORS as exc:
        raise RevisionError(_unknown_message(history, part, exc)) from None
    return tuple(r.revision for r in revs if r is not None)


def _unknown_message(history: History, part: str, exc: Exception) -> str:
    known = compat.revision_ids(history.script.revision_map)
    labels = sorted({label for s in history.script.walk_revisions() for label in s.branch_labels})
    releases = list(history.settings.releases)
    # Compare a short prefix with prefixes of the same length, not with whole ids.
    by_prefix = {r[: len(part)]: r for r in known} if len(part) < 12 else {}
    names = known + labels + releases + list(by_prefix)
    close = list(dict.fromkeys(by_prefix.get(c, c) for c in difflib.get_close_matches(part, names, n=3)))
    where = ", ".join(history.relpath(d) or "." for d in history.version_dirs)
    return (
        f"no revision matches {part!r} in {where} ({exc})."
        + (f" Did you mean {', '.join(close)}?" if close else "")
        + f" Heads: {', '.join(history.heads())}."
        + (f" Branch labels: {', '.join(labels)}." if labels else "")
        + f" Release versions ([tool.distill.releases]): {_releases(history)}."
    )


def _releases(history: History) -> str:
    return ", ".join(history.settings.releases) or "none configured"


def _walk(history: History, anchor: tuple[str, ...], count: int, spec: str) -> str:
    """The revision ``count`` steps above (positive) or below (negative) ``anchor``; from base,
    ``+1`` is the history's root."""
    if not anchor and count > 0:
        roots = history.bases()
        if len(roots) == 1:
            return _walk(history, (roots[0],), count - 1, spec) if count > 1 else roots[0]
    if len(anchor) != 1:
        raise RevisionError(
            f"relative revision {spec!r} needs exactly one revision to count from, "
            f"not {len(anchor)} ({display_revisions(anchor)})"
        )
    current = anchor[0]
    for _ in range(abs(count)):
        script = history.get(current)
        nxt = sorted(script.nextrev) if count > 0 else sorted(compat.declared_parents(script))
        if len(nxt) != 1:
            where = "branches" if count > 0 else "is a merge"
            raise RevisionError(
                f"relative revision {spec!r} is ambiguous: {history.describe(current)} {where} "
                f"({', '.join(nxt) or 'nothing beyond it'}); name the revision instead"
            )
        current = nxt[0]
    return current
