"""Using both cores without losing determinism.

Independent jobs (one dialect, one direction) run in forked worker processes: they inherit the
loaded history, so nothing is loaded twice, and only their small results come back, in
submission order. Output bytes never depend on which worker ran what. Where fork is unavailable,
with one core, or with DISTILL_JOBS=1, the jobs run one after the other in this process.

A job is called with ``tick``, which it calls once per step done; on a terminal, a progress line
on stderr (``Progress``) shows what is rendering, the steps done, elapsed time and an estimate.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

Job = Callable[[Callable[[], None]], Any]

_JOBS: Sequence[Job] = ()
_COUNTS: Any = None


_YOUNG_EVERY = 100  # steps between collections of the young generations during a job


def _with_young_collections(job: Job, tick: Callable[[], None]) -> Any:
    """Run ``job`` with the automatic collector off, collecting only the young generations every
    100 steps. Rendering makes cyclic garbage (Alembic builds a MetaData and Table per operation)
    that dies young, while the automatic full collections walk everything the job has kept so
    far: 0.2-0.4 s per 10,000-step job, growing faster than the job."""
    done = 0

    def counted() -> None:
        nonlocal done
        done += 1
        if done % _YOUNG_EVERY == 0:
            gc.collect(1)
        tick()

    enabled = gc.isenabled()
    gc.disable()
    try:
        return job(counted)
    finally:
        if enabled:
            gc.enable()
        gc.collect(1)


def _run(index: int) -> Any:
    def tick() -> None:
        with _COUNTS.get_lock():
            _COUNTS[index] += 1
    return _with_young_collections(_JOBS[index], tick)


def _die_with_parent() -> None:
    """In a worker: be killed when the distill process dies (Linux prctl PR_SET_PDEATHSIG), so a
    killed build does not go on writing files for seconds."""
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


QUIET = False  # --quiet: no progress line even on a terminal


def _duration(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80  # 0: a terminal that says nothing
    except OSError:
        return 80


class Progress:
    """One line on stderr, redrawn, only when stderr is a terminal (and not --quiet): the phase and
    what is running in it, steps done, elapsed time and an estimate, cut to the terminal's width."""

    def __init__(self, phase: str, labels: Sequence[str], totals: Sequence[int]) -> None:
        self.phase, self.labels, self.totals = phase, labels, totals
        self.enabled = not QUIET and sys.stderr.isatty() and sum(totals) > 0
        self.last = 0.0
        self.start = time.monotonic()

    def draw(self, counts: Sequence[int], final: bool = False) -> None:
        if not self.enabled or (not final and time.monotonic() - self.last < 0.2):
            return
        self.last = now = time.monotonic()
        done, total = sum(counts), sum(self.totals)
        running = [label for label, c, t in zip(self.labels, counts, self.totals, strict=True) if c < t]
        elapsed = now - self.start
        line = f"{self.phase}: {done}/{total} steps, {_duration(elapsed)}"  # first: what a cut keeps
        if done and not final:
            line += f", ~{_duration(elapsed * (total - done) / done)} left"
        if running and not final and len(self.labels) > 1:  # which jobs are still running
            line += f" ({', '.join(running)})"
        sys.stderr.write("\r" + line[:max(10, _width() - 1)] + "\x1b[K" + ("\n" if final else ""))
        sys.stderr.flush()


def run_all(jobs: Sequence[Job], *, labels: Sequence[str] = (), totals: Sequence[int] = ()) -> list[Any]:
    """Run ``jobs`` (in parallel where it helps); their results in order."""
    progress = Progress("rendering", labels or [f"job {i}" for i in range(len(jobs))],
                        totals or [0] * len(jobs))
    count = usable_cores(len(jobs))
    if count < 2:
        counts = [0] * len(jobs)
        results = []
        for index, job in enumerate(jobs):
            def tick(index: int = index) -> None:
                counts[index] += 1
                progress.draw(counts)
            results.append(_with_young_collections(job, tick))
        progress.draw(counts, final=True)
        return results
    global _JOBS, _COUNTS
    context = multiprocessing.get_context("fork")
    _JOBS, _COUNTS = jobs, context.Array("q", len(jobs))
    # Objects that exist before the fork are never collected in the workers: without this, each
    # worker's collector walks (and copies, page by page) the whole inherited heap.
    gc.freeze()
    try:
        with context.Pool(count, initializer=_die_with_parent) as pool:
            pending = pool.map_async(_run, range(len(jobs)), chunksize=1)
            while not pending.ready():
                pending.wait(0.2)
                progress.draw(list(_COUNTS))
            results = pending.get()
        progress.draw(list(_COUNTS), final=True)
        return results
    finally:
        gc.unfreeze()
        _JOBS, _COUNTS = (), None
