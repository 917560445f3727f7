"""Whether a revision renders the same twice: a second rendering of the same plans in a fresh
interpreter, with another PYTHONHASHSEED and the clock moved forward, compared step by step.

A revision that writes the time of rendering, a random value or a UUID into its SQL (or an
ordering that follows a set) makes a bundle that cannot be rebuilt byte for byte, and each such
revision is named with the first line that differs. The second rendering runs in a child process
(``python -m distill.offline.reproducible``) started before the first one, so the two use both
cores side by side.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from ..errors import DistillError
from ..statements.model import Statement

CLOCK_SHIFT = datetime.timedelta(days=3, hours=7, minutes=11, seconds=13)


@dataclass(frozen=True)
class Job:
    """Plans to render again: one plan, or each step of an upgrade range alone in either direction
    (``single``, as ``check`` does; then start and target are the upgrade's)."""

    dialect: str
    direction: str  # "upgrade" or "downgrade"
    start: tuple[str, ...]
    target: tuple[str, ...]
    single: bool = False


@dataclass(frozen=True)
class NotReproducible:
    revision: str
    direction: str
    dialect: str
    detail: str  # the first line that differs, or why the second rendering failed

    @property
    def message(self) -> str:
        return f"renders differently each time; {self.detail}"


def step_text(statements: list[Statement]) -> str:
    """What is compared of one step: its statements as written."""
    return "\n\n".join(s.text for s in statements)


def _line_hashes(text: str) -> list[str]:
    return [hashlib.sha256(line.encode("utf-8")).hexdigest()[:16] for line in text.split("\n")]


def _first_difference(text: str, ours: list[str], again: list[str]) -> str:
    pairs = zip(ours, again, strict=False)
    at = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(ours), len(again)))
    lines = text.split("\n")
    line = " ".join(lines[at].split())[:200] if at < len(lines) else "(the end of the step)"
    return f"first differing line {at + 1}: {line}"


def _child_seed() -> str:
    seed = os.environ.get("PYTHONHASHSEED", "")
    return str((int(seed) + 1) % 4294967296) if seed.isdigit() else "1"


class Probe:
    """The second rendering, running in a child process from construction on."""

    def __init__(self, settings: Any, jobs: list[Job], *, style: str, standalone: bool) -> None:
        env = {**os.environ, "PYTHONHASHSEED": _child_seed(), "DISTILL_JOBS": "1"}
        self._errors = tempfile.TemporaryFile()  # not a pipe: nothing the child says can block it
        self._process = subprocess.Popen(
            [sys.executable, "-m", "distill.offline.reproducible"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._errors, env=env)
        assert self._process.stdin is not None
        with self._process.stdin:
            self._process.stdin.write(pickle.dumps(
                {"settings": settings, "jobs": jobs, "style": style, "standalone": standalone}))

    def differences(self, reference: dict[tuple[str, str, str], str]) -> list[NotReproducible]:
        """Every (dialect, direction, revision) step of ``reference`` (its text from the first
        rendering) that the second rendering wrote differently or could not render."""
        assert self._process.stdout is not None
        with self._process.stdout:
            out = self._process.stdout.read()
        self._process.wait()
        self._errors.seek(0)
        err = self._errors.read()
        self._errors.close()
        if self._process.returncode != 0:
            last = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
            raise DistillError(f"the second rendering (the reproducibility check) failed: {last[0]}")
        result = pickle.loads(out)
        found = []
        for (dialect, direction, revision), text in sorted(reference.items()):
            failed = result["failed"].get((dialect, direction, revision))
            if failed:
                found.append(NotReproducible(revision, direction, dialect,
                                             f"the second rendering failed: {failed}"))
                continue
            again = result["steps"].get((dialect, direction, revision))
            if again is None:
                continue
            ours = _line_hashes(text)
            if ours != again:
                detail = _first_difference(text, ours, again)
                found.append(NotReproducible(revision, direction, dialect, detail))
        return found


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


def _render_again(request: dict[str, Any]) -> dict[str, Any]:
    from ..dialects import get as get_dialect
    from ..errors import OfflineRenderError
    from ..history.plan import make_plan, single_steps
    from ..history.scripts import History
    from .produce import produce

    history = History(request["settings"])
    steps: dict[tuple[str, str, str], list[str]] = {}
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
                rendering, _ = produce(history, one, get_dialect(job.dialect), style=request["style"],
                                       standalone=request["standalone"])
            except OfflineRenderError as exc:
                failed.update({(*key, step.revision): exc.cause or exc.message for step in one.steps})
                continue
            except Exception as exc:  # e.g. no downgrade(): compared only where the first rendered
                failed.update({(*key, step.revision): f"{type(exc).__name__}: {exc}" for step in one.steps})
                continue
            for index, step in enumerate(one.steps):
                steps[(*key, step.revision)] = _line_hashes(step_text(rendering.step_statements(index)))
    return {"steps": steps, "failed": failed}


def main() -> None:
    request = pickle.loads(sys.stdin.buffer.read())
    _shift_clock()
    result = _render_again(request)
    sys.stdout.buffer.write(pickle.dumps(result))


if __name__ == "__main__":
    main()
