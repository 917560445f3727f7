"""The progress line: on stderr when it is a terminal (steps done per dialect and direction),
nothing otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_progress_only_on_a_terminal(tmp_path):
    args = [sys.executable, "-m", "distill", "build", "--to", "6f4a", "--dialect", "postgresql,sqlite"]
    quiet = subprocess.run([*args, "--out", str(tmp_path / "a")], cwd=REPO, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    controller, terminal = pty.openpty()
    try:
        shown = subprocess.run([*args, "--out", str(tmp_path / "b")], cwd=REPO, stdout=subprocess.PIPE,
                               stderr=terminal, timeout=300)
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
    assert shown.returncode == 0
    text = output.decode(errors="replace")
    assert "24/24 steps" in text and "postgresql up 6/6" in text and "sqlite down 6/6" in text
