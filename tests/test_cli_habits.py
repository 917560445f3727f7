"""Command-line habits: a usage error (a typo in a dialect, a command, an option) exits 2 and
suggests the name meant; the group's options also work after the command; a spec that is no
revision names the release versions."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("args", "meant"), [
    (["check", "--dialect", "mysq"], "mysql"),
    (["check", "--dialect", "sqlite,postgres"], "postgresql"),
    (["sql", "--dialect", "postgres"], "postgresql"),
    (["sql", "--dialect", "sqlit"], "sqlite"),
    (["build", "--dialect", "mariadb,mysq", "--out", "x"], "mysql"),
    (["release", "1.0", "--dialect", "orcale"], "oracle"),
    (["rehearse", "--dialect", "mssq", "x"], "mssql"),
])
def test_an_unknown_dialect_is_a_usage_error_with_a_suggestion(tmp_path, args, meant):
    result = run_distill(args, REPO)
    assert result.returncode == 2 and f"did you mean {meant!r}?" in result.stderr, result.stderr
    assert result.stdout == "" and not (REPO / "x").exists()


def test_a_configured_dialect_typo_is_named_with_a_suggestion(tmp_path):
    write_project(tmp_path, [CREATE_T], distill_toml='[tool.distill]\ndialects = ["postgres"]\n')
    result = run_distill(["check"], tmp_path)
    assert result.returncode != 0 and "unknown dialect 'postgres'" in result.stderr
    assert "did you mean 'postgresql'?" in result.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["check", "--fail-on", "destructiv"], "did you mean 'destructive'?"),  # was exit 1, the findings code
    (["sql", "--dialect", "sqlite", "--lock-timeout", "5"], "'5' is not a duration"),
    (["build", "--out", "x", "--statement-timeout", "abc"], "'abc' is not a duration"),
    (["stauts"], "Did you mean 'status'?"),
    (["check", "--fial-on", "all"], "Did you mean '--fail-on'?"),
])
def test_a_typo_in_a_command_or_an_option_is_a_usage_error_with_a_suggestion(args, says):
    result = run_distill(args, REPO)
    assert result.returncode == 2 and says in result.stderr, result.stderr


def test_the_groups_options_also_follow_the_command(tmp_path):
    project = write_project(tmp_path / "p", [CREATE_T])
    before = run_distill(["-q", "-C", project, "plan"], tmp_path)
    assert before.returncode == 0 and "1 step(s)" in before.stdout
    for args in (["plan", "-q", "-C", project], ["plan", "--directory", project, "--quiet"],
                 ["plan", f"--directory={project}"], ["sql", "--dialect", "sqlite", "-q", "-C", project],
                 ["plan", "--config", project / "alembic.ini"]):
        result = run_distill(args, tmp_path if "--config" not in args else project)
        assert result.returncode == 0 and ("1 step(s)" in result.stdout or "CREATE TABLE t" in result.stdout), args
    # an option's value that looks like one of them stays the value
    result = run_distill(["plan", "--to", "-q", "-C", project], tmp_path)
    assert result.returncode == 1 and "revision '-q'" in result.stderr, result.stderr
    # after --, nothing moves
    assert run_distill(["plan", "--", "-q"], project).returncode == 2


def test_a_spec_that_is_no_release_and_no_revision_names_the_releases(tmp_path):
    result = run_distill(["plan", "--to", "1.2"], REPO)
    assert result.returncode == 1 and "release version of [tool.distill.releases] (1.0, 1.1, 2.0, 2.1)" \
        in result.stderr, result.stderr
    result = run_distill(["plan", "--to", "1.2.3"], REPO)
    assert result.returncode == 1 and "Release versions ([tool.distill.releases]): 1.0, 1.1" in result.stderr
    project = write_project(tmp_path, [CREATE_T])
    result = run_distill(["plan", "--to", "1.2"], project)
    assert result.returncode == 1 and "release version of [tool.distill.releases] (none configured)" \
        in result.stderr, result.stderr
