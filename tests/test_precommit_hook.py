"""The pre-commit hook (.pre-commit-hooks.yaml): its entry runs distill check in a project and
fails it where check fails; its file pattern selects revision scripts and configuration only."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from projects import CREATE_T, run_distill, write_project

HOOKS = Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml"


def _hook() -> dict[str, str]:
    """The one hook's keys (flat `key: value` lines of its list item; no YAML library needed)."""
    fields = {}
    for line in HOOKS.read_text().splitlines():
        match = re.fullmatch(r"(?:- |  )(\w+): (.*)", line)
        if match:
            fields[match[1]] = match[2]
    return fields


def test_the_hook_runs_distill_check_and_fails_where_it_fails(tmp_path):
    hook = _hook()
    assert hook["id"] == "distill-check" and hook["language"] == "system"
    assert hook["pass_filenames"] == "false"
    command = shlex.split(hook["entry"])
    assert command[:2] == ["distill", "check"]
    good = write_project(tmp_path / "good", [CREATE_T])
    assert run_distill(command[1:], good).returncode == 0
    bad = write_project(tmp_path / "bad", [CREATE_T, {"revision": "b2", "down": "a1", "body": '''
        def upgrade():
            op.get_bind().execute(sa.text("SELECT 1")).scalar()

        def downgrade():
            pass
    '''}])
    assert run_distill(command[1:], bad).returncode == 1


def test_the_hook_runs_for_revision_scripts_and_configuration_only():
    files = re.compile(_hook()["files"])
    for path in ("migrations/versions/1a2b_add_t.py", "alembic.ini", "app/pyproject.toml", "distill.toml",
                 "migrations/env.py", "db/alembic/versions/x.py"):
        assert files.search(path), path
    for path in ("README.md", "app/models.py", "migrations/script.py.mako", "versions.txt"):
        assert not files.search(path), path
