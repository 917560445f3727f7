"""check --shadow's shadow: one per dialect, opened once and moved along the range by the steps
check renders (check.py's ``_ShadowedPart``), so no step is rendered only to bring a fresh shadow
to where it starts; before each step, brought to what the bundle has applied there; opened again
only after a step failed on it (its state is then unknown)."""

from __future__ import annotations

import contextlib
from typing import Any

from ..dialects import Dialect
from ..history.scripts import History
from ..offline.render import render
from ..offline.shadow_plans import plans_to
from ..shadow import ShadowDatabase, ShadowSpec, open_shadow


class MovingShadow:
    """One dialect's shadow for check, moved along by the renderings against it."""

    def __init__(self, history: History, dialect: Dialect, spec: ShadowSpec, standalone: bool) -> None:
        self.history, self.dialect, self.spec, self.standalone = history, dialect, spec, standalone
        self.stack: contextlib.ExitStack | None = None
        self.database: ShadowDatabase | None = None

    def ready_for(self, applied: int) -> ShadowDatabase:
        """The shadow, opened if need be and brought to the applied set ``applied``
        (``shadow_plans.applied_set``: what the bundle has applied where a step renders); a fresh
        copy of a --shadow-url database is checked against the range's start on the way."""
        if self.database is None:
            self.stack = contextlib.ExitStack()
            self.database = self.stack.enter_context(open_shadow(self.dialect, self.spec))
        for move in plans_to(self.history, self.database.at or (), applied):
            render(self.history, move, self.dialect, standalone=self.standalone, shadow=self.database)
        return self.database

    def lost(self) -> None:
        """Its state is not one the range can move it from: the next ``ready_for()`` opens another."""
        if self.stack is not None:
            self.stack.close()
        self.stack, self.database = None, None

    def __enter__(self) -> MovingShadow:
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.lost()
