"""The names of the dialects distill has a data file for."""

from __future__ import annotations

from functools import cache

from ..resources import data_dir


@cache
def available() -> tuple[str, ...]:
    """Names of every dialect distill has a data file for, sorted."""
    return tuple(sorted(p.stem for p in data_dir("dialects").glob("*.toml") if not p.stem.startswith("_")))
