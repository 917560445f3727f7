"""Issue 19's targets, side by side in one run: varied histories, check at scale, start-up, the
shadow; written to results.json under "issue19" (run.py runs issue 8's targets).

    .venv/bin/python benchmarks/issue19.py [--small]     (--small: 1/10 of the sizes)

Whole processes are timed against raw ``alembic ... --sql`` (or ``alembic history``) in
alternating rounds; each side's best is compared and every pair's ratio kept (this VM is shared
and its cost of creating files varies several-fold from minute to minute).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate_history import generate

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DIALECTS = ("postgresql", "mysql", "sqlite")
ROUNDS = 3


def seconds(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def record(name: str | None, results: dict) -> None:
    """Write ``results`` to results.json under ``name`` (None: at its top level, issue 8's
    figures), keeping what the other benchmarks wrote there."""
    path = HERE / "results.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    if name is None:
        data = {**{key: value for key, value in data.items() if key.startswith("issue")}, **results}
    else:
        data[name] = results
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def six_raw_runs(project: Path) -> float:
    return sum(seconds([str(BIN / "alembic"), "-x", f"dialect={d}", verb, rng, "--sql"], project)
               for d in DIALECTS for verb, rng in (("upgrade", "base:heads"), ("downgrade", "heads:base")))


def side_by_side(name: str, ours, theirs, rounds: int = ROUNDS) -> dict:
    """Best of ``rounds`` alternating runs of each side."""
    mine, raw = [], []
    for _ in range(rounds):
        raw.append(theirs())
        mine.append(ours())
    pairs = [m / r for m, r in zip(mine, raw, strict=True)]
    return {"what": name, "distill_s": min(mine), "raw_s": min(raw), "ratio": min(mine) / min(raw),
            "distill_runs_s": mine, "raw_runs_s": raw, "ratios_seen": [min(pairs), max(pairs)]}


def shape_share(project: Path) -> dict:
    """The share of distinct statement shapes (what distill's formatter caches on) in the
    PostgreSQL upgrade and downgrade: of the migration's own statements (the version table's
    bookkeeping, one per revision and one shape, left out), and of all."""
    code = f"""
import json, sys
sys.path.insert(0, {str(HERE.parent / 'src')!r})
from distill import dialects
from distill.config import load
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline.render import render
from distill.statements.findings import is_version_statement
from distill.statements.formatting import Formatter
from distill.statements.lexer import tokenize
from distill.statements.model import SQL
history, dialect, out = History(load()), dialects.get("postgresql"), {{}}
for direction, plan in (("upgrade", make_plan(history, "base", "heads")),
                        ("downgrade", make_plan(history, "heads", "base", down=True))):
    rendering = render(history, plan, dialect)
    statements = [s.text for s in rendering.statements() if s.kind == SQL]
    own = [t for t in statements if not is_version_statement(t, dialect, rendering.version_table)]
    shape = lambda t: Formatter(dialect)._mask(tokenize(t, dialect.lexer))[0]
    out[direction] = {{"statements": len(statements), "own_statements": len(own),
                      "distinct_share_own": len({{shape(t) for t in own}}) / len(own),
                      "distinct_share_all": len({{shape(t) for t in statements}}) / len(statements),
                      "bytes": sum(len(t.encode()) for t in statements)}}
print(json.dumps(out))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def formatting(project: Path) -> dict:
    done = subprocess.run([sys.executable, str(HERE / "format_throughput.py"), "--project", str(project),
                           "--json"], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def release_target(project: Path, work: Path, label: str, target: float) -> dict:
    count = collections.Counter()

    def build() -> float:
        count[label] += 1
        out = work / f"{label}-bundle-{count[label]}"
        return seconds([str(BIN / "distill"), "build", "--out", str(out), "--dialect", ",".join(DIALECTS),
                        "--archive"], project)
    result = side_by_side(f"{label}: release for 3 dialects vs six raw runs", build,
                          lambda: six_raw_runs(project))
    return {**result, "target": f"<= {target}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    n = 100 if args.small else 1000
    work = Path(tempfile.mkdtemp(prefix="distill-bench19-"))
    results: dict = {}
    try:
        varied, linear = generate(work / "varied", n, "varied"), generate(work / "linear", n, "linear")
        subprocess.run(["sync"], check=False)
        results["1_varied_shapes"] = {"revisions": n, **shape_share(varied), "target": ">= 0.8 distinct"}
        print("1.", json.dumps(results["1_varied_shapes"]), flush=True)
        results["2_release_varied"] = release_target(varied, work, "varied", 0.3)
        results["2_release_linear"] = release_target(linear, work, "linear", 0.25)
        for key in ("2_release_varied", "2_release_linear"):
            r = results[key]
            print(f"2. {r['what']}: {r['distill_s']:.2f} s vs {r['raw_s']:.2f} s: {r['ratio']:.3f}x "
                  f"(pairs {r['ratios_seen'][0]:.3f}-{r['ratios_seen'][1]:.3f}; target {r['target']})",
                  flush=True)
        results["3_formatting_varied"] = {**formatting(varied),
                                          "target": ">= 3x plain sqlparse and >= 0.6 MB/s"}
        print("3.", json.dumps(results["3_formatting_varied"]), flush=True)
        check = side_by_side("check of every revision, 3 dialects, vs six raw full-range runs",
                             lambda: seconds([str(BIN / "distill"), "check", "--dialect", ",".join(DIALECTS)],
                                             varied),
                             lambda: six_raw_runs(varied), rounds=2)
        results["4_check_varied"] = {**check, "target": "<= 1.0"}
        print(f"4. {check['what']}: {check['distill_s']:.2f} s vs {check['raw_s']:.2f} s: "
              f"{check['ratio']:.3f}x (target <= 1.0)", flush=True)
        example = HERE.parent / "examples" / "bookshop"
        starts = {}
        for what, cmd in (("help", ["--help"]), ("version", ["--version"]), ("plan", ["plan"])):
            starts[what] = min(seconds([str(BIN / "distill"), *cmd], example) for _ in range(10))
        history = min(seconds([str(BIN / "alembic"), "history"], example) for _ in range(10))
        results["5_startup"] = {"help_s": starts["help"], "version_s": starts["version"],
                                "plan_s": starts["plan"], "alembic_history_s": history,
                                "plan_ratio": starts["plan"] / history,
                                "target": "help, version <= 0.15 s; plan <= 1.2x alembic history"}
        print("5.", json.dumps(results["5_startup"]), flush=True)
        shadow = subprocess.run([sys.executable, str(HERE / "shadow.py"), "--revisions", str(n)],
                                capture_output=True, text=True, check=True)
        results["7_shadow"] = {"report": shadow.stdout.strip().splitlines(), "target": "<= 2x"}
        print("7.", "\n   ".join(results["7_shadow"]["report"]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not args.small:
        record("issue19", results)


if __name__ == "__main__":
    main()
