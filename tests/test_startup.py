"""Start-up: ``distill --help`` and ``--version`` import none of Alembic, SQLAlchemy, sqlparse or
mako (they are what made every command take half a second before it did anything); a command
that runs imports them when it needs them. Speed itself is measured in benchmarks/."""

from __future__ import annotations

import json
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


def _imported(*args: str) -> tuple[int, list[str], str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(args=list(args), heavy=HEAVY)], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
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
