"""Shell completion: the scripts for bash, zsh and fish, and what the project's options complete
(commands, options, dialect names, release versions, revision ids), asked the way bash asks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _complete(words: str) -> list[str]:
    env = {**os.environ, "_DISTILL_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}
    result = subprocess.run([sys.executable, "-m", "distill"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [line.split(",", 1)[1] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _distill_completion distill"),
                                           ("zsh", "compdef _distill_completion distill"),
                                           ("fish", "complete --no-files --command distill")])
def test_the_script_for_each_shell(shell, marker):
    result = subprocess.run([sys.executable, "-m", "distill", "completion", shell], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0 and marker in result.stdout and "_DISTILL_COMPLETE" in result.stdout


def test_commands_options_dialects_versions_and_revisions_complete():
    assert _complete("distill st") == ["status"]
    assert "--fail-on" in _complete("distill check --f")
    assert _complete("distill build --dialect postgresql,my") == ["postgresql,mysql"]
    assert _complete("distill sql --dialect ma") == ["mariadb"]
    assert _complete("distill release 2") == ["2.0", "2.1", "2b7e41d09c02"]
    assert _complete("distill sql --from 6f") == ["6f4a6c5d9e06"]


def test_completing_a_revision_runs_no_code_of_the_project(tmp_path):
    """TAB after ``--to`` in a repository offers its revision ids and labels, read from the
    scripts as text: neither a revision script nor env.py runs (each would leave a marker file)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from projects import write_project

    marker = tmp_path / "ran"
    touch = f"open({str(marker)!r} + __name__, 'w').close()\n"
    write_project(tmp_path, [
        {"revision": "a1b2c3", "message": "first", "body": touch + "def upgrade():\n    pass\n"},
        {"revision": "d4e5f6", "down": "a1b2c3", "message": "second",
         "body": touch + "branch_labels = ('feature',)\ndef upgrade():\n    pass\n"},
    ], distill_toml='[tool.distill]\n[tool.distill.releases]\n"1.0" = "a1b2c3"\n')
    (tmp_path / "migrations" / "env.py").write_text(touch + (tmp_path / "migrations" / "env.py").read_text())
    env = {**os.environ, "_DISTILL_COMPLETE": "bash_complete", "COMP_WORDS": "distill plan --to ",
           "COMP_CWORD": "3"}
    result = subprocess.run([sys.executable, "-m", "distill"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    words = [line.split(",", 1)[1] for line in result.stdout.splitlines()]
    assert result.returncode == 0 and {"a1b2c3", "d4e5f6", "feature", "1.0", "heads"} <= set(words), result
    assert not list(tmp_path.glob("ran*"))
    assert run_plan(tmp_path) and list(tmp_path.glob("ran*"))  # (the marker works: a real run leaves it)


def run_plan(project: Path) -> bool:
    return subprocess.run([sys.executable, "-m", "distill", "plan"], cwd=project, capture_output=True,
                          timeout=120).returncode == 0


def test_a_pathological_script_costs_only_its_own_words(tmp_path):
    """``revision = 'a' + 'a' + ...`` (200,000 terms) makes ast.parse raise RecursionError (or
    MemoryError): that script is skipped, the others' ids are still offered."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from projects import write_project

    from distill.config import load
    from distill.history.declared import declared_words

    write_project(tmp_path, [
        {"revision": "a1b2c3", "message": "first", "body": "def upgrade():\n    pass\n"},
        {"revision": "d4e5f6", "down": "a1b2c3", "message": "second", "body": "def upgrade():\n    pass\n"},
        {"revision": "zz", "down": "d4e5f6", "message": "third", "body": "def upgrade():\n    pass\n"},
    ])
    script = tmp_path / "migrations" / "versions" / "003_zz.py"
    script.write_text(script.read_text().replace("revision = 'zz'", "revision = " + "+".join(["'a'"] * 200_000)))
    assert declared_words(load(tmp_path)) == {"a1b2c3", "d4e5f6"}
