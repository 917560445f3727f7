"""The plan that brings a shadow database from where it is to where a rendering starts."""

from __future__ import annotations

from .. import alembic_compat as compat
from ..errors import DistillError
from ..history.plan import Plan, make_plan
from ..history.scripts import History


def _outermost(history: History, revisions: tuple[str, ...]) -> tuple[str, ...]:
    """``revisions`` without those another one of them depends on or descends from (Alembic
    refuses a target that overlaps another)."""
    rmap = history.script.revision_map
    below = {r for other in revisions for r in compat.ancestor_ids(rmap, [other]) if r != other}
    return tuple(r for r in revisions if r not in below)


def catch_up_plan(history: History, at: tuple[str, ...], start: tuple[str, ...]) -> Plan:
    """From ``at`` to ``start``: an upgrade, or a downgrade when ``start`` is below ``at``."""
    source, target = ",".join(at) or "base", ",".join(_outermost(history, start)) or "base"
    try:
        return make_plan(history, source, target)
    except DistillError:
        return make_plan(history, source, target, down=True)
