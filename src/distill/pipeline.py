"""The one way SQL is produced: plan -> render -> format -> annotate (then emit or bundle)."""

from __future__ import annotations

from . import reversibility
from .analysis import annotate
from .capture import Statement
from .dialects import Dialect
from .emit import script_text
from .errors import OfflineRenderError, RangeError
from .formatting import FormatStats, format_rendering
from .guards import guard_statements
from .history import History
from .plan import DOWN, Plan, make_plan
from .render import Rendering, render


def produce(history: History, plan: Plan, dialect: Dialect, *, style: str = "sqlparse",
            standalone: bool = False, skip: dict[str, Statement] | None = None,
            ) -> tuple[Rendering, FormatStats]:
    """The statements of ``plan`` for ``dialect``: formatted, with destructive and lock-risk
    annotations, and the formatting counts."""
    rendering = render(history, plan, dialect, standalone=standalone, skip=skip)
    formatted, stats = format_rendering(rendering, style)
    return annotate(formatted), stats


def downgrade_rendering(history: History, plan: Plan, dialect: Dialect, *, style: str,
                        standalone: bool, allow_irreversible: bool) -> tuple[Rendering, FormatStats]:
    """A downgrade, refused (RangeError) across a step that cannot be reverted unless allowed;
    then each such step leaves a NOT RESTORED comment instead of running."""
    found = reversibility.by_script(history, plan)
    skip = {i.step.revision: reversibility.not_restored_note(dialect, i) for i in found}
    rendering, stats = produce(history, plan, dialect, style=style, standalone=standalone, skip=skip)
    up_plan = make_plan(history, ",".join(plan.target) or "base", ",".join(plan.start))
    try:  # the upgrade only tells which downgrades render nothing while their upgrade did something
        up, _ = produce(history, up_plan, dialect, style=style, standalone=standalone)
        found += [i for i in reversibility.by_rendering(rendering, up) if i.step.revision not in skip]
    except OfflineRenderError:
        pass
    if found and not allow_irreversible:
        raise RangeError(
            "this downgrade crosses what cannot be reverted: "
            + "; ".join(i.describe() for i in found)
            + ". Restore a backup taken before it instead, or pass --allow-irreversible to render "
            "the downgrade anyway (the file then says what is not restored)."
        )
    if len(skip) < len(found):
        skip.update({i.step.revision: reversibility.not_restored_note(dialect, i) for i in found})
        rendering, stats = produce(history, plan, dialect, style=style, standalone=standalone, skip=skip)
    return rendering, stats


def sql_script(history: History, plan: Plan, dialect: Dialect, *, style: str = "sqlparse",
               standalone: bool = False, guard: bool = True, allow_irreversible: bool = False,
               allow_base: bool = False) -> tuple[str, FormatStats]:
    """What ``distill sql`` prints: the guarded script of ``plan`` for ``dialect``."""
    down = plan.direction == DOWN
    if down and not plan.target and not allow_base:
        raise RangeError(
            f"a downgrade from {', '.join(plan.start)} to base drops every table the history "
            "created (and their data). Pass --allow-base if that is what you want."
        )
    if down:
        rendering, stats = downgrade_rendering(history, plan, dialect, style=style, standalone=standalone,
                                               allow_irreversible=allow_irreversible)
    else:
        rendering, stats = produce(history, plan, dialect, style=style, standalone=standalone)
    guards = guard_statements(dialect, rendering.version_table, plan.start) if guard else ()
    return script_text(rendering.statements(), dialect, guard=guards), stats
