"""Planning: the ordered steps between two sets of revisions, in one direction.

The order is Alembic's own (``ScriptDirectory._upgrade_revs`` / ``_downgrade_revs``), so rendering the
planned steps is exactly what ``alembic upgrade``/``downgrade`` would run. Unlike Alembic's CLI, a
range may start at several revisions (for example two heads before a merge).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from alembic.script.revision import RangeNotAncestorError
from alembic.script.revision import RevisionError as AlembicRevisionError
from alembic.util import CommandError

from .. import alembic_compat as compat
from ..errors import RangeError, RevisionError
from ..names import revision_label
from .ordering import ordered_revisions
from .scripts import History, display_revisions
from .specs import resolve

UP, DOWN = "upgrade", "downgrade"


@dataclass(frozen=True)
class Step:
    """One revision applied in one direction."""

    revision: str
    direction: str
    message: str
    down_revisions: tuple[str, ...]
    dependencies: tuple[str, ...]
    branch_labels: tuple[str, ...]
    is_merge: bool
    is_branch_point: bool
    script_path: str  # relative to the project root

    @property
    def label(self) -> str:
        """``revision (message)``, or the revision alone when it has no message."""
        return revision_label(self.revision, self.message)

    @property
    def from_revisions(self) -> tuple[str, ...]:
        return self.down_revisions if self.direction == UP else (self.revision,)

    @property
    def to_revisions(self) -> tuple[str, ...]:
        return (self.revision,) if self.direction == UP else self.down_revisions

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "direction": self.direction,
            "message": self.message,
            "from": list(self.from_revisions),
            "to": list(self.to_revisions),
            "down_revisions": list(self.down_revisions),
            "depends_on": list(self.dependencies),
            "branch_labels": list(self.branch_labels),
            "merge_point": self.is_merge,
            "branch_point": self.is_branch_point,
            "script": self.script_path,
        }


@dataclass
class Plan:
    """The steps of one range. ``migration_steps`` are Alembic's objects, in the same order."""

    direction: str
    start: tuple[str, ...]
    target: tuple[str, ...]
    steps: list[Step]
    migration_steps: list[Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "from": list(self.start),
            "to": list(self.target),
            "steps": [s.to_json() for s in self.steps],
        }


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def step_of(history: History, migration_step: Any) -> Step:
    """The Step of one of Alembic's migration steps."""
    script = migration_step.revision
    return Step(
        revision=script.revision,
        direction=UP if migration_step.is_upgrade else DOWN,
        message=(script.doc or "").splitlines()[0] if script.doc else "",
        down_revisions=_as_tuple(script.down_revision),
        dependencies=_as_tuple(script.dependencies),
        branch_labels=tuple(sorted(script.branch_labels)),
        is_merge=script.is_merge_point,
        is_branch_point=script.is_branch_point,
        script_path=history.relpath(script.path),
    )


def _is_ancestor(history: History, lower: tuple[str, ...], upper: tuple[str, ...]) -> bool:
    """True when every revision of ``lower`` is at or below some revision of ``upper``."""
    below = compat.ancestor_ids(history.script.revision_map, upper)
    return all(r in below for r in lower)


def make_plan(history: History, from_spec: str, to_spec: str, *, down: bool = False) -> Plan:
    """Resolve both ends and order the steps. Errors name the revisions and the way out."""
    start = resolve(history, from_spec)
    target = resolve(history, to_spec, relative_to=start)
    direction = DOWN if down else UP
    lower, upper = (target, start) if down else (start, target)
    if lower != upper and not _is_ancestor(history, lower, upper):
        if _is_ancestor(history, upper, lower):
            flag = "without --down" if down else "with --down"
            raise RangeError(
                f"the range {from_spec} -> {to_spec} goes the wrong way for "
                f"{'a downgrade' if down else 'an upgrade'}: "
                f"{display_revisions(upper)} is below {display_revisions(lower)}. Run it {flag}, "
                "or swap --from and --to."
            )
        raise RangeError(
            f"the range {from_spec} -> {to_spec} cannot be walked: {display_revisions(lower)} is not an "
            f"ancestor of {display_revisions(upper)} (they are on different branches)."
        )
    if down and len(target) > 1:
        raise RevisionError(
            f"a downgrade goes to one revision (or base), but {to_spec!r} names "
            f"{len(target)}: {', '.join(target)}"
        )
    migration_steps = _ordered_steps(history, start, target, down)
    return Plan(
        direction=direction,
        start=start,
        target=target,
        steps=[step_of(history, m) for m in migration_steps],
        migration_steps=migration_steps,
    )


def _ordered_steps(history: History, start, target, down: bool) -> list[Any]:
    script = history.script
    current: Any = start if len(start) != 1 else start[0]
    rmap = script.revision_map
    try:  # the order of ScriptDirectory._downgrade_revs / _upgrade_revs, sorted in linear time
        if down:
            destination = target[0] if target else "base"
            revisions = ordered_revisions(script, current or None, destination, downgrade=True)
            return [compat.downgrade_step(rmap, r) for r in revisions]
        if not target:
            return []
        destination: Any = target if len(target) != 1 else target[0]
        revisions = ordered_revisions(script, destination, current or None, downgrade=False)
        return [compat.upgrade_step(rmap, r) for r in reversed(revisions)]
    except (RangeNotAncestorError, AlembicRevisionError, CommandError) as exc:
        raise RangeError(
            f"Alembic cannot order the steps from {display_revisions(start)} to "
            f"{display_revisions(target)}: {exc}"
        ) from None


def single_steps(history: History, plan: Plan,
                 only: Collection[str] | None = None) -> list[tuple[Plan, Plan]]:
    """For each upgrade step of ``plan`` (of the revisions ``only`` names, if given): itself
    alone, and its downgrade alone."""
    out = []
    for step, up_step in zip(plan.steps, plan.migration_steps, strict=True):
        if only is not None and step.revision not in only:
            continue
        down_step = compat.downgrade_step(history.script.revision_map, up_step.revision)
        # what Alembic's bookkeeping updates: its parents and dependencies (a merge of a revision
        # that depends on another head, or whose parent is below its other parent through a
        # depends_on, updates rows for them too; the declared parents alone made it fail)
        below = compat.steps_from(up_step)
        out.append((
            Plan(UP, below, (step.revision,), [step], [up_step]),
            Plan(DOWN, (step.revision,), below, [step_of(history, down_step)], [down_step]),
        ))
    return out


def plan_of_steps(history: History, plan: Plan, revisions: set[str]) -> Plan:
    """The upgrade steps (in upgrade order) of the revisions of ``plan`` in ``revisions``."""
    rmap = history.script.revision_map
    chosen = [s for s in reversed(plan.steps) if s.revision in revisions] if plan.direction == DOWN \
        else [s for s in plan.steps if s.revision in revisions]
    migration_steps = [compat.upgrade_step(rmap, rmap.get_revision(s.revision))
                       for s in chosen]
    return Plan(UP, (), (), [step_of(history, m) for m in migration_steps], migration_steps)
