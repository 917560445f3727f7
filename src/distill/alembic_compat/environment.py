"""Driving an EnvironmentContext: ``configure`` replaced on the instance (subclassing it breaks the
``alembic.context`` proxy), the migration context's version table, a step that runs nothing, and
the version bookkeeping replayed without SQL."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import HeadMaintainer
from alembic.script import ScriptDirectory
from sqlalchemy import Table

from .patches import alembic_patched


def run_env(env: EnvironmentContext, script: ScriptDirectory, configure: Callable[..., None]) -> None:
    """Run the project's env.py with ``context.configure`` replaced by ``configure`` (which gets
    the original as its first argument)."""
    original = env.configure
    env.configure = lambda **kw: configure(original, **kw)  # type: ignore[method-assign]
    script.run_env()


def version_table_of(context: Any) -> Table:
    """The version Table of a configured MigrationContext (env.py may rename or move it)."""
    return context._version


def skipped_step(migration_step: Any, run: Callable[..., None]) -> Any:
    """``migration_step`` with its migration function replaced by ``run``: the version table
    still moves, nothing else runs."""
    clone = copy.copy(migration_step)
    run.__name__ = migration_step.migration_fn.__name__  # Alembic names the step after it
    clone.__class__ = type("SkippedStep", (type(migration_step),), {"migration_fn": property(lambda _: run)})
    return clone


class HeadsOnly(HeadMaintainer):
    """HeadMaintainer's bookkeeping without a database or SQL: the version table's rows."""

    def __init__(self, heads: Any) -> None:  # noqa: D107 - no context needed
        self.heads = set(heads)

    def _insert_version(self, version: str) -> None:
        self.heads.add(version)

    def _delete_version(self, version: str) -> None:
        self.heads.remove(version)

    def _update_version(self, from_: str, to_: str) -> None:
        self.heads.remove(from_)
        self.heads.add(to_)


def heads_after(start: tuple[str, ...], migration_steps: list[Any]) -> tuple[str, ...]:
    """The version table's rows after ``migration_steps`` ran from ``start``, sorted."""
    maintainer = HeadsOnly(start)
    with alembic_patched():  # the same (linear-time) bookkeeping rendering uses
        for step in migration_steps:
            maintainer.update_to_step(step)
    return tuple(sorted(maintainer.heads))
