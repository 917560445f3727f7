"""The child side of the reproducibility probe (``reproducible``): render again, in a fresh
interpreter with another PYTHONHASHSEED and the clock moved forward, and answer with every step
as Alembic wrote it (``StepTexts``: a digest each, the texts compressed).

Nothing here changes the Python the revisions run in: the parent started this process with the
clock moved below Python (``clock``, libfaketime). Each answer carries this process's
``time.time()``, so the parent can tell whether the clock really moved."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Any

from ..dialects import get as get_dialect
from ..errors import DistillError, OfflineRenderError
from ..history.plan import make_plan, single_steps
from ..history.scripts import History
from ..names import one_line
from .render import render
from .reproducible import Job, StepTexts, read_frame, step_texts, write_frame


def _ends(job: Job) -> tuple[str, str]:
    """A job's start and target as revision specs (start and target of a single job are the
    upgrade's whatever its direction)."""
    return _specs(job.start, job.target)


def _specs(start: tuple[str, ...], target: tuple[str, ...]) -> tuple[str, str]:
    return ",".join(start) or "base", ",".join(target) or "base"


def _plans(history: History, job: Job) -> list[Any]:
    """What to render for ``job``: its plan, or for a ``single`` job with ``only``, each of those
    steps alone."""
    down = job.direction == "downgrade"
    if not job.single:
        return [make_plan(history, *_ends(job), down=down)]
    pairs = single_steps(history, _upgrade(history, job.start, job.target), set(job.only))
    return [pair[1 if down else 0] for pair in pairs]


def _upgrade(history: History, start: tuple[str, ...], target: tuple[str, ...]) -> Any:
    """The upgrade plan of a range (planned once per history: six jobs share a range)."""
    key = (id(history), start, target)
    if key not in _PLANNED:
        _PLANNED.clear()  # one range at a time is enough
        _PLANNED[key] = (history, make_plan(history, *_specs(start, target)))
    return _PLANNED[key][1]


_PLANNED: dict[tuple, tuple[History, Any]] = {}  # the history is held so that its id stays its own


def _plan_ahead(history: History, ends: tuple[str, str]) -> None:
    """Plan the range the first rendering works on (``ends``: its specs) before it asks, while it
    looks up its render cache (after one revision of 1,000 was edited, the probe took 0.06 s
    from the question, 0.02 s of it planning). A range that cannot be planned is the first
    rendering's to report."""
    try:
        plan = make_plan(history, *ends)
        _upgrade(history, plan.start, plan.target)
    except Exception:  # noqa: BLE001, S110 - planned again when asked, and reported there
        pass


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


def _history(histories: dict[str, tuple[Any, History | str]], request: dict[str, Any]) -> History | str:
    """The history of the request's settings, loaded once per load of the first rendering's
    (its ``generation``: an API caller's scripts may change between two; its setup hook called
    first; the scripts' code objects from ``kept_code`` if given: the code compiling gives); or
    why it cannot be loaded here."""
    settings, generation = request["settings"], request.get("generation")
    key = repr(settings)  # a frozen dataclass: its repr names every field (two unpickled copies
    # of the same settings can pickle to different bytes: shared strings are memoised differently)
    if key not in histories or generation not in (None, histories[key][0]):
        try:
            loaded: History | str = History(settings, kept_code=request.get("kept_code"))
        except DistillError as exc:
            loaded = "the second rendering could not load the history: " + one_line(exc.message)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the parent reports it per step
            loaded = ("the second rendering could not load the history: "
                      + one_line(f"{type(exc).__name__}: {exc}"))
        histories[key] = (generation, loaded)  # the one before goes
    return histories[key][1]


def main() -> None:
    """Answer requests until the parent closes stdin; each history is loaded once."""
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what a hook or script prints goes to stderr, never between the answers
    histories: dict[str, tuple[Any, History | str]] = {}
    while True:
        request = read_frame(sys.stdin.buffer)
        if request is None:
            return
        history = _history(histories, request)
        answer = {"error": history} if isinstance(history, str) else _render_again(history, request)
        if request.get("ends") and not isinstance(history, str):
            _plan_ahead(history, request["ends"])
        write_frame(answers, {"id": request["id"], "clock": time.time(), **answer})


if __name__ == "__main__":
    main()
