"""What a bundle is built from: a named range, for some dialects, with the options that change its
bytes (the render cache keys a whole bundle by it, before anything heavy is imported)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..statements.timeouts import Timeouts

if TYPE_CHECKING:
    from ..shadow import ShadowSpec


@dataclass(frozen=True)
class BundleSpec:
    """What to build: a named range, for some dialects, formatted or not."""

    release: str
    from_spec: str
    to_spec: str
    dialects: tuple[str, ...]
    style: str = "sqlparse"
    standalone: bool = False
    # a rebuild resolves the shipped revision ids but records the ends as they were asked for
    asked: tuple[str, str] | None = None
    shadow: ShadowSpec | None = None  # rendered against a shadow database instead of offline
    timeouts: Timeouts = Timeouts()  # lock and statement timeouts set at the top of every file
    record_table: str | None = None  # record_applied: every file adds its row to this table
    reproducibility_check: bool = True  # render a second time to find what is not reproducible
