"""The kinds of findings a ``distill check`` policy can fail on (``--fail-on``, ``fail_on``):
read by the configuration, applied by ``check_policy``."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import ConfigError

UNRENDERABLE, IRREVERSIBLE = "unrenderable", "irreversible"
KINDS = (UNRENDERABLE, IRREVERSIBLE, "destructive", "data-loss", "lock-risk", "not-reproducible",
         "manual-steps", "warnings", "data-dependent")
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
                          f"are {', '.join(KINDS)}, all")
    return frozenset(KINDS) if "all" in names else frozenset(names)
