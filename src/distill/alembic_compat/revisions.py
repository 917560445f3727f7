"""Reading Alembic's revision map: its private attributes and methods, behind small functions."""

from __future__ import annotations

from typing import Any

from alembic.runtime.migration import MigrationStep
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionMap


def version_locations(script: ScriptDirectory) -> list[str]:
    """The version folders Alembic loads scripts from, as configured."""
    return list(script._version_locations)


def revision_ids(rmap: RevisionMap) -> list[str]:
    """Every revision id of the map, in the map's own order (base excluded)."""
    return [rev for rev in rmap._revision_map if rev]


def parent_table(rmap: RevisionMap) -> dict[str, tuple[str, ...]]:
    """Revision id -> its parents and dependencies (Alembic's normalized down revisions)."""
    return {rev: tuple(s._normalized_down_revisions) for rev, s in rmap._revision_map.items() if rev}


def declared_parents(script: Any) -> tuple[str, ...]:
    """A script's own down revisions (dependencies excluded)."""
    return tuple(script._versioned_down_revisions)


def collect_revisions(rmap: RevisionMap, upper: Any, lower: Any, *, downgrade: bool) -> tuple[Any, Any]:
    """(revisions, heads) that ``iterate_revisions`` orders for an upgrade (``implicit_base``) or a
    downgrade (``select_for_downgrade``)."""
    collect = rmap._collect_downgrade_revisions if downgrade else rmap._collect_upgrade_revisions
    return collect(upper, lower, inclusive=False, implicit_base=not downgrade, assert_relative_length=True)


def ancestor_ids(rmap: RevisionMap, revisions: Any, *, dependencies: bool = True) -> set[str]:
    """Ids of ``revisions`` and all their ancestors (through ``depends_on`` too, by default)."""
    nodes = rmap._get_ancestor_nodes(rmap.get_revisions(revisions), include_dependencies=dependencies,
                                     check=False)
    return {node.revision for node in nodes}


def steps_from(step: MigrationStep) -> tuple[str, ...]:
    """The revisions an upgrade step's bookkeeping starts from: its parents and dependencies as
    Alembic normalizes them (the version table's rows it deletes or updates)."""
    return tuple(step.from_revisions)


def upgrade_step(rmap: RevisionMap, script: Any) -> MigrationStep:
    return MigrationStep.upgrade_from_script(rmap, script)


class MissingDowngrade(NotImplementedError):
    """Raised by the stand-in for a ``downgrade()`` a revision script does not define."""


def _missing_downgrade(script: Any) -> Any:
    def downgrade(**_: Any) -> None:
        raise MissingDowngrade(f"revision {script.revision} has no downgrade()")
    return downgrade


def downgrade_step(rmap: RevisionMap, script: Any) -> MigrationStep:
    """The downgrade step of ``script``. A script without ``downgrade()`` (upgrade-only
    projects) gets a stand-in that raises: the step is irreversible, like one that is ``pass``,
    and is never run (RevisionStep.__init__ would fail reading the attribute)."""
    if hasattr(script.module, "downgrade"):
        return MigrationStep.downgrade_from_script(rmap, script)
    step = MigrationStep.upgrade_from_script(rmap, script)
    step.is_upgrade = False
    step.migration_fn = _missing_downgrade(script)
    return step


def online_steps(script: ScriptDirectory, verb: str, target: str, heads: Any) -> Any:
    """What ``alembic upgrade|downgrade target`` runs from ``heads``."""
    return script._upgrade_revs(target, heads) if verb == "upgrade" else script._downgrade_revs(target, heads)
