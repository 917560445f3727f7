"""The issue 8 targets, measured side by side in ONE run: raw Alembic CLI vs distill.

    .venv/bin/python benchmarks/run.py [--small]      (--small: 1/10 of the sizes, for a smoke run)

Every figure is wall-clock time of whole processes (both sides pay their own start-up and load
every revision script), except planning, which is timed in-process for both. Target 1 is run
three times in turn, target 2 twice, comparing the best of each side (every run is kept): on this
VM the kernel's cost of creating files varies several-fold from minute to minute. Ratios are
printed and written to benchmarks/results.json; README.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from generate_history import generate
from issue19 import record

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DIALECTS = ("postgresql", "mysql", "sqlite")
ROUNDS = 3
SHM = Path("/dev/shm")


def timed(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """(seconds, peak RSS in MB of the process and its children)"""
    start = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    peak_kb = int(result.stderr.strip().splitlines()[-1])
    return elapsed, peak_kb // 1024


def alembic(project: Path, dialect: str, verb: str, rng: str) -> float:
    return timed([str(BIN / "alembic"), "-x", f"dialect={dialect}", verb, rng, "--sql"], project)[0]


def distill_build(project: Path, out: Path) -> tuple[float, int]:
    # A fresh directory, and nothing deleted just before: on this machine's ext4 (online discard)
    # creating files right after deleting thousands costs seconds of kernel time.
    assert not out.exists()
    return timed([str(BIN / "distill"), "build", "--out", str(out), "--dialect", ",".join(DIALECTS),
                  "--archive"], project)


def file_creation_probe(folder: Path) -> float:
    """Seconds to create 6,000 files of 1.5 KB (what a 1,000-revision, 3-dialect bundle creates):
    on this VM it ranges from 0.3 s to over 3 s, for minutes after files are deleted en masse."""
    folder.mkdir()
    start = time.perf_counter()
    for i in range(6000):
        (folder / f"{i:05d}.sql").write_bytes(b"x" * 1500)
    return time.perf_counter() - start


def planning(project: Path) -> tuple[float, float]:
    code = f"""
import json, sys, time
sys.path.insert(0, {str(HERE.parent / 'src')!r})
from distill.config import load
from distill.history.scripts import History
from distill.history.plan import make_plan
history = History(load())
start = time.perf_counter(); alembic_steps = history.script._upgrade_revs("heads", None)
alembic_s = time.perf_counter() - start
start = time.perf_counter(); plan = make_plan(history, "base", "heads")
distill_s = time.perf_counter() - start
assert [s.revision.revision for s in alembic_steps] == [s.revision for s in plan.steps]
print(json.dumps([alembic_s, distill_s]))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True,
                         check=True)
    return tuple(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    scale = 10 if args.small else 1
    n1, n10, merges = 1000 // scale, 10000 // scale, 4000 // scale
    work = Path(tempfile.mkdtemp(prefix="distill-bench-"))
    memory = Path(tempfile.mkdtemp(prefix="distill-bench-", dir=SHM)) if SHM.is_dir() else None
    subprocess.run(["sync"], check=False)
    results: dict = {"machine": {"cores": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform()},
                     "versions": {p: metadata.version(p) for p in ("alembic", "sqlalchemy", "sqlparse")}}
    try:
        small = generate(work / f"linear{n1}", n1)
        large = generate(work / f"linear{n10}", n10)
        merge = generate(work / f"merges{merges}", merges, "merges")

        # Writing 15,000 revision scripts leaves dirty pages: flush them now, not during a timing.
        subprocess.run(["sync"], check=False)

        # 1. a release of N1 revisions for three dialects vs the six raw Alembic runs, ROUNDS
        # times in turn (this VM's file-creation cost varies several-fold from minute to minute):
        # the best of each side, and every pair's ratio.
        raws, builds, probes, in_memory = [], [], [], []
        for round_ in range(ROUNDS):
            raws.append(sum(alembic(small, d, verb, rng) for d in DIALECTS
                            for verb, rng in (("upgrade", "base:heads"), ("downgrade", "heads:base"))))
            probes.append(file_creation_probe(work / f"probe-{round_}"))
            builds.append(distill_build(small, work / f"bundle1-{round_}")[0])
            if memory:  # the same build into tmpfs: what the disk adds
                in_memory.append(distill_build(small, memory / f"bundle1-{round_}")[0])
        raw, build1 = min(raws), min(builds)
        seen = [b / r for b, r in zip(builds, raws, strict=True)]
        results["1_release"] = {"revisions": n1, "raw_alembic_6_runs_s": raw, "distill_release_s": build1,
                                "ratio": build1 / raw, "target": "<= 0.5", "rounds": ROUNDS,
                                "raw_runs_s": raws, "distill_runs_s": builds,
                                "ratios_seen": [min(seen), max(seen)],
                                "creating_6000_small_files_s": probes,
                                "distill_release_into_tmpfs_s": in_memory}
        print(f"1. {n1} revisions, release for 3 dialects: distill {build1:.2f} s, raw alembic x6 "
              f"{raw:.2f} s (best of {ROUNDS}), ratio {build1 / raw:.3f} (pairs: {min(seen):.3f} to "
              f"{max(seen):.3f}) (target <= 0.5); creating 6,000 small files took "
              f"{', '.join(f'{p:.2f}' for p in probes)} s; into tmpfs: "
              f"{', '.join(f'{t:.2f}' for t in in_memory) or 'n/a'} s", flush=True)

        # 2. downgrade head:base of N10 revisions, one dialect: two rounds in turn, best of each
        raw_downs, downs = [], []
        for round_ in range(2):
            raw_downs.append(alembic(large, "postgresql", "downgrade", "heads:base"))
            downs.append(timed([str(BIN / "distill"), "sql", "--down", "--from", "heads", "--to", "base",
                                "--allow-base", "--dialect", "postgresql", "-o",
                                str(work / f"down-{round_}.sql")], large)[0])
        raw_down, down = min(raw_downs), min(downs)
        results["2_downgrade"] = {"revisions": n10, "raw_alembic_s": raw_down, "distill_s": down,
                                  "ratio": down / raw_down, "target": "<= 0.1", "rounds": 2,
                                  "raw_runs_s": raw_downs, "distill_runs_s": downs}
        print(f"2. {n10} revisions, downgrade head:base: distill {down:.2f} s, raw alembic "
              f"{raw_down:.2f} s (best of 2), ratio {down / raw_down:.3f} (target <= 0.1)", flush=True)

        # 3 and 5. the same release for N10 revisions: linear growth and peak memory
        build10, peak = distill_build(large, work / "bundle10")
        results["3_linear"] = {"small_s": build1, "large_s": build10, "ratio": build10 / build1,
                               "target": f"<= {1.1 * n10 / n1:.0f}"}
        results["5_memory"] = {"revisions": n10, "peak_mb": peak, "target": "< 300"}
        print(f"3. release of {n10} vs {n1} revisions: {build10:.2f} s vs {build1:.2f} s, ratio "
              f"{build10 / build1:.2f} (target <= {1.1 * n10 / n1:.0f})", flush=True)
        print(f"5. peak memory of the {n10}-revision release: {peak} MB (target < 300)", flush=True)

        # 4. ordering a merge-heavy history
        alembic_s, distill_s = planning(merge)
        results["4_planning"] = {"revisions": merges, "alembic_s": alembic_s, "distill_s": distill_s,
                                 "ratio": distill_s / alembic_s, "target": "<= 0.2"}
        print(f"4. {merges} merge-heavy revisions, planning: distill {distill_s:.3f} s, alembic "
              f"{alembic_s:.3f} s, ratio {distill_s / alembic_s:.4f} (target <= 0.2)", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if memory:
            shutil.rmtree(memory, ignore_errors=True)
    if not args.small:
        record(None, results)  # issue19.py's and cache.py's figures kept


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_STACK, resource.getrlimit(resource.RLIMIT_STACK))
    main()
