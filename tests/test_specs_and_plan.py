"""Revision specs (everything Alembic accepts, release versions, several starts) and plans."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from projects import write_project
from runner import run_distill

from distill.errors import RevisionError
from distill.history.plan import make_plan
from distill.history.specs import resolve

REPO = Path(__file__).resolve().parent.parent
MERGE = "bc9f1b0c4d11"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("base", ()),
        ("heads", ("f03d6b5a4c15",)),
        ("head", ("f03d6b5a4c15",)),
        ("1a0f3c5e7b01", ("1a0f3c5e7b01",)),
        ("1a0f", ("1a0f3c5e7b01",)),
        ("reviews", ("8b6c4e3f7a08",)),
        ("reviews@head", ("f03d6b5a4c15",)),
        ("1.0", ("6f4a6c5d9e06",)),  # release versions from [tool.distill.releases]
        ("1.1", (MERGE,)),
        ("8b6c,9c7d", ("8b6c4e3f7a08", "9c7d3f2a6b09")),
        ("1a0f+2", ("3c1d9e8f2a03",)),
        ("ef2c-2", ("ab3a0c9d3e12",)),
        ("head-1", ("ef2c8e7f1a14",)),
    ],
)
def test_resolve(example_history, spec, expected):
    assert resolve(example_history, spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("7a5b+1", "branches"),  # the branch point has two children
        (f"{MERGE}-1", "is a merge"),
        ("ab", "too short"),
        ("nope", "no revision matches"),
    ],
)
def test_resolve_errors(example_history, spec, fragment):
    with pytest.raises(RevisionError, match=fragment):
        resolve(example_history, spec)


def test_relative_target_counts_from_the_start(example_history):
    plan = make_plan(example_history, "2b7e", "+2")
    assert [s.revision for s in plan.steps] == ["3c1d9e8f2a03", "4d2e8a7b1c04"]


def test_plan_across_branch_and_merge(example_history):
    plan = make_plan(example_history, "6f4a", MERGE)
    assert [s.revision for s in plan.steps] == [
        "7a5b5d4e8f07", "9c7d3f2a6b09", "8b6c4e3f7a08", "ab8e2a1b5c10", MERGE,
    ]
    by_rev = {s.revision: s for s in plan.steps}
    assert by_rev["7a5b5d4e8f07"].is_branch_point
    assert by_rev[MERGE].is_merge and by_rev[MERGE].from_revisions == ("ab8e2a1b5c10", "9c7d3f2a6b09")
    assert by_rev["ab8e2a1b5c10"].dependencies == ("9c7d3f2a6b09",)
    assert by_rev["8b6c4e3f7a08"].branch_labels == ("reviews",)


def test_plan_from_two_heads_and_back_down(example_history):
    up = make_plan(example_history, "8b6c,9c7d", MERGE)
    assert [s.revision for s in up.steps] == ["ab8e2a1b5c10", MERGE]
    down = make_plan(example_history, MERGE, "7a5b", down=True)
    assert [s.direction for s in down.steps] == ["downgrade"] * 4
    assert down.steps[0].revision == MERGE and down.steps[0].to_revisions == (
        "ab8e2a1b5c10", "9c7d3f2a6b09")


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_distill(list(args), REPO, env, timeout=120)  # a process where env needs one


def test_plan_json_is_stable_and_complete():
    result = _cli("plan", "--from", "1.0", "--to", "1.1", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["direction"] == "upgrade" and data["from"] == ["6f4a6c5d9e06"]
    merge = data["steps"][-1]
    assert merge == {
        "revision": MERGE, "direction": "upgrade", "message": "merge the reviews branch into the main line",
        "from": ["ab8e2a1b5c10", "9c7d3f2a6b09"], "to": [MERGE],
        "down_revisions": ["ab8e2a1b5c10", "9c7d3f2a6b09"], "depends_on": [],
        "branch_labels": ["reviews"], "merge_point": True, "branch_point": False,
        "script": "examples/bookshop/migrations/versions/bc9f1b0c4d11_merge_reviews.py",
    }
    assert _cli("plan", "--from", "1.0", "--to", "1.1", "--json").stdout == result.stdout


def test_sql_output_is_the_same_bytes_whatever_the_hash_seed_and_clean_on_stdout():
    outputs = set()
    for seed in ("0", "1", "12345"):
        result = _cli("sql", "--dialect", "sqlite", env={"PYTHONHASHSEED": seed, "TZ": "Asia/Tokyo"})
        assert result.returncode == 0, result.stderr
        outputs.add(result.stdout)
    assert len(outputs) == 1
    text = outputs.pop()
    # what the revision printed is a comment in the SQL, alembic's logging is not in the output
    assert "\n-- NOTE: books.updated_at is maintained by trigger trg_books_touch\n" in text
    assert "INFO" not in text and str(REPO) not in text


def test_bare_relative_counts_from_the_other_end_even_from_base(example_history):
    from distill.history.plan import make_plan
    assert [s.revision for s in make_plan(example_history, "base", "+2").steps] == ["1a0f3c5e7b01", "2b7e41d09c02"]
    down = make_plan(example_history, "3c1d", "-1", down=True)
    assert [s.revision for s in down.steps] == ["3c1d9e8f2a03"] and down.target == ("2b7e41d09c02",)


def test_a_prefix_needs_four_characters(example_history):
    from distill.errors import RevisionError
    from distill.history.specs import resolve
    with pytest.raises(RevisionError, match="'3c1' is too short: give a revision id, or a prefix of at least four"):
        resolve(example_history, "3c1")
    assert resolve(example_history, "3c1d") == ("3c1d9e8f2a03",)
    assert resolve(example_history, "reviews@head")  # a label is not a prefix


def _table_step(revision: str, down, depends_on: str | None = None) -> dict:
    extra = f"depends_on = {depends_on!r}\n" if depends_on else ""
    return {"revision": revision, "down": down, "body": extra + f'''
def upgrade():
    op.create_table("t_{revision}", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("t_{revision}")
'''}


# r08 merges r05 and r07 and depends on r06 (a head of its own branch then); r10 merges r06 and
# r09, and r06 is below r09 through r08's depends_on
MERGES_OVER_DEPENDENCIES = [
    _table_step("r00", None), _table_step("r01", "r00"), _table_step("r02", "r01"), _table_step("r03", "r02"),
    _table_step("r04", "r03"), _table_step("r05", "r04"), _table_step("r06", "r02"), _table_step("r07", "r04"),
    _table_step("r08", ("r05", "r07"), depends_on="r06"), _table_step("r09", "r08"),
    _table_step("r10", ("r06", "r09")), _table_step("r11", "r03"),
]


@pytest.mark.parametrize("shadow", [[], ["--shadow"]])
def test_each_step_of_merges_over_dependencies_checks_on_its_own(tmp_path, shadow):
    """A step checked on its own starts from the rows Alembic's bookkeeping updates: its parents
    and its dependencies (a traceback, KeyError 'r06', before: it started from its declared
    parents, and Alembic updated a row of the dependency it was not given)."""
    project = write_project(tmp_path / "p", MERGES_OVER_DEPENDENCIES)
    result = run_distill(["check", "--dialect", "sqlite", *shadow], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "OK: every revision renders" in result.stdout
