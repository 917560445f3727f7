"""Using both cores without losing determinism.

Independent jobs (one dialect, one direction) run in forked worker processes: they inherit the
loaded history, so nothing is loaded twice, and only their small results come back, in
submission order. Output bytes never depend on which worker ran what. Where fork is unavailable,
with one core, or with DISTILL_JOBS=1, the jobs run one after the other in this process.

A job is called with a ``Tick``: ``tick()`` once per unit done, ``tick.stage(n)`` when it moves on
to its next stage; on a terminal, the progress line (``progress.Progress``) shows them.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any

from .progress import Progress


class Tick:
    """What a job reports its progress through: call it once per unit done; ``stage(name)`` when
    it moves on to that stage (its count starts again; a stage its ``run_all`` did not name is not
    shown). Every 100 units it collects the young generations (see ``_with_young_collections``)."""

    def __init__(self, counts: Any, stages: Any, index: int, names: Sequence[str],
                 drawn: Callable[[], None]) -> None:
        self.counts, self.stages, self.index, self.names, self.drawn = counts, stages, index, names, drawn
        self.units = 0

    def __call__(self) -> None:
        self.units += 1
        if self.units % _YOUNG_EVERY == 0 and not gc.isenabled():
            gc.collect(1)
        self.counts[self.index] += 1
        self.drawn()

    def stage(self, name: str) -> None:
        if name in self.names:
            self.counts[self.index] = 0
            self.stages[self.index] = self.names.index(name)
            self.drawn()


Job = Callable[[Tick], Any]

_JOBS: Sequence[Job] = ()
_COUNTS: Any = None
_STAGES: Any = None
_NAMES: Sequence[str] = ()


_YOUNG_EVERY = 100  # steps between collections of the young generations during a job


def _with_young_collections(job: Job, tick: Tick) -> Any:
    """Run ``job`` with the automatic collector off (``tick`` collects only the young generations
    every 100 units). Rendering makes cyclic garbage (Alembic builds a MetaData and Table per
    operation) that dies young, while the automatic full collections walk everything the job has
    kept so far: 0.2-0.4 s per 10,000-step job, growing faster than the job."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return job(tick)
    finally:
        if enabled:
            gc.enable()
        gc.collect(1)


def _run(index: int) -> Any:
    result = _with_young_collections(_JOBS[index], Tick(_COUNTS, _STAGES, index, _NAMES, lambda: None))
    _STAGES[index] = _DONE
    return result


def _die_with_parent() -> None:
    """In a worker: be killed when the distill process dies (Linux prctl PR_SET_PDEATHSIG), so a
    killed build does not go on writing files for seconds; and die on SIGTERM, as the pool
    expects when it ends its workers (the distill process's own handler turns SIGTERM into an
    exit that unwinds: in an idle worker that can leave the pool's shared queue lock held, and
    the pool then waits for ever for the worker blocked on it)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the workers end when their jobs do


def usable_cores(jobs: int) -> int:
    """How many processes to use for ``jobs`` jobs (1 where fork is unavailable)."""
    wanted = os.environ.get("DISTILL_JOBS")
    cores = int(wanted) if wanted and wanted.isdigit() else (os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(cores, jobs))


def _pool(context: Any, count: int) -> Any:
    """A pool of ``count`` forked workers that die on SIGTERM from their first instruction: they
    are forked while SIGTERM has its default action here (a worker still starting when the pool
    ends it would otherwise run distill's handler, an exit that unwinds, and can leave the
    pool's queue lock held), and the initializer sets it again for workers forked later."""
    if threading.current_thread() is not threading.main_thread():  # only there can it be set
        return context.Pool(count, initializer=_die_with_parent)
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        return context.Pool(count, initializer=_die_with_parent)
    finally:
        signal.signal(signal.SIGTERM, previous)


_DONE = 127  # a job's stage once it has returned (more than any job has stages)


def run_all(jobs: Sequence[Job], *, labels: Sequence[str] = (), totals: Sequence[int] = (),
            stages: Sequence[str] = ("rendering",), parallel: bool = True) -> list[Any]:
    """Run ``jobs`` (in parallel where it helps, unless not ``parallel``); their results in order.
    ``labels``, ``totals`` and ``stages`` are what the progress line says (``progress.Progress``)."""
    progress = Progress(labels or [f"job {i}" for i in range(len(jobs))], totals or [0] * len(jobs), stages)
    count = usable_cores(len(jobs)) if parallel else 1
    if count < 2:
        counts, at = [0] * len(jobs), [0] * len(jobs)
        results = []
        for index, job in enumerate(jobs):
            tick = Tick(counts, at, index, stages, lambda: progress.draw(counts, at))
            results.append(_with_young_collections(job, tick))
            at[index] = len(stages)
        progress.draw(counts, final=True)
        return results
    global _JOBS, _COUNTS, _STAGES, _NAMES
    context = multiprocessing.get_context("fork")
    _JOBS, _COUNTS, _STAGES = jobs, context.Array("q", len(jobs)), context.Array("b", len(jobs))
    _NAMES = stages
    # Objects that exist before the fork are never collected in the workers: without this, each
    # worker's collector walks (and copies, page by page) the whole inherited heap.
    gc.freeze()
    try:
        with _pool(context, count) as pool:
            # contiguous runs of jobs per worker: the caller orders them so that neighbours
            # share work (a worker's formatted shapes serve its next dialect)
            pending = pool.map_async(_run, range(len(jobs)), chunksize=-(-len(jobs) // count))
            while not pending.ready():
                pending.wait(0.2)
                progress.draw(list(_COUNTS), [min(s, len(stages)) for s in _STAGES])
            results = pending.get()
        progress.draw(list(_COUNTS), final=True)
        return results
    finally:
        gc.unfreeze()
        _JOBS, _COUNTS, _STAGES, _NAMES = (), None, None, ()
