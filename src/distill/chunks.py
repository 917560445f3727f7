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
from typing import Any

from alembic.runtime.migration import HeadMaintainer

from . import fixups, parallel
from .dialects import Dialect
from .formatting import FormatStats, Formatter, format_rendering
from .history import History
from .plan import Plan
from .render import Rendering, render

MIN_STEPS = 1000  # below this, forking costs more than it saves


class _Heads(HeadMaintainer):
    """HeadMaintainer's bookkeeping without a database or SQL."""

    def __init__(self, heads) -> None:  # noqa: D107 - no context needed
        self.heads = set(heads)

    def _insert_version(self, version: str) -> None:
        self.heads.add(version)

    def _delete_version(self, version: str) -> None:
        self.heads.remove(version)

    def _update_version(self, from_: str, to_: str) -> None:
        self.heads.remove(from_)
        self.heads.add(to_)


def heads_before(plan: Plan, index: int) -> tuple[str, ...]:
    """The version table's rows just before step ``index`` of ``plan`` runs."""
    maintainer = _Heads(plan.start)
    with fixups.alembic_patched():  # the same (linear-time) bookkeeping rendering uses
        for step in plan.migration_steps[:index]:
            maintainer.update_to_step(step)
    return tuple(sorted(maintainer.heads))


def _split(segments: list) -> tuple[list, list, list]:
    """(before the first step, the steps and what stands between them, after the last step)"""
    positions = [i for i, seg in enumerate(segments) if seg.step is not None]
    return segments[:positions[0]], segments[positions[0]:positions[-1] + 1], segments[positions[-1] + 1:]


def _part(plan: Plan, start: int, stop: int, history: History) -> Plan:
    return Plan(plan.direction, heads_before(plan, start) if start else plan.start, plan.target,
                plan.steps[start:stop], plan.migration_steps[start:stop])


def render_formatted(history: History, plan: Plan, dialect: Dialect, *, style: str, standalone: bool,
                     skip=None, on_step=None) -> tuple[Rendering, FormatStats]:
    """render + format, on both cores for a long plan (same bytes as in one piece)."""
    def whole(tick) -> tuple[Rendering, FormatStats]:
        rendering = render(history, plan, dialect, standalone=standalone, skip=skip, on_step=tick)
        return format_rendering(rendering, style)

    if len(plan.steps) < MIN_STEPS or parallel.workers(2) < 2:
        return whole(on_step or (lambda: None))
    cut = len(plan.steps) // 2
    parts = [_part(plan, 0, cut, history), _part(plan, cut, len(plan.steps), history)]

    def job(part: Plan):
        def run(tick) -> tuple[Any, ...]:
            raw = render(history, part, dialect, standalone=standalone, skip=skip, on_step=tick)
            rendering, stats = format_rendering(raw, style)
            before, _, after = _split(raw.segments)  # for the counts of what stitching drops
            return rendering.segments, rendering.version_table, rendering.heads_after, stats, before, after
        return run

    results = parallel.run_all([job(p) for p in parts], labels=[f"{dialect.name} 1/2", f"{dialect.name} 2/2"],
                               totals=[len(p.steps) for p in parts])
    (first, table, heads_a, stats_a, _, raw_after_a), (second, _, heads_b, stats_b, raw_before_b, _) = results
    prologue, steps_a, _ = _split(first)
    _, steps_b, epilogue = _split(second)
    if any(seg.statements for seg in steps_a + steps_b if seg.step is None):
        return whole(on_step or (lambda: None))  # transaction per migration: not stitched
    offset = len(parts[0].steps)
    shifted = [dataclasses.replace(seg, step=seg.step + offset) for seg in steps_b]
    segments = [*prologue, *steps_a, *shifted, *epilogue]
    dropped = Formatter(dialect, style)  # the first half's end and the second half's start
    dropped.statements([s for seg in raw_after_a + raw_before_b for s in seg.statements])
    gone = dropped.stats
    stats = FormatStats(stats_a.formatted + stats_b.formatted - gone.formatted,
                        stats_a.unchanged + stats_b.unchanged - gone.unchanged,
                        stats_a.verbatim + stats_b.verbatim - gone.verbatim)
    return Rendering(dialect, plan, segments, table, heads_a + heads_b), stats
