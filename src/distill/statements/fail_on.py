"""The kinds of findings a ``distill check`` policy can fail on (``--fail-on``, ``fail_on``):
read by the configuration, applied by ``check_policy``; and the waivers that acknowledge
findings, which a policy then ignores."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..names import did_you_mean, one_line

UNRENDERABLE, IRREVERSIBLE = "unrenderable", "irreversible"
KINDS = (UNRENDERABLE, IRREVERSIBLE, "destructive", "data-loss", "lock-risk", "compatibility",
         "not-reproducible", "manual-steps", "warnings", "data-dependent")
DEFAULT = frozenset({UNRENDERABLE})


def parse_fail_on(value: str | Iterable[str], where: str) -> frozenset[str]:
    """The kinds of a ``--fail-on`` value (comma-separated) or a ``fail_on`` list; ``all`` is
    every kind. ConfigError naming ``where`` for an unknown one."""
    if not isinstance(value, str) and not all(isinstance(n, str) for n in value):
        raise ConfigError(f"{where}: a comma-separated string or a list of kind names")
    names = [n.strip() for n in (value.split(",") if isinstance(value, str) else value)]
    unknown = [n for n in names if n not in (*KINDS, "all")]
    if unknown or not names:
        raise ConfigError(f"{where}: unknown kind(s) {', '.join(unknown) or '(none)'}; the kinds "
                          f"are {', '.join(KINDS)}, all"
                          + (did_you_mean(unknown[0], (*KINDS, "all")) if unknown else ""))
    return frozenset(KINDS) if "all" in names else frozenset(names)


# A waiver acknowledges findings of one kind in one revision: what `--fail-on` then ignores.
WAIVABLE = KINDS[1:]  # a revision that cannot render cannot be waived: nothing was checked
_WAIVER_KEYS = ("revision", "kind", "reason", "approver", "dialect", "direction", "match")
_REQUIRED = ("revision", "kind", "reason", "approver")


@dataclass(frozen=True)
class Waiver:
    """One ``[[tool.distill.waivers]]`` entry: the findings of ``kind`` in ``revision`` (narrowed
    to a dialect, a direction, a text the finding's message contains) acknowledged, why, by whom."""

    number: int  # its position among the configured waivers, from 1
    revision: str
    kind: str  # a policy kind (WAIVABLE)
    reason: str
    approver: str
    dialect: str | None = None
    direction: str | None = None
    match: str | None = None

    def covers(self, kind: str, revision: str, direction: str, message: str, dialect: str) -> bool:
        """Whether it waives a finding of policy ``kind`` in ``revision`` and ``dialect``."""
        return (kind == self.kind and revision == self.revision and self.dialect in (None, dialect)
                and self.direction in (None, direction) and (self.match is None or self.match in message))

    def mark(self) -> str:
        """How a waived finding is marked: by whom and why."""
        return f"waived by {self.approver}: {self.reason}"

    def scope(self) -> str:
        """What it waives, in words: "destructive of ab12 (postgresql, upgrade, 'table t')"."""
        narrowed = [n for n in (self.dialect, self.direction) if n] + \
            ([repr(self.match)] if self.match is not None else [])
        return f"{self.kind} of {self.revision}" + (f" ({', '.join(narrowed)})" if narrowed else "")

    def to_json(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in _WAIVER_KEYS if getattr(self, key) is not None}


def parse_waivers(value: Any, source: str, dialect_names: Iterable[str]) -> tuple[Waiver, ...]:
    """The ``waivers`` of a ``[tool.distill]`` table (an array of tables); ConfigError naming
    ``source`` and the waiver for anything missing, unknown or not a one-line text."""
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise ConfigError(f"{source}: waivers must be an array of tables, each written "
                          "[[tool.distill.waivers]] with revision, kind, reason and approver")
    return tuple(_waiver(number, entry, source, tuple(dialect_names))
                 for number, entry in enumerate(value, 1))


def _waiver(number: int, entry: dict[str, Any], source: str, dialect_names: tuple[str, ...]) -> Waiver:
    where = f"{source}: waiver {number}" + (f" (revision {one_line(entry['revision'])[:80]!r})"
                                            if isinstance(entry.get("revision"), str) else "")
    unknown = sorted(set(entry) - set(_WAIVER_KEYS))
    missing = [key for key in _REQUIRED if key not in entry]
    if unknown or missing:
        problem = (f"unknown key(s) {', '.join(one_line(k)[:40] for k in unknown)}" if unknown
                   else f"no {' and no '.join(missing)}")
        raise ConfigError(f"{where}: {problem}; a waiver needs {', '.join(_REQUIRED)} and may narrow "
                          f"itself with {', '.join(_WAIVER_KEYS[4:])}")
    texts = {}
    for key, raw in entry.items():
        text = one_line(raw).strip() if isinstance(raw, str) else ""
        if not text:
            raise ConfigError(f"{where}: {key} must be a non-empty text, not {one_line(repr(raw))[:80]}")
        texts[key] = text
    allowed = {"kind": WAIVABLE, "dialect": dialect_names, "direction": ("upgrade", "downgrade")}
    for key, names in allowed.items():
        if key in texts and texts[key] not in names:
            why = " (a revision that cannot render cannot be waived)" if key == "kind" else ""
            raise ConfigError(f"{where}: unknown {key} {texts[key][:80]!r}; it is one of "
                              f"{', '.join(names)}{why}")
    return Waiver(number, **texts)
