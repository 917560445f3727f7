"""Per-release dialects: ``"1.1" = { to = "b2", dialects = ["postgresql", "sqlite"] }`` in
[tool.distill.releases] is honoured by release (the bundle's dialects), verify --rebuild (a
declared dialect the bundle lacks is a finding; the project's others are not) and status (a
bundle without the database's dialect does not apply); the table is validated strictly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import online
from projects import run_distill, write_project
from test_status import NOTE  # the same second revision

from distill.config import load
from distill.errors import ConfigError

ORDERS = {"revision": "a1", "message": "orders", "body": '''
    def upgrade():
        op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("orders")
'''}
PROJECT = 'project = "shop"\ndialects = ["postgresql", "mysql", "sqlite"]\n'


def _project(tmp_path: Path, releases: str) -> Path:
    return write_project(tmp_path / "project", [ORDERS, NOTE], distill_toml=PROJECT + "[releases]\n" + releases)


def _dialects(bundle: Path) -> list[str]:
    return json.loads((bundle / "manifest.json").read_text())["options"]["dialects"]


def test_a_release_leaves_a_dialect_out_and_verifies(tmp_path):
    """`release 1.0 --dialect postgresql,sqlite`, then `verify --rebuild`, was NOT VERIFIED for
    ever: the project's dialects include mysql. The release now declares its dialects."""
    project = _project(tmp_path, '"1.0" = { to = "a1", dialects = ["postgresql", "sqlite"] }\n"1.1" = "b2"\n')
    assert load(project).releases == {"1.0": "a1", "1.1": "b2"}
    released = run_distill(["release", "1.0", "--dialect", "postgresql,sqlite"], project)
    assert released.returncode == 0, released.stderr
    verified = run_distill(["verify", "releases/1.0", "--rebuild"], project)
    assert verified.returncode == 0 and ": INTACT (" in verified.stdout, verified.stdout
    # without --dialect, release builds the dialects the release declares (the same bundle)
    again = run_distill(["release", "--all"], project)
    assert again.returncode == 0, again.stderr
    assert "releases/1.0: unchanged" in again.stdout + again.stderr
    assert _dialects(project / "releases" / "1.0") == ["postgresql", "sqlite"]
    assert _dialects(project / "releases" / "1.1") == ["postgresql", "mysql", "sqlite"]  # the project's
    for version in ("1.0", "1.1"):
        assert run_distill(["verify", f"releases/{version}", "--rebuild"], project).returncode == 0


def test_a_declared_dialect_missing_from_the_bundle_is_a_finding(tmp_path):
    project = _project(tmp_path, '"1.0" = { to = "a1", dialects = ["postgresql", "sqlite"] }\n')
    assert run_distill(["release", "1.0", "--dialect", "postgresql"], project).returncode == 0
    result = run_distill(["verify", "releases/1.0", "--rebuild"], project)
    assert result.returncode == 1, result.stdout
    assert "rebuild   sqlite: release 1.0 declares this dialect in [tool.distill.releases], but the " \
           "bundle has none of its files" in result.stdout
    assert "mysql" not in result.stdout  # the project's dialect this release leaves out


def test_status_says_a_bundle_without_the_databases_dialect_does_not_apply(tmp_path):
    project = _project(tmp_path, '"1.0" = "a1"\n"1.1" = { to = "b2", dialects = ["postgresql"] }\n')
    assert run_distill(["release", "--all"], project).returncode == 0
    database = tmp_path / "shop.db"
    url = f"sqlite:///{database}"
    online(load(project), url, "upgrade", "a1")  # a SQLite database at release 1.0
    result = run_distill(["status", "--url", url], project)
    assert result.returncode == 0, result.stderr
    assert "releases/1.1 (release 1.1): starts here, but has no sqlite files: release 1.1 is " \
           "built for postgresql" in result.stdout
    assert "applies next" not in result.stdout
    given = run_distill(["status", "--url", url, "1.1", "--json"], project)
    assert given.returncode == 1  # the bundle asked about cannot be applied here
    report = json.loads(given.stdout)
    assert report["next"][0]["applies"] is False and report["next"][0]["lacks_dialect"] is True


@pytest.mark.parametrize(("releases", "says"), [
    ('"1.0" = { to = "a1", dialect = ["sqlite"] }', "release '1.0' has unknown key(s) 'dialect'; known keys are to, dialects"),
    ('"1.0" = { to = "a1", dialects = ["mysq"] }', "release '1.0': unknown dialect 'mysq'"),
    ('"1.0" = { to = "a1", dialects = [] }', "release '1.0': dialects must be a non-empty list of dialect names"),
    ('"1.0" = { to = "a1", dialects = "sqlite" }', "release '1.0': dialects must be a non-empty list"),
    ('"1.0" = { to = "a1", dialects = ["sqlite", "sqlite"] }', "release '1.0': dialects names a dialect twice"),
    ('"1.0" = { dialects = ["sqlite"] }', "release '1.0' has no revision string"),
    ('"1.0" = 1', "release '1.0' has no revision string"),
])
def test_the_releases_table_is_validated_strictly(tmp_path, releases, says):
    project = _project(tmp_path, releases + "\n")
    with pytest.raises(ConfigError, match="distill.toml: \\[tool.distill.releases\\]"):
        load(project)
    for command in (["plan"], ["release", "--all"]):
        result = run_distill(command, project)
        assert result.returncode != 0 and result.stdout == "", result.stdout  # a ConfigError
        assert result.stderr.startswith("distill: error: distill.toml: [tool.distill.releases]")
        assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert not (project / "releases").exists()  # nothing half-written
