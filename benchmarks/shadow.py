"""--shadow against offline rendering, side by side (issue 16's target: at most 2x on 1,000
SQLite revisions).

    .venv/bin/python benchmarks/shadow.py [--revisions 1000]

``distill sql --dialect sqlite`` on a generated linear history, offline and with ``--shadow`` (a
throwaway SQLite file that runs every statement), formatted and not, in alternating rounds; the
best of each is compared, and the two outputs are checked to be the same bytes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate_history import generate

ROUNDS = 3


def _run(project: Path, *args: str) -> tuple[float, bytes]:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "distill", "sql", "--dialect", "sqlite", *args],
                            cwd=project, capture_output=True, check=True)
    return time.perf_counter() - started, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--revisions", type=int, default=1000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "history"
        generate(project, options.revisions, "linear")
        for style in ("sqlparse", "none"):
            best = {"offline": float("inf"), "shadow": float("inf")}
            outputs = {}
            for _ in range(ROUNDS):
                for name, extra in (("offline", ()), ("shadow", ("--shadow",))):
                    seconds, outputs[name] = _run(project, "--format", style, *extra)
                    best[name] = min(best[name], seconds)
            assert outputs["offline"] == outputs["shadow"], "the shadow rendered other SQL"
            print(f"{options.revisions} revisions, --format {style}: offline {best['offline']:.2f} s, "
                  f"--shadow {best['shadow']:.2f} s: {best['shadow'] / best['offline']:.2f}x "
                  f"(target at most 2x; same bytes)")


if __name__ == "__main__":
    main()
