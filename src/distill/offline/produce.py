"""The one way SQL is produced: plan -> render -> format -> annotate (then script text or bundle)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..dialects import Dialect
from ..history.plan import Plan
from ..history.scripts import History
from ..shadow import ShadowDatabase, ShadowSpec, open_shadow
from ..statements.formatting import FormatStats
from ..statements.model import Statement
from ..workers import Tick
from .annotate import annotated
from .render import Rendering, render
from .two_cores import render_formatted

if TYPE_CHECKING:
    from ..cache import RenderCache


def produce(history: History, plan: Plan, dialect: Dialect, *, style: str = "sqlparse",
            standalone: bool = False, skip: dict[str, Statement] | None = None,
            tick: Tick | None = None,
            on_rendered: Callable[[Rendering], None] | None = None,
            both_cores: bool = False, shadow: ShadowSpec | ShadowDatabase | None = None,
            cache: RenderCache | None = None) -> tuple[Rendering, FormatStats]:
    """The statements of ``plan`` for ``dialect``: formatted, with destructive and lock-risk
    annotations, and the formatting counts. ``on_rendered`` is given the rendering as Alembic
    wrote it, before formatting. ``both_cores``: a long plan is rendered and formatted in two
    halves at once (not from inside a worker; then there is no ``on_rendered``). ``shadow``:
    rendered against that shadow database instead of offline (never in two halves). ``tick``
    hears of each step rendered, then (stage ``formatting``) of each step formatted. ``cache``:
    the rendering is taken from it when it holds it, else left there (offline, nothing skipped)."""
    if shadow is not None:  # a spec, opened here; or a shadow already open (check's)
        opened = open_shadow(dialect, shadow) if isinstance(shadow, ShadowSpec) \
            else contextlib.nullcontext(shadow)
        with opened as database:
            rendering = render(history, plan, dialect, standalone=standalone, skip=skip, on_step=tick,
                               shadow=database)
        if on_rendered is not None:
            on_rendered(rendering)
        formatted, stats = _formatted(rendering, style, tick)
    elif both_cores:
        formatted, stats = render_formatted(history, plan, dialect, style=style,
                                            standalone=standalone, skip=skip)
    else:
        rendering = _rendered(history, plan, dialect, standalone, skip, tick, None if skip else cache)
        if on_rendered is not None:
            on_rendered(rendering)
        formatted, stats = _formatted(rendering, style, tick)
        del rendering  # one copy of the statements at a time
    return annotated(history, plan, formatted), stats


def _rendered(history: History, plan: Plan, dialect: Dialect, standalone: bool,
              skip: dict[str, Statement] | None, tick: Tick | None, cache: RenderCache | None) -> Rendering:
    """``render``, or the cached rendering of the same inputs."""
    if cache is None:
        return render(history, plan, dialect, standalone=standalone, skip=skip, on_step=tick)
    rendering = cache.cached(plan, dialect, standalone)
    if rendering is not None:
        for _ in plan.steps if tick is not None else ():
            tick()
        return rendering
    with cache.watching():
        rendering = render(history, plan, dialect, standalone=standalone, skip=skip, on_step=tick)
    cache.rendered(rendering, standalone)
    return rendering


def _formatted(rendering: Rendering, style: str, tick: Tick | None) -> tuple[Rendering, FormatStats]:
    if tick is None:
        return rendering.formatted(style)
    tick.stage("formatting")
    return rendering.formatted(style, on_step=tick)
