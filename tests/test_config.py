"""Where settings come from: [tool.distill], distill.toml, alembic.ini alone, pyproject
[tool.alembic], the embedded example; and alembic.ini's version_locations / prepend_sys_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import ENV_PY, run_distill, write_project

from distill import dialects
from distill.config import embedded_example, load
from distill.errors import ConfigError, NoProjectError
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline.render import render
from distill.statements.script_text import script_text

TABLE = """
def upgrade():
    op.create_table("{name}", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("{name}")
"""


def test_nothing_configured_stops_with_exit_2(tmp_path):
    with pytest.raises(NoProjectError, match="no distill or Alembic configuration in "):
        load(tmp_path)
    result = run_distill(["plan"], tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("distill: error: no distill or Alembic configuration in ")
    assert "--example runs on the bookshop example" in result.stderr


def test_the_example_on_request_or_where_a_configuration_names_it(tmp_path):
    result = run_distill(["--example", "plan"], tmp_path)
    assert result.returncode == 0 and "15 step(s)" in result.stdout.splitlines()[0]
    here = load(Path(__file__).resolve().parent.parent)  # this repository's pyproject names it
    assert here.alembic_config_path.samefile(embedded_example().alembic_config_path)


def test_alembic_ini_alone_and_distill_toml(tmp_path):
    write_project(tmp_path, [{"revision": "a00000000001", "body": TABLE.format(name="t")}])
    settings = load(tmp_path)
    assert settings.alembic_config_path == tmp_path / "alembic.ini"
    assert settings.dialects == ("postgresql", "mysql", "sqlite")
    (tmp_path / "distill.toml").write_text(
        'project = "shop"\ndialects = ["oracle"]\nmode = "standalone"\n'
        'version_table = "schema_version"\n[releases]\n"1.0" = "a000"\n'
    )
    settings = load(tmp_path)
    assert (settings.project, settings.dialects, settings.mode) == ("shop", ("oracle",), "standalone")
    assert settings.releases == {"1.0": "a000"}
    history = History(settings)
    plan = make_plan(history, "base", "1.0")
    sql = script_text(render(history, plan, dialects.get("sqlite"), standalone=True).statements(),
                      dialects.get("sqlite"))
    assert "CREATE TABLE IF NOT EXISTS schema_version" in sql and "alembic_version" not in sql


def test_unknown_keys_are_refused(tmp_path):
    write_project(tmp_path, [{"revision": "a00000000001", "body": TABLE.format(name="t")}])
    (tmp_path / "distill.toml").write_text('dialect = "postgresql"\n')
    with pytest.raises(ConfigError, match="unknown .* key.*dialect"):
        load(tmp_path)


def test_pyproject_tool_alembic_with_version_locations(tmp_path):
    """Alembic >= 1.16 reads [tool.alembic]; two version locations; prepend_sys_path."""
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(ENV_PY)
    (tmp_path / "migrations" / "script.py.mako").write_text("")
    (tmp_path / "extra_versions").mkdir()
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("TABLE_NAME = 'from_app'\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.alembic]\n"
        'script_location = "%(here)s/migrations"\n'
        'version_locations = ["%(here)s/migrations/versions", "%(here)s/extra_versions"]\n'
        'prepend_sys_path = ["%(here)s"]\n'
    )
    (tmp_path / "alembic.ini").write_text("[alembic]\nsqlalchemy.url = sqlite://\n")
    (tmp_path / "migrations" / "versions" / "one.py").write_text(
        'import sqlalchemy as sa\nfrom alembic import op\nrevision = "b00000000001"\n'
        "down_revision = None\nbranch_labels = None\ndepends_on = None\n"
        + TABLE.format(name="first")
    )
    (tmp_path / "extra_versions" / "two.py").write_text(
        'import sqlalchemy as sa\nfrom alembic import op\nfrom app import TABLE_NAME\n'
        'revision = "b00000000002"\ndown_revision = "b00000000001"\nbranch_labels = None\n'
        "depends_on = None\n" + TABLE.format(name="{TABLE_NAME}").replace('"{TABLE_NAME}"', "TABLE_NAME")
    )
    settings = load(tmp_path)
    history = History(settings)
    plan = make_plan(history, "base", "heads")
    assert [s.script_path for s in plan.steps] == ["migrations/versions/one.py", "extra_versions/two.py"]
    sql = script_text(render(history, plan, dialects.get("sqlite")).statements(), dialects.get("sqlite"))
    assert "CREATE TABLE first" in sql and "CREATE TABLE from_app" in sql


def test_config_option_points_elsewhere(tmp_path):
    project = write_project(tmp_path / "proj", [{"revision": "c00000000001",
                                                 "body": TABLE.format(name="t")}])
    settings = load(Path("/"), project / "alembic.ini")
    assert settings.alembic_config_path == project / "alembic.ini"
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path, tmp_path / "nope.toml")
