"""Where a shadow database stands, and the plans that bring it to where a rendering starts.

A shadow's state is the set of revisions applied on it, written as that set's heads (``at``, as
Alembic's version table holds them: a revision another one depends on through ``depends_on`` is
not a head). A plan renders as it would on a database when every revision its steps need is
applied and nothing that needs them is: an upgrade needs the ancestors of its steps (their
``depends_on`` too) and none of the steps or what descends from them; a downgrade needs its steps
and their ancestors, and nothing that descends from them (``catch_up_plans``: what ``render``
does before a plan). ``check`` asks for more: each step alone on exactly what the bundle has
applied when it comes to that step (the range's start and the steps before it in the plan's
order, other branches' included: ``plans_to``), so that a step that fails after a sibling
branch's fails there too.

Tracking only a plan's declared start and target loses that state once branches or
``depends_on`` meet (a step rendered with a dependency missing; a catch-up that upgrades a
revision still applied): the shadow then refuses statements the SQL never sends.
"""

from __future__ import annotations

from .. import alembic_compat as compat
from ..errors import OfflineRenderError
from ..history.ordering import AncestorIndex
from ..history.plan import DOWN, UP, Plan, step_of
from ..history.scripts import History
from ..statements.irreversible import script_verdict


def _bits(index: AncestorIndex, revisions) -> int:
    """The revisions and all their ancestors, as one bitset."""
    bits = 0
    for revision in revisions:
        bits |= index.ancestors(revision)
    return bits


def _only(index: AncestorIndex, revisions) -> int:
    """The revisions themselves, as one bitset."""
    bits = 0
    for revision in revisions:
        bits |= index.bit(revision)
    return bits


def _members(index: AncestorIndex, bits: int) -> list[str]:
    """The revisions of ``bits``, ancestors first (an ancestor has fewer ancestors)."""
    found = [rev for rev in index.parents if bits & index.bit(rev)]
    return sorted(found, key=lambda rev: (index.ancestors(rev).bit_count(), rev))


def _heads(index: AncestorIndex, candidates) -> tuple[str, ...]:
    """Those of ``candidates`` no other one descends from (sorted): the heads of the applied set
    they are the tops of, as Alembic's version table holds them."""
    candidates = set(candidates)
    below = {parent for rev in candidates for parent in index.parents[rev]}
    tops = [rev for rev in candidates if rev not in below]
    return tuple(sorted(rev for rev in tops
                        if not any(other != rev and index.is_ancestor(rev, other) for other in tops)))


def _needs(index: AncestorIndex, plan: Plan) -> tuple[int, int]:
    """(what must be applied, the plan's own revisions) for ``plan`` to render as on a database."""
    revisions = [step.revision for step in plan.steps]
    steps, reached = _only(index, revisions), _bits(index, revisions) | _bits(index, plan.start)
    return (reached & ~steps if plan.direction == UP else reached), steps


def _in_the_way(index: AncestorIndex, at: tuple[str, ...], plan: Plan, steps: int) -> list[str]:
    """The applied revisions that descend from the plan's steps (an upgrade's steps themselves
    too), ancestors first: a downgrade of them comes first."""
    def blocks(rev: str) -> bool:
        return bool(index.ancestors(rev) & steps) and (plan.direction == UP or not index.bit(rev) & steps)

    if not any(blocks(head) for head in at):  # every such revision is below a head
        return []
    return [rev for rev in _members(index, _bits(index, at)) if blocks(rev)]


def _plan(history: History, direction: str, revisions: list[str], at: int, after: int) -> Plan:
    index, rmap = history.ancestry, history.script.revision_map
    step_from = compat.upgrade_step if direction == UP else compat.downgrade_step
    migration_steps = [step_from(rmap, rmap.get_revision(rev)) for rev in revisions]
    return Plan(direction, _heads(index, _members(index, at)), _heads(index, _members(index, after)),
                [step_of(history, m) for m in migration_steps], migration_steps)


def _reversible(history: History, revisions: list[str]) -> None:
    """Refuse to move a shadow down through a downgrade that does nothing: its schema would stay
    where the revision left it while distill counted the revision as gone."""
    for revision in revisions:
        script = history.get(revision)
        if not (verdict := script_verdict(script.path, script.module)).reversible:
            raise OfflineRenderError(
                f"cannot bring the shadow database below revision {revision}: {verdict.reason}",
                revision=revision, location=history.relpath(script.path),
                cause=f"the shadow must go below irreversible revision {revision} ({verdict.reason})",
                fix="render this range in separate parts, or without that revision's descendants")


def _moves(history: History, at: tuple[str, ...], target: int) -> list[Plan]:
    """What brings a shadow at ``at`` to the applied set ``target`` (ancestor-closed): a
    downgrade of what it holds beyond it, then an upgrade of what it lacks. Only the shadow's
    state is wanted from them, never their SQL."""
    index = history.ancestry
    applied, plans = _bits(index, at), []
    if extra := applied & ~target:  # what descends from a revision in it is in it too
        gone = _members(index, extra)
        _reversible(history, gone)
        plans.append(_plan(history, DOWN, gone[::-1], applied, applied & ~extra))
        applied &= ~extra
    if missing := target & ~applied:
        plans.append(_plan(history, UP, _members(index, missing), applied, applied | missing))
    return plans


def catch_up_plans(history: History, at: tuple[str, ...], plan: Plan) -> list[Plan]:
    """What brings a shadow at ``at`` to where ``plan`` renders (none when it is there): a
    downgrade of what is in the way, then an upgrade of what the plan needs."""
    index = history.ancestry
    needed, steps = _needs(index, plan)
    in_the_way = _in_the_way(index, at, plan, steps)
    applied = _bits(index, at)
    if not in_the_way and not needed & ~applied:
        return []
    return _moves(history, at, (applied & ~_only(index, in_the_way)) | needed)


def plans_to(history: History, at: tuple[str, ...], target: int) -> list[Plan]:
    """What brings a shadow at ``at`` to exactly the applied set ``target`` (``applied_set``)."""
    return [] if _bits(history.ancestry, at) == target else _moves(history, at, target)


def applied_set(history: History, revisions) -> int:
    """``revisions`` and their ancestors, applied: the set ``plans_to`` brings a shadow to."""
    return _bits(history.ancestry, revisions)


def heads_after(history: History, at: tuple[str, ...], plan: Plan) -> tuple[str, ...]:
    """Where a shadow at ``at`` stands once ``plan`` ran on it."""
    index, revisions = history.ancestry, {step.revision for step in plan.steps}
    if plan.direction == UP:
        return _heads(index, {*at, *revisions})
    uncovered = {parent for rev in revisions for parent in index.parents[rev]}
    return _heads(index, ({*at} | uncovered) - revisions)
