"""Whether a revision renders the same twice: a second rendering of the same plans in a fresh
interpreter, with another PYTHONHASHSEED and the clock moved forward (below Python, by
libfaketime: ``clock``), compared step by step.

A revision that writes the time of rendering, a random value or a UUID into its SQL (or an
ordering that follows a set) makes a bundle that cannot be rebuilt byte for byte, and each such
revision is named with the first line that differs. A step the second rendering could not
render (or a child that could not load the history) is "reproducibility not checked", with why;
never a failure of the command. The second rendering runs in a child process
(``second_rendering``, started early and reused), so the two use both cores side by side. What is
compared is each step as Alembic wrote it, before formatting (formatting is a function of it), so
the child does not format.
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import marshal
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass
from typing import Any

from .. import workers
from ..names import one_line
from ..statements.model import Statement
from . import clock

# What the check says about itself, once per distill process, for the commands to print: the
# clock that could not be moved, the child that could not run.
NOTES: list[str] = []


@dataclass(frozen=True)
class Job:
    """Plans to render again: one plan, or each step of an upgrade range alone in either direction
    (``single``, as ``check`` does; then start and target are the upgrade's). A single job is
    first rendered as the whole range, which writes each step as it is written alone in all but
    a few places (the version table's creation, branch points, merges); the steps whose texts
    differ or are missing are then rendered alone (``only``) before anything is reported. So a
    step counts as reproducible when the range wrote it as the first rendering did alone: only a
    revision whose SQL depends on where it stands within one run could pass that way and not alone."""

    dialect: str
    direction: str  # "upgrade" or "downgrade"
    start: tuple[str, ...]
    target: tuple[str, ...]
    single: bool = False
    only: tuple[str, ...] | None = None  # of a single job: render just these revisions, each alone


@dataclass(frozen=True)
class NotReproducible:
    revision: str
    direction: str
    dialect: str
    detail: str  # the first line that differs, or why the second rendering failed
    checked: bool = True  # False: the second rendering failed, nothing was compared

    @property
    def message(self) -> str:
        if not self.checked:
            return f"reproducibility not checked: {self.detail}"
        return f"renders differently each time; {self.detail}"


def step_text(statements: list[Statement]) -> str:
    """What is compared of one step: its statements as written."""
    return "\n\n".join(s.text for s in statements)


def step_texts(rendering: Any) -> dict[str, str]:
    """revision -> ``step_text`` of each step of a rendering (before formatting)."""
    steps = rendering.plan.steps
    return {step.revision: step_text(rendering.step_statements(i)) for i, step in enumerate(steps)}


StepKey = tuple[str, str, str]  # dialect, direction, revision


class StepTexts:
    """Rendered steps' texts held small, as both renderings hand them over: a digest of each,
    compared first, and all the texts compressed in one block, opened only where digests differ
    (a release of 10,000 revisions in three dialects holds 60,000 of them at once)."""

    def __init__(self, texts: dict[StepKey, str]) -> None:
        self.digests = {key: _digest(text) for key, text in texts.items()}
        self._packed = zlib.compress(marshal.dumps(texts), 1)
        self._opened: dict[StepKey, str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"digests": self.digests, "_packed": self._packed, "_opened": None}

    def texts(self) -> dict[StepKey, str]:
        if self._opened is None:
            self._opened = marshal.loads(zlib.decompress(self._packed))
        return self._opened

    def text(self, key: StepKey) -> str:
        return self.texts()[key]


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _first_difference(ours: str, again: str) -> str:
    ours_lines, again_lines = ours.split("\n"), again.split("\n")
    pairs = zip(ours_lines, again_lines, strict=False)
    at = next((i for i, (a, b) in enumerate(pairs) if a != b), min(len(ours_lines), len(again_lines)))
    line = " ".join(ours_lines[at].split())[:200] if at < len(ours_lines) else "(the end of the step)"
    return f"first differing line {at + 1}: {line}"


def _child_seed() -> str:
    seed = os.environ.get("PYTHONHASHSEED", "")
    return str((int(seed) + 1) % 4294967296) if seed.isdigit() else "1"


class _Child:
    """The child process that renders a second time; one per distill process, reused by every
    probe (``release --all`` pays its start-up once), closed at exit."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONHASHSEED": _child_seed(), "DISTILL_JOBS": "1"}
        env, self.unshifted = clock.shifted_environment(env)  # why the clock is not moved, if not
        self.errors = tempfile.TemporaryFile()  # not a pipe: nothing the child says can block it
        self.asked = 0
        try:  # it dies with this process (a killed distill leaves no second rendering running)
            self.process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-m", "distill.offline.second_rendering"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self.errors, env=env, preexec_fn=workers.death_signal)
        except OSError as exc:
            self.process, self.failed = None, f"the second rendering could not start: {exc}"
        atexit.register(self.close)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def preload(self, settings: Any, kept_code: Any = None, generation: int | None = None,
                ends: tuple[str, str] | None = None) -> None:
        """Have the history of ``settings`` (its load ``generation``) loaded before it is asked
        for (nobody reads the answer), taking its scripts' code objects from ``kept_code`` if
        given (History), and the range between ``ends`` (specs) planned, if given."""
        self.send({"settings": settings, "standalone": False, "jobs": [], "kept_code": kept_code,
                   "generation": generation, "ends": ends})

    def send(self, request: dict[str, Any]) -> int:
        self.asked += 1
        if self.running():
            assert self.process is not None and self.process.stdin is not None
            try:
                write_frame(self.process.stdin, {**request, "id": self.asked})
            except OSError:
                pass  # the child ended: its answer says why
        return self.asked

    def answer(self, number: int) -> dict[str, Any]:
        """The answer to request ``number``; where the child ended first, one whose ``error``
        says why (its last line on stderr)."""
        while True:
            reply = read_frame(self.process.stdout) if self.process is not None else None  # type: ignore[union-attr]
            if reply is None:
                return {"id": number, "error": self._why_ended()}
            if reply["id"] == number:  # an earlier probe's answer nobody read is skipped
                self._note_clock(reply.get("clock"))
                return reply

    def _why_ended(self) -> str:
        if self.process is None:
            return self.failed
        self.errors.seek(0)
        said = self.errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        if said:
            return "the second rendering ended: " + one_line(said[0])[:300]
        return f"the second rendering ended (exit status {self.process.wait()})"

    def _note_clock(self, child_time: float | None) -> None:
        if child_time is None:  # an answer to a request the child could not serve
            return
        why = self.unshifted or (None if clock.shifted(child_time, time.time()) else
                                 "libfaketime was preloaded, but the clock did not move")
        if why:
            note = ("the reproducibility check rendered a second time under another hash seed, but "
                    f"did not move the clock forward ({why}): a revision that writes the time of "
                    "rendering into its SQL may pass unnoticed")
            if note not in NOTES:
                NOTES.append(note)

    def close(self) -> None:
        if self.running() and not self.asked:  # started, never asked: still importing, nothing to wait for
            assert self.process is not None
            self.process.kill()
            self.process.wait()
        if self.running():
            assert self.process is not None and self.process.stdin is not None
            try:
                self.process.stdin.close()
            except OSError:
                pass
            try:  # it ends at the end of its input, unless a revision left a thread running in it
                self.process.wait(2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.errors.close()


_child: _Child | None = None


def start(settings: Any = None, kept_code: Any = None, generation: int | None = None,
          ends: tuple[str, str] | None = None) -> _Child:
    """The child process, started now if it is not running (call early: it imports while the
    parent works); with ``settings``, it loads their history at once too (on the other core,
    while the parent loads its own, ``generation``: History), taking the scripts' code objects
    from ``kept_code``, and plans the range between ``ends`` (specs) if given."""
    global _child
    if _child is None or not _child.running():
        _child = _Child()
    if settings is not None and getattr(settings, "setup", None) is None:  # a setup hook runs once at a time
        _child.preload(settings, kept_code, generation, ends)
    return _child


class Probe:
    """The second rendering of ``jobs``, under way in the child process from construction on."""

    def __init__(self, settings: Any, jobs: list[Job], *, standalone: bool,
                 generation: int | None = None) -> None:
        """``generation``: the load of the history the first rendering used (History): the
        child loads the scripts again when it holds another."""
        self._child = start()
        self._request = {"settings": settings, "standalone": standalone, "generation": generation}
        self._jobs = jobs
        self._number = self._child.send({**self._request, "jobs": jobs})

    def differences(self, reference: list[StepTexts]) -> list[NotReproducible]:
        """Every (dialect, direction, revision) step of ``reference`` (as the first rendering
        wrote it) that the second rendering wrote differently or could not render."""
        result = self._child.answer(self._number)
        ours = {key: (texts, digest) for texts in reference for key, digest in texts.digests.items()}
        if "error" in result:  # the child could not load the history, or ended
            return [NotReproducible(*_rotated(key), result["error"], checked=False) for key in sorted(ours)]
        again = {key: (result["steps"], digest) for key, digest in result["steps"].digests.items()}
        failed = dict(result["failed"])
        stand_ins = [key for key, (_, digest) in ours.items() if key not in failed
                     and again.get(key, (None, None))[1] != digest and self._single(key)]
        if stand_ins:  # rendered within the range: render those steps alone before judging them
            retry = self._child.answer(self._child.send({**self._request, "jobs": self._alone(stand_ins)}))
            if "error" in retry:
                failed.update({key: retry["error"] for key in stand_ins})
                retry = {"steps": StepTexts({}), "failed": {}}
            again.update({key: (retry["steps"], digest) for key, digest in retry["steps"].digests.items()})
            failed.update(retry["failed"])
        found = []
        for key in sorted(ours):
            dialect, direction, revision = key
            if key in failed:
                found.append(NotReproducible(revision, direction, dialect,
                                             f"the second rendering failed: {failed[key]}", checked=False))
                continue
            texts, digest = ours[key]
            if key in again and again[key][1] != digest:
                detail = _first_difference(texts.text(key), again[key][0].text(key))
                found.append(NotReproducible(revision, direction, dialect, detail))
        return found

    def _single(self, key: StepKey) -> bool:
        return any(job.single and (job.dialect, job.direction) == key[:2] for job in self._jobs)

    def _alone(self, keys: list[StepKey]) -> list[Job]:
        """Jobs rendering each of ``keys`` alone."""
        wanted: dict[tuple[str, str], list[str]] = {}
        for dialect, direction, revision in keys:
            wanted.setdefault((dialect, direction), []).append(revision)
        return [dataclasses.replace(job, only=tuple(sorted(wanted[job.dialect, job.direction])))
                for job in self._jobs if job.single and (job.dialect, job.direction) in wanted]


def _rotated(key: StepKey) -> tuple[str, str, str]:
    """(revision, direction, dialect) of a (dialect, direction, revision) key."""
    dialect, direction, revision = key
    return revision, direction, dialect


def write_frame(stream: Any, value: Any) -> None:
    data = pickle.dumps(value)
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def read_frame(stream: Any) -> Any:
    """The next value written by ``write_frame``; None at the end of the stream."""
    header = stream.read(8)
    if len(header) < 8:
        return None
    return pickle.loads(stream.read(struct.unpack(">Q", header)[0]))
