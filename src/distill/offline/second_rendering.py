"""The child side of the reproducibility probe (``reproducible``): render again, in a fresh
interpreter with another PYTHONHASHSEED and the clock moved forward, and answer with every step
as Alembic wrote it (``StepTexts``: a digest each, the texts compressed)."""

from __future__ import annotations

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
from .reproducible import CLOCK_SHIFT, StepTexts, read_frame, step_texts, write_frame


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


def _render_again(history: History, request: dict[str, Any]) -> dict[str, Any]:
    steps: dict[tuple[str, str, str], str] = {}
    failed: dict[tuple[str, str, str], str] = {}
    for job in request["jobs"]:
        down = job.direction == "downgrade"
        ends = (",".join(job.start) or "base", ",".join(job.target) or "base")
        if job.single:  # start and target are the upgrade's; each step alone, in either direction
            plans = [pair[1 if down else 0] for pair in single_steps(history, make_plan(history, *ends))]
        else:
            plans = [make_plan(history, *ends, down=down)]
        for one in plans:
            key = (job.dialect, job.direction)
            try:
                rendering = render(history, one, get_dialect(job.dialect), standalone=request["standalone"])
            except OfflineRenderError as exc:
                failed.update({(*key, step.revision): exc.cause or exc.message for step in one.steps})
                continue
            except Exception as exc:  # e.g. no downgrade(): compared only where the first rendered
                failed.update({(*key, step.revision): f"{type(exc).__name__}: {exc}" for step in one.steps})
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
