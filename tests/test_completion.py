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
