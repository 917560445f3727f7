"""The progress line: on stderr when it is a terminal of 80 columns (the phase and what runs,
steps done, elapsed time, an estimate; never wider than the terminal), nothing when piped or with
--quiet."""

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

REPO = Path(__file__).resolve().parent.parent


def _on_a_terminal(args: list[str], columns: int = 80) -> tuple[int, str]:
    """Run ``args`` with stderr on a pseudo-terminal of ``columns`` columns: (exit code, stderr)."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    try:
        shown = subprocess.run(args, cwd=REPO, stdout=subprocess.PIPE, stderr=terminal, timeout=300)
        os.close(terminal)
        output = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
    return shown.returncode, output.decode(errors="replace")


def _lines(text: str) -> list[str]:
    """Every state the line was drawn in, without the erase-to-end-of-line code."""
    return [part.replace("\x1b[K", "") for part in re.split(r"[\r\n]+", text) if part.strip()]


def test_progress_fits_an_80_column_terminal_and_names_its_phase(tmp_path):
    code, text = _on_a_terminal([sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect",
                                 "postgresql,mysql,sqlite,mariadb", "--out", str(tmp_path / "b")])
    assert code == 0
    lines = _lines(text)
    assert lines and all(len(line) < 80 for line in lines), lines
    assert lines[-1].startswith("rendering: 48/48 steps, ") and lines[-1].endswith("s")
    code, text = _on_a_terminal([sys.executable, "-m", "distill", "check", "--to", "6f4a", "--dialect",
                                 "sqlite"])
    assert code == 0 and "checking: 6/6 steps, " in text
    code, text = _on_a_terminal([sys.executable, "-m", "distill", "--quiet", "build", "--to", "6f4a",
                                 "--dialect", "sqlite", "--out", str(tmp_path / "q")])
    assert code == 0 and text == ""


def test_progress_only_on_a_terminal(tmp_path):
    args = [sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect", "postgresql,sqlite"]
    quiet = subprocess.run([*args, "--out", str(tmp_path / "a")], cwd=REPO, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    code, text = _on_a_terminal([*args, "--out", str(tmp_path / "b")], columns=0)  # a size-less terminal
    assert code == 0 and "rendering: 24/24 steps, " in text
