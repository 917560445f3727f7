"""The one way SQL is produced: plan -> render -> format -> annotate (then emit or bundle)."""

from __future__ import annotations

from collections.abc import Callable

from . import chunks, reversibility
from .analysis import annotate
from .capture import Statement
from .dialects import Dialect
from .emit import script_text
from .errors import OfflineRenderError, RangeError
from .formatting import FormatStats, format_rendering
from .guards import guard_statements
from .history import History
from .plan import DOWN, Plan, plan_of_steps, single_steps
from .render import Rendering, render


def produce(history: History, plan: Plan, dialect: Dialect, *, style: str = "sqlparse",
            standalone: bool = False, skip: dict[str, Statement] | None = None,
            on_step: Callable[[], None] | None = None,
            both_cores: bool = False) -> tuple[Rendering, FormatStats]:
    """The statements of ``plan`` for ``dialect``: formatted, with destructive and lock-risk
    annotations, and the formatting counts. ``both_cores``: a long plan is rendered and
    formatted in two halves at once (not from inside a worker)."""
    if both_cores:
        formatted, stats = chunks.render_formatted(history, plan, dialect, style=style,
                                                   standalone=standalone, skip=skip)
    else:
        rendering = render(history, plan, dialect, standalone=standalone, skip=skip, on_step=on_step)
        formatted, stats = format_rendering(rendering, style)
        del rendering  # one copy of the statements at a time
    return annotate(formatted), stats


def _refuse(found: list[reversibility.Irreversible]) -> RangeError:
    return RangeError(
        "this downgrade crosses what cannot be reverted: "
        + "; ".join(i.describe() for i in found)
        + ". Restore a backup taken before it instead, or pass --allow-irreversible to render "
        "the downgrade anyway (the file then says what is not restored)."
    )


def sql_script(history: History, plan: Plan, dialect: Dialect, *, style: str = "sqlparse",
               standalone: bool = False, guard: bool = True, allow_irreversible: bool = False,
               allow_base: bool = False) -> tuple[str, FormatStats]:
    """What ``distill sql`` prints: the guarded script of ``plan`` for ``dialect``.

    A downgrade is refused (RangeError) across a step that cannot be reverted unless allowed;
    then each such step leaves a NOT RESTORED comment instead of running. Which downgrades
    render nothing while their upgrade did something is learnt from the upgrade, rendered at the
    same time on the other core.
    """
    options = {"style": style, "standalone": standalone}
    down = plan.direction == DOWN
    if down and not plan.target and not allow_base:
        raise RangeError(
            f"a downgrade from {', '.join(plan.start)} to base drops every table the history "
            "created (and their data). Pass --allow-base if that is what you want."
        )

    def text_of(skip: dict[str, Statement], tick: Callable[[], None]) -> tuple[str, FormatStats, set]:
        rendering, stats = produce(history, plan, dialect, skip=skip, both_cores=True, **options)
        guards = guard_statements(dialect, rendering.version_table, plan.start) if guard else ()
        empty = reversibility.empty_steps(rendering) if down else set()
        return script_text(rendering.statements(), dialect, guard=guards), stats, empty

    if not down:
        text, stats, _ = text_of({}, lambda: None)
        return text, stats
    found = reversibility.by_script(history, plan)
    if found and not allow_irreversible:
        raise _refuse(found)
    skip = {i.step.revision: reversibility.not_restored_note(dialect, i) for i in found}
    text, stats, down_empty = text_of(skip, lambda: None)
    # A downgrade that renders nothing is irreversible when its upgrade does something: only
    # those few steps' upgrades are rendered, each on its own.
    more = []
    for up_plan, _ in single_steps(history, plan_of_steps(history, plan, down_empty - set(skip))):
        try:
            up, _ = produce(history, up_plan, dialect, **options)
        except OfflineRenderError:  # the upgrade only informs; its own errors are not this command's
            continue
        if up.plan.steps[0].revision not in reversibility.empty_steps(up):
            more.append(reversibility.renders_nothing(
                next(s for s in plan.steps if s.revision == up_plan.steps[0].revision), dialect))
    if more and not allow_irreversible:
        raise _refuse(more)
    if more:
        skip.update({i.step.revision: reversibility.not_restored_note(dialect, i) for i in more})
        text, stats, _ = text_of(skip, lambda: None)
    return text, stats
