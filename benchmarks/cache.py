"""Issue 32's targets, side by side in one run: cold and warm ``check`` and release (``build``) with
the render cache, against six raw ``alembic --sql`` runs; written to results.json under "issue32".

    .venv/bin/python benchmarks/cache.py [--small] [--rounds N]   (--small: 100 revisions)

Each round runs, in turn: the six raw runs; distill with an empty cache (cold); with --no-cache
(today's work, for "cold is no slower"); with the cache that cold run left (warm, nothing
changed); after editing one revision (a new comment each round: one step renders again). Every
side's best is compared with the raw runs' best, and every pair's ratio kept (the VM is shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from generate_history import generate
from issue19 import BIN, DIALECTS, record, six_raw_runs


def _seconds(cmd: list[str], cwd: Path, cache: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "XDG_CACHE_HOME": str(cache)})
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def _as_installed() -> None:
    """distill's own bytecode written, as pip writes it when it installs the wheel: the repository's
    venv is an editable install, and with PYTHONDONTWRITEBYTECODE (set on this machine) every run
    would compile distill's 150 modules again (0.08 s per process; Alembic's and SQLAlchemy's
    bytecode is in site-packages, as for the raw runs)."""
    import compileall

    import distill
    compileall.compile_dir(str(Path(distill.__file__).parent), quiet=1)


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class Bench:
    def __init__(self, project: Path, work: Path, command: str) -> None:
        self.project, self.work, self.command, self.count = project, work, command, 0
        self.cache = work / f"cache-{command}"

    def run(self, *extra: str) -> float:
        self.count += 1
        if self.command == "check":
            cmd = [str(BIN / "distill"), "check", "--dialect", ",".join(DIALECTS), *extra]
        else:
            out = self.work / f"bundle-{self.count}"
            # one release name (it is in the bundle: the runbook's title), as `release` has
            cmd = [str(BIN / "distill"), "build", "--out", str(out), "--name", "bench",
                   "--dialect", ",".join(DIALECTS), "--archive", *extra]
        seconds = _seconds(cmd, self.project, self.cache)
        if self.command != "check":
            shutil.rmtree(self.work / f"bundle-{self.count}", ignore_errors=True)
            (self.work / f"bundle-{self.count}.tar.gz").unlink(missing_ok=True)
        return seconds

    def edit_one(self, round_number: int) -> None:
        """A new comment in the revision in the middle of the history."""
        scripts = sorted((self.project / "migrations" / "versions").glob("*.py"))
        path = scripts[len(scripts) // 2]
        path.write_text(path.read_text() + f"\n# benchmark edit {self.command} {round_number}\n")

    def edit_helper(self, round_number: int) -> None:
        """A new value in the helper module every tenth revision imports."""
        (self.project / "bench_helper.py").write_text(f'NOTE = "benchmark {self.command} {round_number}"\n')

    def entries(self) -> int:
        return sum(1 for p in self.cache.rglob("*") if p.is_file())

    def round(self, number: int) -> dict[str, float]:
        times = {"raw": six_raw_runs(self.project)}
        shutil.rmtree(self.cache, ignore_errors=True)
        times["cold"] = self.run()
        times["no_cache"] = self.run("--no-cache")
        times["warm"] = self.run()
        self.edit_one(number)
        times["one_edited"] = self.run()
        if self.command == "check":  # how many steps render again (one entry per dialect and direction)
            before = self.entries()
            self.edit_helper(number)
            times["helper_edited"] = self.run()
            # its whole result is rewritten in place (the same key): only renderings are new files
            times["helper_steps_rendered"] = (self.entries() - before) / (2 * len(DIALECTS))
        times["load"] = _load()
        return times


def with_helper(project: Path, every: int = 10) -> None:
    """Every ``every``-th revision imports a helper module of the project and reads it in
    upgrade() (issue 32: an edited helper renders again only those revisions)."""
    ini = project / "alembic.ini"
    ini.write_text(ini.read_text().replace("[alembic]\n", "[alembic]\nprepend_sys_path = .\n"))
    (project / "bench_helper.py").write_text('NOTE = "benchmark"\n')
    for index, path in enumerate(sorted((project / "migrations" / "versions").glob("*.py"))):
        if index % every == 0:
            text = path.read_text().replace("from alembic import op\n",
                                            "from alembic import op\n\nimport bench_helper\n")
            path.write_text(text.replace("def upgrade():\n",
                                         "def upgrade():\n    assert bench_helper.NOTE\n"))


def summary(rounds: list[dict]) -> dict:
    raw = min(r["raw"] for r in rounds)
    out: dict = {"raw_best_s": raw, "rounds": rounds}
    for side in ("cold", "no_cache", "warm", "one_edited", "helper_edited"):
        if side not in rounds[0]:
            continue
        best = min(r[side] for r in rounds)
        pairs = [r[side] / r["raw"] for r in rounds]
        out[side] = {"best_s": best, "ratio": best / raw, "pairs": [min(pairs), max(pairs)]}
    if "helper_steps_rendered" in rounds[0]:
        out["helper_steps_rendered"] = [r["helper_steps_rendered"] for r in rounds]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    n = 100 if args.small else 1000
    _as_installed()
    work = Path(tempfile.mkdtemp(prefix="distill-bench32-"))
    results: dict = {"revisions": n, "load_at_start": _load()}
    try:
        for shape in ("varied", "linear"):
            project = generate(work / shape, n, shape)
            with_helper(project)
            for command in ("check", "build"):
                bench = Bench(project, work, command)
                rounds = [bench.round(i) for i in range(args.rounds)]
                results[f"{command}_{shape}"] = found = summary(rounds)
                print(f"{command} {shape}: raw x6 {found['raw_best_s']:.2f} s; " + "; ".join(
                    f"{side} {found[side]['best_s']:.2f} s = {found[side]['ratio']:.3f}x"
                    for side in ("cold", "no_cache", "warm", "one_edited", "helper_edited") if side in found)
                    + (f"; steps rendered after the helper edit: {found['helper_steps_rendered']}"
                       if "helper_steps_rendered" in found else "")
                    + f" (load {rounds[-1]['load']})", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_at_end"] = _load()
    if not args.small:
        record("issue32", results)


if __name__ == "__main__":
    main()
