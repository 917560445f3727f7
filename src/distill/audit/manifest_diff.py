"""The manifest fields two bundles disagree on that no other part of ``distill diff`` shows.

A DBA reads the manifest (the project, each step's destructive findings, the client command):
an edit to any of it is a difference, even when every SQL file is the same. Fields another part
of the report already shows are left out: generator versions and options, the release (the
report's header), the range when revisions were added or removed (listed as such), a script's
SHA-256 (EDITED AFTER RELEASE), and the files' SHA-256 (their SQL is compared). Fields that
follow from the range (step numbers and file names when revisions were added; whole-file counts
when the ranges differ) and from the formatting option are left out when the range or the option
differs.
"""

from __future__ import annotations

import json
from typing import Any

# top-level keys other parts show (the release in the header: two builds of one range may be
# named differently); the range is listed when the two bundles have the same steps
_SHOWN = ("generator", "options", "release")
_WHOLE_FILE = ("upgrade", "downgrade", "formatting", "point_of_no_return")  # per dialect
_MISSING = object()


Path = tuple[str, ...]  # keys, and "[revision]" for a step of a list of steps


def _flatten(value: Any, path: Path, out: dict[Path, Any]) -> None:
    """Leaf values by path; a list of steps is keyed by revision (``steps[ab3a].message``), other
    lists are one value (``destructive``). Without recursion: a crafted manifest nests deeply."""
    pending = [(path, value)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            pending += [((*path, str(key)), item) for key, item in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) and "revision" in v
                                                        for v in value):
            pending += [((*path, f"[{item['revision']}]"), item) for item in value]
        else:
            out[path] = value


def field_name(path: Path) -> str:
    """``dialects.postgresql.steps[ab3a].up.destructive``"""
    return "".join(part if part.startswith("[") or not i else f".{part}" for i, part in enumerate(path))


def _left_out(parts: Path, *, same_steps: bool, same_range: bool, same_format: bool,
              shared_dialects: set[str], shared_revisions: set[str]) -> bool:
    if parts[0] == "range":  # revisions added or removed explain it; else it is listed
        return not same_steps
    if parts[0] in _SHOWN:
        return True
    if parts[-1] == "sha256" and parts[0] == "dialects":
        return True
    revisions = [p[1:-1] for p in parts if p.startswith("[")]
    if any(r not in shared_revisions for r in revisions):
        return True  # a revision added or removed: listed as such
    if parts[0] == "steps" and parts[-1] == "script_sha256":
        return True  # EDITED AFTER RELEASE
    if parts[-1] in ("number", "file") and not same_steps:
        return True  # steps renumber when revisions come or go; file names carry the number
    if parts[0] == "dialects":
        if len(parts) < 2 or parts[1] not in shared_dialects:
            return len(parts) >= 2  # a dialect of one bundle only: the dialects option shows it
        if len(parts) > 2 and parts[2] in _WHOLE_FILE and not same_range:
            return True  # whole files of different ranges are not compared
        if len(parts) > 2 and parts[2] == "formatting" and not same_format:
            return True  # the formatting option (shown, or ignored with --ignore-formatting)
    return False


def _shown(value: Any) -> Any:
    return None if value is _MISSING else value


def manifest_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Each differing manifest field no other part of the report shows: field, old, new (None
    when a side lacks it), in field order."""
    a: dict[Path, Any] = {}
    b: dict[Path, Any] = {}
    _flatten(old, (), a)
    _flatten(new, (), b)
    old_revisions = {s.get("revision") for s in old.get("steps", []) if isinstance(s, dict)}
    new_revisions = {s.get("revision") for s in new.get("steps", []) if isinstance(s, dict)}
    options = (old.get("options", {}), new.get("options", {}))
    context = {
        "same_steps": old_revisions == new_revisions,
        "same_range": old.get("range", {}).get("from") == new.get("range", {}).get("from")
        and old.get("range", {}).get("to") == new.get("range", {}).get("to"),
        "same_format": options[0].get("format") == options[1].get("format"),
        "shared_dialects": set(old.get("dialects", {})) & set(new.get("dialects", {})),
        "shared_revisions": {str(r) for r in old_revisions & new_revisions},
    }
    out = []
    for path in sorted(set(a) | set(b)):
        before, after = a.get(path, _MISSING), b.get(path, _MISSING)
        if _canonical(before) == _canonical(after) or _left_out(path, **context):
            continue
        out.append({"field": field_name(path), "old": _shown(before), "new": _shown(after)})
    return out


def _canonical(value: Any) -> str:
    return "<missing>" if value is _MISSING else json.dumps(value, sort_keys=True)
