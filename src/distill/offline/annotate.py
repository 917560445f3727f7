"""Annotating a rendering: findings right above the statements they are about.

In a downgrade, a DELETE that removes only the rows the step's own upgrade inserted loses no
data that was there before the step (``statements.inserted_rows``). To know those rows, the
upgrade of each such step is rendered on its own (offline, only for steps whose downgrade deletes
with a WHERE); when it cannot be, the DATA LOSS finding stays.
"""

from __future__ import annotations

import dataclasses

from ..dialects import Dialect
from ..errors import DistillError
from ..history.plan import DOWN, Plan, make_plan
from ..history.scripts import History
from ..statements.findings import annotator, normalise
from ..statements.inserted_rows import Rows, inserted_rows
from ..statements.model import SQL
from .capture import Segment
from .render import Rendering, render


def annotated(history: History, plan: Plan, rendering: Rendering) -> Rendering:
    """A copy of ``rendering`` (of ``plan``) with an annotation above every finding."""
    dialect = rendering.dialect
    inserted = _upgrade_rows(history, plan, rendering, dialect) if plan.direction == DOWN else {}
    annotate = annotator(dialect, rendering.version_table, inserted,
                         dict(history.settings.server_versions).get(dialect.name, ""),
                         upgrade=plan.direction != DOWN)
    segments = [Segment(seg.step, annotate(seg.statements, seg.step)) for seg in rendering.segments]
    return dataclasses.replace(rendering, segments=segments)


def _deletes_with_where(rendering: Rendering, index: int, dialect: Dialect) -> bool:
    for statement in rendering.step_statements(index):
        if statement.kind == SQL and statement.text.lstrip()[:6].upper() == "DELETE":
            _, top = normalise(statement.text, dialect)
            if " WHERE " in top:
                return True
    return False


def _upgrade_rows(history: History, plan: Plan, rendering: Rendering, dialect: Dialect) -> dict[int, Rows]:
    """{step index: the rows its upgrade inserts} for the downgrade steps that delete with a WHERE."""
    out = {}
    for index, step in enumerate(plan.steps):
        if len(step.down_revisions) > 1 or not _deletes_with_where(rendering, index, dialect):
            continue  # a merge's upgrade has more than one start: not judged
        try:
            up_plan = make_plan(history, step.down_revisions[0] if step.down_revisions else "base",
                                step.revision)
            up = render(history, up_plan, dialect)
        except DistillError:
            continue  # the upgrade cannot be rendered offline: the finding stays
        rows = inserted_rows(up.step_statements(0), dialect, rendering.version_table.name)
        if rows:
            out[index] = rows
    return out
