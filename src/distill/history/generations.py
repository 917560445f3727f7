"""Which load of a project's history is which: a second rendering loads the scripts again for
another load (an API caller's scripts may have changed between two)."""

from __future__ import annotations

import itertools

_GENERATIONS = itertools.count(1)


def new_generation() -> int:
    """A number no earlier load of a history in this process had."""
    return next(_GENERATIONS)
