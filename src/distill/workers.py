"""Using both cores without losing determinism.

Independent jobs (one dialect, one direction) run in forked worker processes: they inherit the
loaded history, so nothing is loaded twice, and only their small results come back, in
submission order. Output bytes never depend on which worker ran what. Where fork is unavailable,
with one core, or with DISTILL_JOBS=1, the jobs run one after the other in this process.

Each worker sends its results through a pipe of its own; a worker that dies without its result
(a revision that kills its process) is seen at once, by the end of that pipe, and stops the
command with an error naming the job and the revision it was rendering (``doing``). Anything
that stops the distill process (an error, SIGTERM, Ctrl-C) kills the workers first; if it is
killed itself, they die with it (Linux: PR_SET_PDEATHSIG).

A job is called with a ``Tick``: ``tick()`` once per unit done, ``tick.stage(n)`` when it moves on
to its next stage; on a terminal, the progress line (``progress.Progress``) shows them.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from .errors import DistillError
from .names import one_line
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
_DOING: Any = None  # per job, what it does now (``doing``): named if its worker dies
_DOING_WIDTH = 400
_CURRENT = -1  # in a worker: the index of the job it runs


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


_PRCTL = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None) if sys.platform == "linux" else None


def death_signal() -> None:
    """Be killed (SIGKILL) when the process that started this one dies (Linux prctl
    PR_SET_PDEATHSIG; elsewhere nothing). Safe between fork and exec (``preexec_fn``): the libc
    function was looked up beforehand."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG


def _die_with_parent(parent: int) -> None:
    """In a worker: be killed when the distill process dies, so a killed command does not go on
    writing files; die on SIGTERM at once; leave Ctrl-C to the distill process, which ends its
    workers."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    death_signal()
    if os.getppid() != parent:  # it died before the death signal was set
        os._exit(1)


def doing(describe: Callable[[], str]) -> None:
    """Note what the job running in this worker does now (``describe()``: the revision it renders),
    for the error that names it if the worker dies. Nothing outside a worker."""
    if _CURRENT >= 0 and _DOING is not None:
        data = describe().encode("utf-8", "replace")[:_DOING_WIDTH].ljust(_DOING_WIDTH, b"\0")
        _DOING[_CURRENT * _DOING_WIDTH:(_CURRENT + 1) * _DOING_WIDTH] = data


def _work(indices: range, sender: Any, parent: int) -> None:
    """A worker: run ``indices`` in order, sending each result (or the error that ends it)."""
    global _CURRENT
    _die_with_parent(parent)
    for index in indices:
        _CURRENT = index
        try:
            message: tuple = ("result", index, _run(index))
        except BaseException as exc:  # noqa: BLE001 - sent to the distill process, raised there
            message = ("error", index, exc, traceback.format_exc())
        try:
            sender.send(message)
        except Exception as exc:  # a result or an error that cannot be pickled
            sender.send(("error", index, RuntimeError(f"a worker could not send back its result: {exc}"),
                         traceback.format_exc()))
        if message[0] == "error":
            return


class _RemoteTraceback(Exception):
    """Where a worker raised: the cause of the exception raised again here."""

    def __str__(self) -> str:
        return str(self.args[0])


def usable_cores(jobs: int) -> int:
    """How many processes to use for ``jobs`` jobs (1 where fork is unavailable)."""
    wanted = os.environ.get("DISTILL_JOBS")
    cores = int(wanted) if wanted and wanted.isdigit() else (os.cpu_count() or 1)
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(cores, jobs))


_DONE = 127  # a job's stage once it has returned (more than any job has stages)


def run_all(jobs: Sequence[Job], *, labels: Sequence[str] = (), totals: Sequence[int] = (),
            stages: Sequence[str] = ("rendering",), parallel: bool = True, workers: int | None = None
            ) -> list[Any]:
    """Run ``jobs`` (in parallel where it helps, unless not ``parallel``); their results in order.
    ``workers``: at most this many worker processes (1: the jobs run one after another in one,
    away from this process all the same, for little work). ``labels``, ``totals`` and ``stages``
    are what the progress line says (``progress.Progress``)."""
    labels = labels or [f"job {i}" for i in range(len(jobs))]
    progress = Progress(labels, totals or [0] * len(jobs), stages)
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
    global _JOBS, _COUNTS, _STAGES, _NAMES, _DOING
    context = multiprocessing.get_context("fork")
    _JOBS, _COUNTS, _STAGES = jobs, context.Array("q", len(jobs)), context.Array("b", len(jobs))
    _NAMES, _DOING = stages, context.Array("c", len(jobs) * _DOING_WIDTH, lock=False)
    # Objects that exist before the fork are never collected in the workers: without this, each
    # worker's collector walks (and copies, page by page) the whole inherited heap.
    gc.freeze()
    count = min(count, workers or count)
    try:
        # contiguous runs of jobs per worker: the caller orders them so that neighbours share
        # work (a worker's formatted shapes serve its next dialect)
        chunk = -(-len(jobs) // count)
        parts = [range(i, min(i + chunk, len(jobs))) for i in range(0, len(jobs), chunk)]
        results = _in_workers(context, parts, labels, lambda: progress.draw(
            list(_COUNTS), [min(s, len(stages)) for s in _STAGES]))
        progress.draw(list(_COUNTS), final=True)
        return results
    finally:
        gc.unfreeze()
        _JOBS, _COUNTS, _STAGES, _NAMES, _DOING = (), None, None, (), None


def _in_workers(context: Any, parts: list[range], labels: Sequence[str],
                draw: Callable[[], None]) -> list[Any]:
    """Each of ``parts`` run by a forked worker; the results in job order. A worker that raises
    stops them all (its error raised here); one that dies without its result too (an error naming
    its job and what it was doing); so does anything raised here (SIGTERM, Ctrl-C): no worker is
    left running."""
    started: list[tuple[Any, Any, range]] = []
    results: dict[int, Any] = {}
    try:
        for part in parts:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_work, args=(part, sender, os.getpid()), daemon=True)
            process.start()
            sender.close()  # only the worker holds it: its end is the end of the pipe
            started.append((process, receiver, part))
        waiting = {receiver: (process, part) for process, receiver, part in started}
        while waiting:
            for receiver in multiprocessing.connection.wait(list(waiting), timeout=0.2):
                process, part = waiting[receiver]
                try:
                    message = receiver.recv()
                except (EOFError, OSError):
                    raise _died(process, next(i for i in part if i not in results), labels) from None
                if message[0] == "error":
                    raise _raised_in_worker(*message[2:])
                results[message[1]] = message[2]
                if all(i in results for i in part):
                    del waiting[receiver]
            draw()
        return [results[i] for i in range(len(results))]
    finally:
        for process, receiver, _part in started:
            if process.is_alive() and len(results) < sum(len(p) for p in parts):
                process.kill()
            # a worker with every result sent still waits for threads a revision started and
            # left running (a worker exits only after its non-daemon threads): not for long
            process.join(_DONE_WORKER_GRACE)
            if process.is_alive():
                process.kill()
                process.join()
            receiver.close()


_DONE_WORKER_GRACE = 2.0  # seconds a worker that sent all its results may take to exit


def _died(process: Any, index: int, labels: Sequence[str]) -> DistillError:
    process.join(5)
    code = process.exitcode
    how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 and -code in
           signal.valid_signals() else f"exit status {code}")
    assert _DOING is not None
    doing_now = bytes(_DOING[index * _DOING_WIDTH:(index + 1) * _DOING_WIDTH]).rstrip(b"\0")
    what = f" while rendering {one_line(doing_now.decode('utf-8', 'replace'))}" if doing_now else ""
    return DistillError(f"the worker process running {labels[index]} ended without its result ({how}){what}. "
                        "A revision must not end, fork or kill the process that renders it (os.kill(), "
                        "os.abort(), a crash in a C extension); remove what does.")


def _raised_in_worker(exc: BaseException, where: str) -> BaseException:
    if not isinstance(exc, DistillError):
        exc.__cause__ = _RemoteTraceback(where)
    return exc
