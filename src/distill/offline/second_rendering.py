"""The child side of the reproducibility probe (``reproducible``): render again, in a fresh
interpreter with another PYTHONHASHSEED and the clock moved forward, and answer with every step
as Alembic wrote it (``StepTexts``: a digest each, the texts compressed)."""

from __future__ import annotations

import dataclasses
import datetime
import pickle
import sys
import time
from typing import Any

from ..dialects import get as get_dialect
from ..errors import OfflineRenderError
from ..history.plan import make_plan, single_steps
from ..history.scripts import History
from .render import render
from .reproducible import CLOCK_SHIFT, Job, StepTexts, read_frame, step_texts, write_frame


def _shift_clock() -> None:
    """Move this process's clock forward: time.time(), datetime.now()/utcnow()/today(), date.today()."""
    real_datetime, real_date, real_time, real_time_ns = (datetime.datetime, datetime.date, time.time,
                                                         time.time_ns)

    class _Meta(type):
        def __instancecheck__(cls, value: object) -> bool:
            return isinstance(value, cls.__real__)  # type: ignore[attr-defined]

    class ShiftedDatetime(real_datetime, metaclass=_Meta):  # instances are real datetimes
        __real__ = real_datetime

        def __new__(cls, *args: Any, **kw: Any) -> Any:
            return real_datetime(*args, **kw)

        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return real_datetime.now(tz) + CLOCK_SHIFT

        @classmethod
        def utcnow(cls) -> Any:
            return real_datetime.utcnow() + CLOCK_SHIFT

        @classmethod
        def today(cls) -> Any:
            return real_datetime.today() + CLOCK_SHIFT

    class ShiftedDate(real_date, metaclass=_Meta):
        __real__ = real_date

        def __new__(cls, *args: Any, **kw: Any) -> Any:
            return real_date(*args, **kw)

        @classmethod
        def today(cls) -> Any:
            return (real_datetime.now() + CLOCK_SHIFT).date()

    seconds = CLOCK_SHIFT.total_seconds()
    datetime.datetime, datetime.date = ShiftedDatetime, ShiftedDate  # type: ignore[misc]
    time.time = lambda: real_time() + seconds
    time.time_ns = lambda: real_time_ns() + int(seconds * 1_000_000_000)


def _ends(job: Job) -> tuple[str, str]:
    """A job's start and target as revision specs (start and target of a single job are the
    upgrade's whatever its direction)."""
    return ",".join(job.start) or "base", ",".join(job.target) or "base"


def _plans(history: History, job: Job) -> list[Any]:
    """What to render for ``job``: its plan, or for a ``single`` job with ``only``, each of those
    steps alone."""
    down = job.direction == "downgrade"
    if not job.single:
        return [make_plan(history, *_ends(job), down=down)]
    return [pair[1 if down else 0] for pair in single_steps(history, make_plan(history, *_ends(job)))
            if pair[0].steps[0].revision in job.only]


def _whole_range(history: History, job: Job, standalone: bool) -> dict[tuple[str, str, str], str] | None:
    """A single job's range rendered once, standing in for each step alone (the parent renders
    alone again only the steps that differ); None if it cannot be planned (a downgrade to
    several revisions) or rendered: then each step is rendered alone."""
    start, target = _ends(job)
    try:
        plan = make_plan(history, target, start, down=True) if job.direction == "downgrade" \
            else make_plan(history, start, target)
        rendering = render(history, plan, get_dialect(job.dialect), standalone=standalone)
    except Exception:
        return None
    return {(job.dialect, job.direction, revision): text for revision, text in step_texts(rendering).items()}


def _render_again(history: History, request: dict[str, Any]) -> dict[str, Any]:
    steps: dict[tuple[str, str, str], str] = {}
    failed: dict[tuple[str, str, str], str] = {}
    for job in request["jobs"]:
        if job.single and job.only is None:
            ranged = _whole_range(history, job, request["standalone"])
            if ranged is not None:
                steps.update(ranged)
                continue
            upgrade = make_plan(history, *_ends(job))
            job = dataclasses.replace(job, only=tuple(step.revision for step in upgrade.steps))
        key = (job.dialect, job.direction)
        for one in _plans(history, job):
            try:
                rendering = render(history, one, get_dialect(job.dialect), standalone=request["standalone"])
            except Exception as exc:
                why = exc.cause or exc.message if isinstance(exc, OfflineRenderError) else \
                    f"{type(exc).__name__}: {exc}"  # e.g. no downgrade(): compared where the first rendered
                failed.update({(*key, step.revision): why for step in one.steps})
                continue
            for revision, text in step_texts(rendering).items():
                steps[(*key, revision)] = text
    return {"steps": StepTexts(steps), "failed": failed}


def main() -> None:
    """Answer requests until the parent closes stdin; each history is loaded once."""
    _shift_clock()
    histories: dict[bytes, History] = {}
    while True:
        request = read_frame(sys.stdin.buffer)
        if request is None:
            return
        key = pickle.dumps(request["settings"])
        if key not in histories:
            histories[key] = History(request["settings"])
        write_frame(sys.stdout.buffer, {"id": request["id"], **_render_again(histories[key], request)})


if __name__ == "__main__":
    main()
