"""The progress line: one line on stderr, redrawn in place, only when stderr is a terminal (and
not ``--quiet``). It names the stage and what runs in it (``rendering postgresql up 120/300``),
how many jobs are done, the elapsed time and an estimate, cut to the terminal's width.

A phase of work (loading scripts, the dialect-and-direction jobs, writing the bundle, archiving)
draws it through one ``Progress`` and erases it when the phase ends, so that what the command
prints next starts on a clean line; ``erase`` does the same when a command stops on an error.
Nothing here changes what a command outputs.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

QUIET = False  # --quiet: no progress line even on a terminal
_THROTTLE = 0.2  # seconds between redraws within a stage
_line_open = False  # a drawn line not yet ended by a newline


def _duration(seconds: float) -> str:
    return f"{int(seconds)}s" if seconds < 60 else f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns or 80  # 0: a terminal that says nothing
    except OSError:
        return 80


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
        self.start = time.monotonic()
        self.seen: list[int] = [-1] * len(labels)  # the stage each job was in at the last draw

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
        if at == self.seen and now - self.last < _THROTTLE:
            return
        self.last, self.seen = now, at
        line = self._line(counts, at, now - self.start)
        sys.stderr.write("\r" + line[:max(10, _width() - 1)] + "\x1b[K")
        sys.stderr.flush()
        _line_open = True

    def _line(self, counts: Sequence[int], at: Sequence[int], elapsed: float) -> str:
        stage_count = len(self.stages)
        running = [f"{self.stages[s]} {label} {min(c, t)}/{t}"
                   for label, c, t, s in zip(self.labels, counts, self.totals, at, strict=True)
                   if s < stage_count and (c or s)]  # started and not done
        finished = sum(1 for s in at if s >= stage_count)
        line = ", ".join(running) or ", ".join(self.stages)  # nothing running: between two jobs
        if len(self.labels) > 1:
            line += f"; {finished}/{len(self.labels)} done"
        line += f", {_duration(elapsed)}"
        share = sum(min(s, stage_count) + (min(c / t, 1.0) if t and s < stage_count else 0.0)
                    for c, t, s in zip(counts, self.totals, at, strict=True)) / (stage_count * len(at))
        if running and share > 0:
            line += f", ~{_duration(elapsed * (1 - share) / share)} left"
        return line
