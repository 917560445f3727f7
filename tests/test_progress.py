"""The progress line: on stderr when it is a terminal of 80 columns (the stage and what runs in
it, units done, elapsed time, an estimate; never wider than the terminal; erased when a phase
ends), nothing when piped or with --quiet."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from helpers import read_terminal
from projects import CREATE_T, write_project

REPO = Path(__file__).resolve().parent.parent


def _on_a_terminal(args: list[str], columns: int = 80, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``args`` with stderr on a pseudo-terminal of ``columns`` columns: (exit code, stderr)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        shown = subprocess.run(args, cwd=REPO, stdout=subprocess.PIPE, stderr=terminal, timeout=300, env=env)
        os.close(terminal)
        output = read_terminal(controller)
    finally:
        os.close(controller)
    return shown.returncode, output.decode(errors="replace")


def _lines(text: str) -> list[str]:
    """Every state the line was drawn in, without the erase-to-end-of-line code."""
    return [part.replace("\x1b[K", "") for part in re.split(r"[\r\n]+", text) if part.strip()]


PHASES = ["loading scripts ", "rendering postgresql up ", "formatting postgresql up ", "writing postgresql up ",
          "rendering sqlite down ", "formatting sqlite down ", "writing sqlite down ", "writing bundle ",
          "archiving files "]


def _run_on_a_terminal(args: list[str], columns: int = 80, jobs: str | None = None) -> tuple[int, str]:
    env = {key: value for key, value in os.environ.items() if key != "DISTILL_JOBS"}
    if jobs:
        env["DISTILL_JOBS"] = jobs
    return _on_a_terminal(args, columns, env)


def test_progress_names_every_phase_and_fits_an_80_column_terminal(tmp_path):
    # one process: every stage of every job is drawn (a stage change always redraws)
    code, text = _run_on_a_terminal([sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect",
                                     "postgresql,sqlite", "--archive", "--out", str(tmp_path / "one")], jobs="1")
    lines = _lines(text)
    assert code == 0 and lines and all(len(line) < 80 for line in lines), lines
    for phase in PHASES:
        # the elapsed time and the estimate first: they survive the cut to 80 columns
        assert any(re.match(r"\d+s(, ~\d+s left)?: " + phase, line) and re.search(r" \d+/\d+\b", line)
                   for line in lines), (phase, lines)
    assert text.endswith("\r\x1b[K")  # the last phase erased its line: the terminal is left clean
    # both cores, four dialects: several jobs on one line, cut to the width
    code, text = _run_on_a_terminal([sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect",
                                     "postgresql,mysql,sqlite,mariadb", "--out", str(tmp_path / "b")])
    lines = _lines(text)
    assert code == 0 and all(len(line) < 80 for line in lines), lines
    # (how far the workers got at each 0.2 s redraw depends on the machine: only that one was drawn)
    assert any(re.match(r"\d+s\b.*; \d/8 d", line) for line in lines), lines
    code, text = _run_on_a_terminal([sys.executable, "-m", "distill", "check", "--to", "6f4a", "--dialect",
                                     "sqlite"], jobs="1")  # one process: each job's first revision drawn
    assert code == 0 and re.search(r"checking sqlite 1-3 \d/3", text), text
    code, text = _run_on_a_terminal([sys.executable, "-m", "distill", "sql", "--to", "6f4a", "--dialect",
                                     "sqlite", "-o", str(tmp_path / "s.sql")])
    assert code == 0 and "rendering sqlite 1/6" in text and "formatting sqlite " in text
    code, text = _run_on_a_terminal([sys.executable, "-m", "distill", "--quiet", "build", "--to", "6f4a",
                                     "--dialect", "sqlite", "--out", str(tmp_path / "q")])
    assert code == 0 and text == ""
    code, text = _run_on_a_terminal([sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect",
                                     "sqlite", "--out", str(tmp_path / "q2"), "-q"])  # also after the command
    assert code == 0 and text == ""


def test_progress_only_on_a_terminal(tmp_path):
    args = [sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect", "postgresql,sqlite",
            "--archive"]
    quiet = subprocess.run([*args, "--out", str(tmp_path / "a")], cwd=REPO, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    code, text = _run_on_a_terminal([*args, "--out", str(tmp_path / "b")], columns=0)  # a size-less terminal
    assert code == 0 and "loading scripts 1/15" in text and "archiving files " in text


def test_an_error_starts_on_a_clean_line(tmp_path):
    """A build that stops on an error while a job is rendering: the line is erased before the
    message (the job never ended its phase)."""
    failing = {"revision": "a2", "down": "a1", "message": "reads the database", "body": '''
        def upgrade():
            op.get_bind().execute(sa.text("SELECT 1")).fetchall()

        def downgrade():
            pass
    '''}
    write_project(tmp_path, [CREATE_T, failing])
    controller_env = {key: value for key, value in os.environ.items() if key != "DISTILL_JOBS"}
    code, text = _on_a_terminal([sys.executable, "-m", "distill", "-C", str(tmp_path), "build",
                                 "--dialect", "sqlite", "--out", str(tmp_path / "b")], 80,
                                {**controller_env, "DISTILL_JOBS": "1"})
    assert code != 0 and "rendering sqlite up 1/2" in text, text
    before, _, after = text.partition("distill: error: ")
    assert after and before.endswith("\r\x1b[K"), text
    assert not (tmp_path / "b").exists()


def test_elapsed_counts_from_the_command_and_the_estimate_weighs_each_stage(monkeypatch):
    """The elapsed time counts from the command's start, not the phase's; a quick first two
    stages do not make a slow third one look done (the old estimate, by shares of stages, said
    ~0s left here for the last third of the work)."""
    from distill import progress

    clock = [100.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(progress, "shown", lambda: True)
    progress.begin()
    clock[0] += 40  # earlier phases of the command
    phase = progress.Progress(["sqlite up"], [10], ("rendering", "formatting", "writing"))
    lines = []
    monkeypatch.setattr(progress, "_width", lambda: 200)
    monkeypatch.setattr(progress.sys.stderr, "write", lambda text: lines.append(text.strip("\r").replace("\x1b[K", "")))
    phase.draw([1], [0])
    for stage, seconds in ((0, 0.03), (1, 0.03), (2, 1.0)):  # per unit: rendering and formatting fast, writing slow
        for count in range(1, 11 if stage < 2 else 3):
            clock[0] += seconds
            phase.draw([count], [stage])
        if stage < 2:
            phase.draw([0], [stage + 1])
    assert lines[-1].startswith("42s, ~8s left: writing sqlite up 2/10"), lines[-1]
    progress._line_open = False
