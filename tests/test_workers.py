"""The worker pool under distill's own SIGTERM handling: ending the pool never hangs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

LOOP = """
import signal, sys
from distill import workers
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # as distill's cli.run does
for _ in range(400):
    assert workers.run_all([lambda tick, k=k: k for k in range(6)]) == list(range(6))
print("ended")
"""


def test_ending_the_pool_never_waits_for_ever():
    """The pool ends its idle workers with SIGTERM. A worker that inherited distill's handler (an
    exit that unwinds) could leave the pool's queue lock held, and the pool waited for ever for
    the other worker: within 400 pools it hung; a worker still starting when the pool ended it could too, under load before the workers were given the default."""
    result = subprocess.run([sys.executable, "-c", LOOP], cwd=REPO, capture_output=True, text=True,
                            timeout=240, env={"PATH": "/usr/bin:/bin", "DISTILL_JOBS": "2",
                                              "PYTHONPATH": str(REPO / "src")})
    assert result.returncode == 0 and result.stdout.strip() == "ended", result.stderr[-2000:]
