"""The project's revision history: loading the scripts once, and resolving revision specs.

A spec is anything Alembic accepts (full or unique-prefix ids, ``head``, ``heads``, ``base``,
``label@head``, branch labels, relative ``rev+N`` / ``rev-N``), a release version from the
``[tool.distill.releases]`` map, or several of those separated by commas.
"""

from __future__ import annotations

import difflib
import os
import re
import traceback
from pathlib import Path

from alembic.script import Script, ScriptDirectory
from alembic.script.revision import RevisionError as AlembicRevisionError
from alembic.util import CommandError

from .config import Settings
from .errors import ConfigError, RevisionError, ScriptLoadError
from .precompile import compiled_on_second_core, script_files

_RELATIVE = re.compile(r"^(?P<base>.*?)(?P<sign>[+-])(?P<count>\d+)$")
_REVISION_LINE = re.compile(r"""^revision\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"]""", re.M)


class History:
    """One loaded revision history. Every revision script is executed once, here."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.alembic_config()
        self.script, self.precompiled = _load(self.config, settings)
        self.version_dirs = [Path(p).resolve() for p in self.script._version_locations]
        self._bases = [os.path.join(str(base), "") for base in (settings.root.resolve(), *self.version_dirs)]

    # ---- lookups -------------------------------------------------------------------------
    def get(self, revision: str) -> Script:
        script = self.script.revision_map.get_revision(revision)
        assert script is not None
        return script

    def heads(self) -> tuple[str, ...]:
        return tuple(sorted(self.script.get_heads()))

    def relpath(self, path: str | Path) -> str:
        """``path`` relative to the project root, with forward slashes (never absolute)."""
        text = os.path.abspath(path)  # normalised: no '..', no doubled or trailing separator
        for base in self._bases:
            if text.startswith(base):  # plain strings: called once per step, 10,000s of times
                return text[len(base):].replace(os.sep, "/")
        resolved = str(Path(text).resolve())  # through a symbolic link: compare real paths
        for base in self._bases:
            if resolved.startswith(base):
                return resolved[len(base):].replace(os.sep, "/")
        return Path(text).name

    def describe(self, revision: str) -> str:
        script = self.get(revision)
        return f"{revision} ({script.doc.splitlines()[0] if script.doc else 'no message'})"

    # ---- specs ---------------------------------------------------------------------------
    def resolve(self, spec: str, *, relative_to: tuple[str, ...] = ()) -> tuple[str, ...]:
        """The revision ids ``spec`` names, in the order given; () for base.

        ``relative_to`` anchors a bare ``+N`` / ``-N`` (the other end of a range).
        """
        result: list[str] = []
        parts = [p.strip() for p in spec.split(",")]
        if not any(parts):
            raise RevisionError(f"empty revision spec {spec!r}")
        for part in parts:
            for rev in self._resolve_one(part, relative_to, depth=0):
                if rev not in result:
                    result.append(rev)
        return tuple(result)

    def _resolve_one(self, part: str, relative_to: tuple[str, ...], depth: int) -> tuple[str, ...]:
        releases = self.settings.releases
        if part in releases and depth == 0:
            return self._resolve_one(releases[part], relative_to, depth + 1)
        if part == "base":
            return ()
        if part == "heads":
            return self.heads()
        if part == "head":
            heads = self.heads()
            if len(heads) > 1:
                raise RevisionError(
                    "'head' is ambiguous: the history has several heads: "
                    + "; ".join(self.describe(h) for h in heads)
                    + ". Name one (a revision, 'label@head') or use 'heads' for all of them."
                )
            return heads
        relative = _RELATIVE.match(part)
        if relative and not self._exists(part):
            base = relative["base"]
            anchor = self.resolve(base) if base else relative_to
            count = int(relative["count"]) * (1 if relative["sign"] == "+" else -1)
            return (self._walk(anchor, count, part),)
        return self._lookup(part)

    def _exists(self, part: str) -> bool:
        try:
            self.script.revision_map.get_revisions(part)
            return True
        except (AlembicRevisionError, CommandError, ValueError):
            return False

    def _lookup(self, part: str) -> tuple[str, ...]:
        rmap = self.script.revision_map
        if "@" not in part and part not in rmap._revision_map:
            candidates = sorted(r for r in rmap._revision_map if r and r.startswith(part))
            if len(candidates) > 1:
                raise RevisionError(
                    f"revision {part!r} is ambiguous: it is the start of "
                    + "; ".join(self.describe(c) for c in candidates)
                    + ". Give more characters."
                )
        try:
            revs = rmap.get_revisions(part)
        except (AlembicRevisionError, CommandError, ValueError) as exc:
            raise RevisionError(self._unknown_message(part, exc)) from None
        return tuple(r.revision for r in revs if r is not None)

    def _unknown_message(self, part: str, exc: Exception) -> str:
        known = [r for r in self.script.revision_map._revision_map if r]
        labels = sorted(
            {label for s in self.script.walk_revisions() for label in s.branch_labels}
        )
        # Compare a short prefix with prefixes of the same length, not with whole ids.
        by_prefix = {r[: len(part)]: r for r in known} if len(part) < 12 else {}
        names = known + labels + list(self.settings.releases) + list(by_prefix)
        close = [by_prefix.get(c, c) for c in difflib.get_close_matches(part, names, n=3)]
        close = list(dict.fromkeys(close))
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        releases = (
            f" Release versions: {', '.join(self.settings.releases)}."
            if self.settings.releases else ""
        )
        return (
            f"no revision matches {part!r} in {self._where()} ({exc}).{hint} "
            f"Heads: {', '.join(self.heads())}."
            + (f" Branch labels: {', '.join(labels)}." if labels else "")
            + releases
        )

    def _where(self) -> str:
        return ", ".join(self.relpath(d) or "." for d in self.version_dirs)

    def _walk(self, anchor: tuple[str, ...], count: int, spec: str) -> str:
        """The revision ``count`` steps above (positive) or below (negative) ``anchor``."""
        if len(anchor) != 1:
            raise RevisionError(
                f"relative revision {spec!r} needs exactly one revision to count from, "
                f"not {len(anchor)} ({', '.join(anchor) or 'base'})"
            )
        current = anchor[0]
        for _ in range(abs(count)):
            script = self.get(current)
            nxt = sorted(script.nextrev) if count > 0 else sorted(script._versioned_down_revisions)
            if len(nxt) != 1:
                where = "branches" if count > 0 else "is a merge"
                raise RevisionError(
                    f"relative revision {spec!r} is ambiguous: {self.describe(current)} {where} "
                    f"({', '.join(nxt) or 'nothing beyond it'}); name the revision instead"
                )
            current = nxt[0]
        return current


def _load(config, settings: Settings) -> tuple[ScriptDirectory, int]:
    """ScriptDirectory with every revision script loaded (and how many scripts were compiled on
    the second core), or a ScriptLoadError naming the file."""
    try:
        script = ScriptDirectory.from_config(config)
    except CommandError as exc:
        raise ConfigError(f"{settings.source}: cannot open the Alembic scripts: {exc}") from None
    try:
        # Alembic loads each script by its resolved path: list them the same way
        files = script_files([Path(p).resolve() for p in script._version_locations],
                             script.recursive_version_locations)
        with compiled_on_second_core(files) as handover:
            script.revision_map.heads  # noqa: B018 - loads (executes) every revision script
    except Exception as exc:
        raise _load_error(exc, script, settings) from None
    return script, handover.used


def _load_error(exc: Exception, script: ScriptDirectory, settings: Settings) -> ScriptLoadError:
    version_dirs = [Path(p).resolve() for p in script._version_locations]

    def in_versions(filename: str | None) -> bool:
        return bool(filename) and any(Path(filename).resolve().is_relative_to(d) for d in version_dirs)

    filename, line = None, None
    if isinstance(exc, SyntaxError) and in_versions(exc.filename):
        filename, line = exc.filename, exc.lineno
    else:
        for frame in traceback.extract_tb(exc.__traceback__):
            if in_versions(frame.filename):
                filename, line = frame.filename, frame.lineno
    if filename is None:
        return ScriptLoadError(
            f"cannot load the revision history of {settings.source}: "
            f"{type(exc).__name__}: {exc}"
        )
    path = Path(filename)
    try:
        found = _REVISION_LINE.search(path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        found = None
    revision = f"revision {found[1]}" if found else "a revision"
    rel = path.name
    for base in (settings.root, *version_dirs):
        if path.resolve().is_relative_to(base):
            rel = path.resolve().relative_to(base).as_posix()
            break
    detail = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return ScriptLoadError(
        f"cannot load {revision}: its script {rel} fails to import at line {line}: "
        f"{type(exc).__name__}: {detail}. Fix the script (or the module it imports) and run again."
    )
