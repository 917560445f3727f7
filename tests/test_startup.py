"""Start-up: ``distill --help`` and ``--version`` import none of Alembic, SQLAlchemy, sqlparse or
mako (they are what made every command take half a second before it did anything); a command
that runs imports them when it needs them, and a check or a build whose whole result the render
cache holds needs none of them. Speed itself is measured in benchmarks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("alembic", "sqlalchemy", "sqlparse", "mako")

PROBE = """
import json, sys
from distill.cli import run
sys.argv = ["distill", *{args!r}]
code = run()
print(json.dumps([code, sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))]))
"""


def _imported(*args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> tuple[int, list[str], str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args), heavy=HEAVY)], cwd=cwd,
                            capture_output=True, text=True, timeout=120, env=env)
    code, heavy = json.loads(result.stdout.strip().splitlines()[-1])
    return code, heavy, result.stdout


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["completion", "bash"]])
def test_help_and_version_import_nothing_heavy(args):
    code, heavy, output = _imported(*args)
    assert code == 0 and heavy == [], heavy
    assert "distill" in output


def test_a_command_imports_what_it_needs():
    code, heavy, output = _imported("plan", "--to", "6f4a")
    assert code == 0 and {"alembic", "sqlalchemy"} <= set(heavy) and "6f4a" in output


def test_a_result_found_whole_in_the_cache_imports_nothing_heavy(tmp_path):
    """The second check and the second build of an unchanged project say the same without
    importing Alembic, SQLAlchemy, sqlparse or mako (0.3 s of every warm run)."""
    from projects import CREATE_T, write_project
    root = write_project(tmp_path / "p", [CREATE_T], distill_toml='[tool.distill]\ndialects = ["sqlite"]\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    for args in (["check"], ["build", "--out", str(tmp_path / "b{}"), "--name", "r1", "--archive"]):
        outputs = []
        for run in (1, 2):
            code, heavy, output = _imported(*[a.format(run) for a in args], cwd=root, env=env)
            assert code == 0, output
            outputs.append(output.rsplit("\n", 2)[0].replace(str(tmp_path / f"b{run}"), "B"))  # not the probe's line
            assert ("alembic" in heavy) == (run == 1), (args, run, heavy)
        assert heavy == [] and outputs[0] == outputs[1]
        if args[0] == "build":  # the same files (the archives differ by their top folder's name)
            trees = [{p.relative_to(tmp_path / b): p.read_bytes() for p in (tmp_path / b).rglob("*") if p.is_file()}
                     for b in ("b1", "b2")]
            assert trees[0] == trees[1] and len(trees[0]) > 5
