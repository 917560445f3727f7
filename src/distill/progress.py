"""The progress line: one line on stderr, redrawn in place, only when stderr is a terminal (and
not ``--quiet``). It starts with the time elapsed since the command started and an estimate of
what is left of the phase, so that both survive the cut to the terminal's width, then names the
stage and what runs in it (``rendering postgresql up 120/300``) and how many jobs are done:
``12s, ~30s left: rendering postgresql up 120/300; 1/8 done``. The estimate weighs the work left
in every stage by the time a unit of that stage took so far (a stage not yet seen as slow as the
slowest seen): a quick first stage does not make a slow last one look done.

A phase of work (loading scripts, the dialect-and-direction jobs, writing the bundle, archiving)
draws it through one ``Progress`` and erases it when the phase ends, so that what the command
prints next starts on a clean line; ``erase`` does the same when a command stops on an error.
Nothing here changes what a command outputs.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Sequence

QUIET = False  # --quiet: no progress line even on a terminal
START = time.monotonic()  # when the command started (``begin``): what the elapsed time counts from
_THROTTLE = 0.2  # seconds between redraws within a stage
_line_open = False  # a drawn line not yet ended by a newline


def _duration(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80  # 0: a terminal that says nothing
    except OSError:
        return 80


def begin() -> None:
    """The command starts now: the elapsed time of every phase counts from here."""
    global START
    START = time.monotonic()


def shown() -> bool:
    """Whether progress is drawn at all in this process."""
    return not QUIET and sys.stderr.isatty()


def erase() -> None:
    """Erase the line drawn so far, so that what is printed next starts on a clean line."""
    global _line_open
    if _line_open:
        sys.stderr.write("\r\x1b[K")
        sys.stderr.flush()
        _line_open = False


class Progress:
    """The progress of one phase: ``labels[i]`` names job i (``postgresql up``, ``scripts``), each
    job goes through ``stages`` in order (``rendering``, ``formatting``, ``writing``) and does
    ``totals[i]`` units in each. ``draw`` is given, per job, the stage it is in (``len(stages)``
    once it is done) and the units done in that stage."""

    def __init__(self, labels: Sequence[str], totals: Sequence[int],
                 stages: Sequence[str] = ("rendering",)) -> None:
        self.labels, self.totals, self.stages = labels, totals, stages
        self.enabled = shown() and len(labels) > 0
        self.last = 0.0
        self.seen: list[int] = [-1] * len(labels)  # the stage each job was in at the last draw
        self.spent = [0.0] * len(stages)  # job-seconds spent in each stage
        self.before: tuple[float, list[int], list[int]] | None = None  # time, counts, stages at the last call

    def draw(self, counts: Sequence[int], stages: Sequence[int] | None = None, final: bool = False) -> None:
        """Redraw (at most every 0.2 s; always when a job changes stage); ``final``: the phase is
        over, erase the line."""
        global _line_open
        if not self.enabled:
            return
        if final:
            erase()
            return
        at = list(stages) if stages is not None else [0] * len(counts)
        now = time.monotonic()
        self._account(now, list(counts), at)
        if at == self.seen and now - self.last < _THROTTLE:
            return
        self.last, self.seen = now, at
        line = self._line(counts, at, now - START)
        sys.stderr.write("\r" + line[:max(10, _width() - 1)] + "\x1b[K")
        sys.stderr.flush()
        _line_open = True

    def _account(self, now: float, counts: list[int], at: list[int]) -> None:
        """Add the time since the last call to the stage each started job was in."""
        if self.before is not None:
            then, counts_then, at_then = self.before
            for c, s in zip(counts_then, at_then, strict=True):
                if s < len(self.stages) and (c or s):
                    self.spent[s] += now - then
        self.before = (now, counts, at)

    def left(self, counts: Sequence[int], at: Sequence[int]) -> float | None:
        """Seconds the phase still needs: the units left in each stage of each job, at the
        seconds per unit each stage took so far, shared among the jobs running; None before a
        unit is done."""
        stage_count = len(self.stages)
        done = [sum(t if s > stage else min(c, t) if s == stage else 0
                    for c, t, s in zip(counts, self.totals, at, strict=True)) for stage in range(stage_count)]
        rates = {stage: self.spent[stage] / done[stage] for stage in range(stage_count)
                 if done[stage] and self.spent[stage]}
        if not rates:
            return None
        slowest = max(rates.values())
        work = sum((t - (min(c, t) if stage == s else 0)) * rates.get(stage, slowest)
                   for c, t, s in zip(counts, self.totals, at, strict=True)
                   for stage in range(s, stage_count))
        running = sum(1 for c, s in zip(counts, at, strict=True) if s < stage_count and (c or s))
        return work / max(1, running)

    def _line(self, counts: Sequence[int], at: Sequence[int], elapsed: float) -> str:
        stage_count = len(self.stages)
        running = [f"{self.stages[s]} {label} {min(c, t)}/{t}"
                   for label, c, t, s in zip(self.labels, counts, self.totals, at, strict=True)
                   if s < stage_count and (c or s)]  # started and not done
        finished = sum(1 for s in at if s >= stage_count)
        line = _duration(elapsed)
        left = self.left(counts, at) if running else None
        if left is not None:
            line += f", ~{_duration(math.ceil(left))} left"  # rounded up: never ~0s while work is left
        line += ": " + (", ".join(running) or ", ".join(self.stages))  # nothing running: between two jobs
        if len(self.labels) > 1:
            line += f"; {finished}/{len(self.labels)} done"
        return line
