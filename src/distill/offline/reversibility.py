"""Which steps cannot be reverted, and where a downgrade must therefore stop.

A step is irreversible when its ``downgrade()`` is missing, does nothing or raises (from the
script's source, ``statements.irreversible``), or, per dialect, when its downgrade renders
nothing but the version-table change while its upgrade did something. The point of no return of
a downgrade is the first such step it meets.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

from ..dialects import Dialect
from ..history.plan import Plan, Step, make_plan
from ..history.scripts import History
from ..statements.irreversible import Verdict, does_nothing, script_verdict
from ..statements.model import ANNOTATION, Statement
from .render import Rendering

# Once per loaded script module (a build asks twice: for the downgrade and for the manifest);
# forgotten with the module.
_VERDICTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def verdict(history: History, revision: str) -> Verdict:
    """What the revision's script says about its downgrade."""
    script = history.get(revision)
    if script.module not in _VERDICTS:
        _VERDICTS[script.module] = script_verdict(script.path, script.module)
    return _VERDICTS[script.module]


@dataclass(frozen=True)
class Irreversible:
    """A step a downgrade cannot revert, and why."""

    step: Step
    reason: str

    def describe(self) -> str:
        return f"{self.step.label}: {self.reason}"


def by_script(history: History, plan: Plan) -> list[Irreversible]:
    """Steps of a downgrade plan whose script says they cannot be reverted, in plan order."""
    out = []
    for step in plan.steps:
        v = verdict(history, step.revision)
        if not v.reversible:
            out.append(Irreversible(step, v.reason))
    return out


def renders_nothing(step: Step, dialect: Dialect) -> Irreversible:
    """A step whose downgrade renders nothing for ``dialect`` while its upgrade does something."""
    return Irreversible(step, f"its downgrade renders nothing for {dialect.title} but the version change")


def empty_steps(rendering: Rendering) -> set[str]:
    """Revisions whose step renders nothing but comments and version-table bookkeeping."""
    return {step.revision for index, step in enumerate(rendering.plan.steps)
            if does_nothing(rendering.step_statements(index), rendering.dialect, rendering.version_table)}


def among(steps: list[Step], down_empty: set[str], up_empty: set[str], up_revisions: set[str],
          dialect: Dialect) -> list[Irreversible]:
    """Of ``steps`` (downgrade order), those whose downgrade renders nothing while the upgrade of
    the same revision did something."""
    return [renders_nothing(step, dialect) for step in steps
            if step.revision in down_empty and step.revision in up_revisions
            and step.revision not in up_empty]


def by_rendering(down: Rendering, up: Rendering) -> list[Irreversible]:
    """Steps whose downgrade renders nothing but the version change while their upgrade did."""
    return among(down.plan.steps, empty_steps(down), empty_steps(up),
                 {step.revision for step in up.plan.steps}, down.dialect)


def not_restored_note(dialect: Dialect, item: Irreversible) -> Statement:
    """The comment an allowed irreversible step leaves in a downgrade file."""
    return Statement(ANNOTATION, dialect.comment_line(
        f"NOT RESTORED: {item.describe()}; what its upgrade changed stays as it is"))


def plan_to_point_of_no_return(history: History, down: Plan, point: Step) -> Plan:
    """The part of ``down`` above ``point``: downgrade to the irreversible revision itself."""
    return make_plan(history, ",".join(down.start), point.revision, down=True)
