"""What revisions print while rendering, other than SQL comments: a logger writing timestamped
lines straight to stdout (as structlog's PrintLogger does) and progress prints are console
output, not manual steps. Their times read <time>, so a bundle of such a history rebuilds byte
for byte (verify --rebuild), and the DBA still reads them in the runbook and the step's SQL.
A line printed as a SQL comment stays a manual step (tests/test_notices.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

from distill.offline.capture import masked_times

LOGGER = '''import datetime
import sys
import time


def log(event):
    """What structlog's PrintLogger writes with a TimeStamper: to sys.stdout, one line each."""
    now = datetime.datetime.now()
    sys.stdout.write(f"{now:%Y-%m-%d %H:%M:%S} [info     ] {event}\\n")
    sys.stdout.write('{"event": "%s", "timestamp": "%s"}\\n'
                     % (event, datetime.datetime.now(datetime.timezone.utc).isoformat()))
    sys.stdout.write('{"event": "%s", "timestamp": %f}\\n' % (event, time.time()))
'''
LOGGED = {"revision": "b2", "down": "a1", "message": "add n", "imports": LOGGER, "body": '''
def upgrade():
    log("adding n")
    op.add_column("t", sa.Column("n", sa.Integer))
    for n in range(3):
        print(f"batch {n}")

def downgrade():
    log("dropping n")
    op.drop_column("t", "n")
'''}
CHATTY = {"revision": "c3", "down": "b2", "message": "chatty", "body": '''
def upgrade():
    for n in range(60):
        print(f"row {n}")
    op.execute("UPDATE t SET n = 1")

def downgrade():
    op.execute("UPDATE t SET n = NULL")
'''}
EXPECTED_UP = ["<time> [info     ] adding n", '{"event": "adding n", "timestamp": "<time>"}',
               '{"event": "adding n", "timestamp": <time>}', "batch 0", "batch 1", "batch 2"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("printed"), [CREATE_T, LOGGED, CHATTY],
                         distill_toml='dialects = ["sqlite", "postgresql"]\n')


def test_a_bundle_of_a_logging_history_rebuilds_and_shows_what_was_printed(project, tmp_path):
    result = run_distill(["build", "--out", str(tmp_path / "b")], project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    verified = run_distill(["verify", str(tmp_path / "b"), "--rebuild"], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    for entry in manifest["dialects"].values():
        b2, c3 = entry["steps"][1], entry["steps"][2]
        assert b2["up"]["printed"] == EXPECTED_UP
        assert b2["down"]["printed"] == [line.replace("adding", "dropping") for line in EXPECTED_UP[:3]]
        assert c3["up"]["printed"] == [f"row {n}" for n in range(50)] + [
            "... and 10 more line(s), in the step's SQL"]
        for step in entry["steps"]:
            assert "manual_steps" not in step["up"] and "not_reproducible" not in step["up"], step
    runbook = (tmp_path / "b" / "README.md").read_text()
    assert "## Read first: manual steps" not in runbook and "## Not reproducible" not in runbook
    assert ("- step 2 `b2` (upgrade):\n\n  ```\n" + "".join(f"  {line}\n" for line in EXPECTED_UP)
            + "  ```\n") in runbook
    step_sql = (tmp_path / "b" / "sqlite" / "steps" / "0002-b2-add-n.up.sql").read_text()
    assert "\n-- <time> [info     ] adding n\n" in step_sql and "\n-- batch 2\n" in step_sql
    assert "MANUAL STEPS" not in step_sql


def test_check_finds_no_manual_steps_and_nothing_irreproducible(project):
    result = run_distill(["check", "--json"], project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["manual_steps"] == [] and report["not_reproducible"] == []


def test_sql_keeps_the_lines_as_comments_and_says_nothing_on_stderr(project):
    result = run_distill(["sql", "--dialect", "postgresql", "--to", "b2"], project)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert "".join(f"-- {line}\n\n" for line in EXPECTED_UP[:3]) in result.stdout
    assert "\n-- batch 0\n" in result.stdout


@pytest.mark.parametrize(("line", "masked"), [
    ("2026-12-07 16:40:00 [info] x", "<time> [info] x"),
    ("2026-12-07T16:40:00.123456Z go", "<time> go"),
    ("at 2026-12-07T16:40:00+00:00.", "at <time>."),
    ("2026-12-07 16:40:00,123 WARNING y", "<time> WARNING y"),
    ("16:40:00 done in 2.5s", "<time> done in 2.5s"),
    ('{"timestamp": 1796661366.046481}', '{"timestamp": <time>}'),
    ("rows before 2024-01-01: 1796661366", "rows before 2024-01-01: 1796661366"),
    ("batch 12 of 300", "batch 12 of 300"),
])
def test_times_are_masked_and_other_numbers_kept(line, masked):
    assert masked_times(line) == masked
