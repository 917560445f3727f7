"""The guarded script of one plan for one dialect: what ``distill sql`` prints.

A downgrade is refused (RangeError) across a step that cannot be reverted unless allowed; then
each such step leaves a NOT RESTORED comment instead of running. Which downgrades render nothing
while their upgrade did something is learnt from the upgrades of just those steps.
"""

from __future__ import annotations

import dataclasses

from ..dialects import Dialect
from ..errors import OfflineRenderError, RangeError
from ..history.plan import DOWN, Plan, plan_of_steps, single_steps
from ..history.scripts import History, display_revisions
from ..shadow import ShadowSpec
from ..statements.applied_record import RecordTarget, record_statements, refuse_a_history_table
from ..statements.findings import LABELS, NOTICE_KINDS, findings_of
from ..statements.formatting import FormatStats
from ..statements.guards import applier_lock, guard_statements
from ..statements.model import Statement
from ..statements.script_text import script_text
from ..statements.timeouts import NO_TIMEOUTS, Timeouts
from . import reversibility
from .produce import produce


def _refuse(found: list[reversibility.Irreversible]) -> RangeError:
    return RangeError(
        "this downgrade crosses what cannot be reverted: "
        + "; ".join(i.describe() for i in found)
        + ". Restore a backup taken before it instead, or pass --allow-irreversible to render "
        "the downgrade anyway (the file then says what is not restored)."
    )


class _Script:
    """One plan's script, rendered on both cores, with the steps to skip so far."""

    def __init__(self, history: History, plan: Plan, dialect: Dialect, style: str, standalone: bool,
                 guard: bool, shadow: ShadowSpec | None = None, timeouts: Timeouts = NO_TIMEOUTS,
                 record: RecordTarget | None = None) -> None:
        self.history, self.plan, self.dialect, self.timeouts = history, plan, dialect, timeouts
        self.record = record
        self.options = {"style": style, "standalone": standalone, "shadow": shadow}
        self.guard = guard
        self.skip: dict[str, Statement] = {}
        self.notices: list[str] = []  # manual steps and warnings of the last text(), per step

    def text(self) -> tuple[str, FormatStats, set[str]]:
        """(script text, formatting counts, the steps that render nothing)."""
        rendering, stats = produce(self.history, self.plan, self.dialect, skip=self.skip, both_cores=True,
                                   **self.options)
        table = rendering.version_table
        guards = guard_statements(self.dialect, table, self.plan.start) if self.guard else ()
        lock = applier_lock(self.dialect, table, self.timeouts.lock_ms) if self.guard else None
        empty = reversibility.empty_steps(rendering) if self.plan.direction == DOWN else set()
        self.notices = [f"{step.label}: {LABELS[kind]}: {message}"
                        for index, step in enumerate(self.plan.steps)
                        for kind, messages in findings_of(rendering.step_statements(index)).items()
                        if kind in NOTICE_KINDS for message in messages]
        if self.record is not None:
            refuse_a_history_table(self.record.table, self.plan.steps, rendering.step_statements)
        record = () if self.record is None else record_statements(
            self.dialect, self.record, "(distill sql)", self.plan.direction, tuple(self.plan.start),
            tuple(self.plan.target))
        text = script_text(rendering.statements(), self.dialect, guard=guards, timeouts=self.timeouts,
                           lock=lock, record=record)
        return text, stats, empty

    def skipping(self, found: list[reversibility.Irreversible]) -> None:
        self.skip.update({i.step.revision: reversibility.not_restored_note(self.dialect, i) for i in found})

    def upgrades_did_something(self, revisions: set[str]) -> list[reversibility.Irreversible]:
        """Of ``revisions`` (whose downgrade renders nothing), those whose upgrade does render
        something: each upgrade rendered on its own."""
        found = []
        for up_plan, _ in single_steps(self.history, plan_of_steps(self.history, self.plan, revisions)):
            try:
                up, _ = produce(self.history, up_plan, self.dialect, **self.options)
            except OfflineRenderError:  # the upgrade only informs; its own errors are not this command's
                continue
            revision = up_plan.steps[0].revision
            if revision not in reversibility.empty_steps(up):
                step = next(s for s in self.plan.steps if s.revision == revision)
                found.append(reversibility.renders_nothing(step, self.dialect))
        return found


def sql_script(history: History, plan: Plan, dialect: Dialect, *, style: str = "sqlparse",
               standalone: bool = False, guard: bool = True, allow_irreversible: bool = False,
               allow_base: bool = False, shadow: ShadowSpec | None = None, timeouts: Timeouts = NO_TIMEOUTS,
               record: RecordTarget | None = None) -> tuple[str, FormatStats, list[str]]:
    """The guarded script of ``plan`` for ``dialect``, its formatting counts, and its notices
    (``revision (message): MANUAL STEPS: ...`` / ``WARNING: ...``, for stderr); rendered
    against ``shadow`` when given (a --shadow-url database must be where ``plan`` starts)."""
    if shadow is not None:
        shadow = dataclasses.replace(shadow, at=tuple(plan.start))
    script = _Script(history, plan, dialect, style, standalone, guard, shadow, timeouts, record)
    if plan.direction != DOWN:
        text, stats, _ = script.text()
        return text, stats, script.notices
    if not plan.target and not allow_base:
        raise RangeError(
            f"a downgrade from {display_revisions(plan.start)} to base drops every table the history "
            "created (and their data). Pass --allow-base if that is what you want."
        )
    found = reversibility.by_script(history, plan)
    if found and not allow_irreversible:
        raise _refuse(found)
    script.skipping(found)
    text, stats, down_empty = script.text()
    more = script.upgrades_did_something(down_empty - set(script.skip))
    if more and not allow_irreversible:
        raise _refuse(more)
    if more:
        script.skipping(more)
        text, stats, _ = script.text()
    return text, stats, script.notices
