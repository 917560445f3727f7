"""Lock and statement timeouts at the top of every file (``--lock-timeout``, ``--statement-timeout``):
the dialect's own settings (``dialects/*.toml [timeouts]``), or a comment saying it has none."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..dialects import Dialect

_DURATION = re.compile(r"(?P<amount>[0-9]{1,9}(?:\.[0-9]{1,3})?)(?P<unit>ms|s|min|h)")
_UNIT_MS = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}
_MAX_MS = 24 * 3_600_000  # a day: longer is no timeout, and a typo


@dataclass(frozen=True)
class Timeouts:
    """How long a statement may wait for a lock, and run, in milliseconds (None: not set)."""

    lock_ms: int | None = None
    statement_ms: int | None = None

    def __bool__(self) -> bool:
        return self.lock_ms is not None or self.statement_ms is not None

    def describe(self) -> str:
        """``lock 5s, statement 10min`` (what is set)."""
        parts = [f"{what} {show_duration(ms)}" for what, ms in (("lock", self.lock_ms),
                                                                  ("statement", self.statement_ms))
                 if ms is not None]
        return ", ".join(parts)


NO_TIMEOUTS = Timeouts()


def parse_duration(text: str, what: str) -> int:
    """Milliseconds of ``5s``, ``500ms``, ``2min``, ``1h`` (a unit is required); ConfigError naming
    ``what`` otherwise."""
    match = _DURATION.fullmatch(str(text).strip())
    if not match:
        raise ConfigError(f"{what}: {str(text)[:40]!r} is not a duration: give a number and a unit "
                          "(500ms, 5s, 2min, 1h)")
    ms = math.ceil(float(match["amount"]) * _UNIT_MS[match["unit"]])
    if not 1 <= ms <= _MAX_MS:
        raise ConfigError(f"{what}: {text} is out of range (1ms to 24h)")
    return ms


def show_duration(ms: int) -> str:
    for unit, size in (("h", 3_600_000), ("min", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _filled(lines: tuple[str, ...], ms: int) -> list[str]:
    seconds = max(1, math.ceil(ms / 1000))  # whole seconds: rounded up, never 0 (0 means no limit)
    decimal = f"{ms / 1000:.3f}".rstrip("0").rstrip(".")
    return [line.format(ms=ms, seconds=seconds, seconds_decimal=decimal) for line in lines]


def timeout_lines(dialect: Dialect, timeouts: Timeouts) -> list[str]:
    """The lines that set ``timeouts`` for the dialect's session, with a comment naming each;
    a timeout the dialect has no setting for is a comment saying so."""
    if not timeouts:
        return []
    facts = dialect.timeouts
    lines = [dialect.comment_line(f"timeouts ({timeouts.describe()}): a statement that waits or runs "
                                  "longer fails, and the file stops there")]
    for ms, setting, missing, what in ((timeouts.lock_ms, facts.lock, facts.lock_missing, "lock"),
                                       (timeouts.statement_ms, facts.statement, facts.statement_missing,
                                        "statement")):
        if ms is None:
            continue
        if setting:
            lines += _filled(setting, ms)
        else:
            lines.append(dialect.comment_line(f"no {what} timeout: {missing}"))
    return lines
