"""What each speed-up that issue 12 questioned saves, measured on its own, side by side.

    .venv/bin/python benchmarks/speedups.py [--revisions 10000]

* loading: a whole history loaded in a fresh process (no bytecode cache) with the second core
  compiling half of the scripts (history/parallel_compile.py) and without it;
* manifest JSON: bundle/json_writer.py against the standard library's indented encoder on the
  manifest of a build of that history (the same bytes, checked);
* irreversibility verdicts: statements/irreversible.py reads the bytecode first and parses a
  downgrade's own source lines only when the bytecode cannot tell; timed against parsing every
  downgrade's source.

Best of three rounds in turn for each pair.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from generate_history import generate

from distill.alembic_compat import revision_ids
from distill.bundle.json_writer import write_json
from distill.config import load
from distill.history.scripts import History
from distill.statements import irreversible
from distill.statements.irreversible import script_verdict

ROUNDS = 3
_LOAD = """
import sys, time
sys.dont_write_bytecode = True
from distill.config import load
from distill.history import parallel_compile
if sys.argv[1] == "off":
    parallel_compile.MIN_FILES = 10**9
from distill.history.scripts import History
start = time.perf_counter()
History(load())
print(time.perf_counter() - start)
"""


def _load_seconds(project: Path, mode: str) -> float:
    out = subprocess.run([sys.executable, "-c", _LOAD, mode], cwd=project, capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    return float(out.stdout.strip().splitlines()[-1])


def _best(pair: dict[str, list[float]]) -> dict[str, float]:
    return {name: min(values) for name, values in pair.items()}


def loading(project: Path) -> dict[str, float]:
    runs: dict[str, list[float]] = {"second core": [], "one core": []}
    for _ in range(ROUNDS):
        runs["second core"].append(_load_seconds(project, "on"))
        runs["one core"].append(_load_seconds(project, "off"))
    return _best(runs)


def manifest_json(project: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(Path(sys.executable).parent / "distill"), "build", "--out", f"{tmp}/b",
                        "--dialect", "sqlite", "--format", "none"], cwd=project, check=True,
                       capture_output=True)
        manifest = json.loads(Path(f"{tmp}/b/manifest.json").read_text(encoding="utf-8"))
    runs: dict[str, list[float]] = {"json_writer": [], "json.dump": []}
    outputs = {}
    for _ in range(ROUNDS):
        for name in runs:
            sink = io.StringIO()
            start = time.perf_counter()
            if name == "json_writer":
                write_json(manifest, sink.write)
            else:
                json.dump(manifest, sink, indent=2, sort_keys=True, ensure_ascii=False)
            runs[name].append(time.perf_counter() - start)
            outputs[name] = sink.getvalue()
    assert outputs["json_writer"] == outputs["json.dump"]
    return {**_best(runs), "MB": len(outputs["json.dump"]) / 1e6}


def verdicts(project: Path) -> dict[str, float]:
    old_cwd = os.getcwd()
    os.chdir(project)
    try:
        history = History(load())
    finally:
        os.chdir(old_cwd)
    scripts = [history.get(r) for r in revision_ids(history.script.revision_map)]
    runs: dict[str, list[float]] = {"source lines": [], "bytecode first": []}
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for s in scripts:
            script_verdict(s.path, s.module)
        runs["bytecode first"].append(time.perf_counter() - start)
        with mock.patch.object(irreversible, "_plainly_does_something", lambda function: False):
            start = time.perf_counter()
            for s in scripts:
                script_verdict(s.path, s.module)
            runs["source lines"].append(time.perf_counter() - start)
    return _best(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--revisions", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = generate(Path(tmp) / "history", args.revisions, "linear")
        subprocess.run(["sync"], check=False)
        results = {"revisions": args.revisions, "loading": loading(project),
                   "manifest_json": manifest_json(project), "verdicts": verdicts(project)}
    print(json.dumps(results, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
