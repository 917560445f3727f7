"""Rendering one long plan on both cores: it is cut in two, each half rendered in a forked worker
from the version-table state it starts in, and the halves are stitched back together.

The state a step is rendered in is only what Alembic's HeadMaintainer holds (the version table's
rows); replaying its bookkeeping without SQL gives that state at the cut. Everything else that
runs across steps (annotations, point-of-no-return analysis) is done on the stitched whole.
Stitching is exact for a run in one transaction (nothing stands between steps); anything else is
rendered in one piece. Tests compare both ways byte for byte.
"""

from __future__ import annotations

import dataclasses

from .. import alembic_compat as compat
from .. import workers
from ..dialects import Dialect
from ..history.plan import Plan
from ..history.scripts import History
from ..statements.formatting import FormatStats, Formatter
from ..statements.model import Statement
from .capture import Segment
from .render import Rendering, formatted_segments, render

MIN_STEPS = 1000  # below this, forking costs more than it saves


def _split(segments: list[Segment]) -> tuple[list[Segment], list[Segment], list[Segment]]:
    """(before the first step, the steps and what stands between them, after the last step)"""
    positions = [i for i, seg in enumerate(segments) if seg.step is not None]
    return segments[:positions[0]], segments[positions[0]:positions[-1] + 1], segments[positions[-1] + 1:]


def _part(plan: Plan, start: int, stop: int) -> Plan:
    heads = compat.heads_after(plan.start, plan.migration_steps[:start]) if start else plan.start
    return Plan(plan.direction, heads, plan.target, plan.steps[start:stop], plan.migration_steps[start:stop])


@dataclasses.dataclass
class _Half:
    """A rendered and formatted half: its three groups of segments, each with its counts."""

    groups: tuple[list[Segment], list[Segment], list[Segment]]
    stats: tuple[FormatStats, FormatStats, FormatStats]
    version_table: object
    heads_after: list[tuple[str, ...]]


def _formatted_half(raw: Rendering, style: str, tick: workers.Tick) -> _Half:
    """Format the half's groups one after the other with one formatter, counting each apart:
    the stitched whole keeps only some groups, and counts only what it keeps."""
    formatter = Formatter(raw.dialect, style)
    groups, stats = [], []
    tick.stage("formatting")
    for group in _split(raw.segments):
        formatter.stats = FormatStats()
        groups.append(formatted_segments(formatter, group, tick))
        stats.append(formatter.stats)
    return _Half(tuple(groups), tuple(stats), raw.version_table, raw.heads_after)


def render_formatted(history: History, plan: Plan, dialect: Dialect, *, style: str, standalone: bool,
                     skip: dict[str, Statement] | None = None) -> tuple[Rendering, FormatStats]:
    """render + format, on both cores for a long plan (same bytes as in one piece)."""
    stages = ("rendering", "formatting")

    def whole() -> tuple[Rendering, FormatStats]:
        def job(tick: workers.Tick) -> tuple[Rendering, FormatStats]:
            rendering = render(history, plan, dialect, standalone=standalone, skip=skip, on_step=tick)
            tick.stage("formatting")
            return rendering.formatted(style, on_step=tick)
        return workers.run_all([job], labels=[dialect.name], totals=[len(plan.steps)], stages=stages)[0]

    if len(plan.steps) < MIN_STEPS or workers.usable_cores(2) < 2:
        return whole()
    cut = len(plan.steps) // 2
    parts = [_part(plan, 0, cut), _part(plan, cut, len(plan.steps))]

    def job(part: Plan) -> workers.Job:
        return lambda tick: _formatted_half(
            render(history, part, dialect, standalone=standalone, skip=skip, on_step=tick), style, tick)

    labels = [f"{dialect.name} half 1", f"{dialect.name} half 2"]
    first, second = workers.run_all([job(p) for p in parts], labels=labels,
                                    totals=[len(p.steps) for p in parts], stages=stages)
    steps_a, steps_b = first.groups[1], second.groups[1]
    if any(seg.statements for seg in steps_a + steps_b if seg.step is None):
        return whole()  # transaction per migration: not stitched
    offset = len(parts[0].steps)
    shifted = [dataclasses.replace(seg, step=seg.step + offset) for seg in steps_b]
    segments = [*first.groups[0], *steps_a, *shifted, *second.groups[2]]
    stats = first.stats[0] + first.stats[1] + second.stats[1] + second.stats[2]
    heads = first.heads_after + second.heads_after
    return Rendering(dialect, plan, segments, first.version_table, heads), stats
