"""The supported range: distill warns once on stderr for an Alembic or SQLAlchemy it was not tested
with (naming the tested range, and the patched internals that differ), stops with one paragraph
(CLI exit 2, UntestedAlembic from the API) when a patched original is gone or changed, and takes a
named branch where a version's behaviour differs."""

from __future__ import annotations

import subprocess
import sys

import alembic
import pytest
import sqlalchemy
from alembic.runtime.migration import HeadMaintainer
from projects import CREATE_T, run_distill, write_project

from distill import api
from distill.alembic_compat import alembic_patched, fingerprints, versions
from distill.errors import UntestedAlembic


def test_no_warning_for_a_tested_installation(tmp_path):
    assert fingerprints.compatibility_warning() is None
    assert "warning" not in run_distill(["--version"], tmp_path).stderr


def test_an_alembic_outside_the_range_is_named_with_the_tested_range(monkeypatch):
    monkeypatch.setattr(alembic, "__version__", "1.21.0")
    monkeypatch.setattr(versions, "untested", lambda: ["alembic 1.21.0"])
    message = fingerprints.compatibility_warning()
    assert message.startswith("distill: warning: alembic 1.21.0 was not tested with distill (tested: "
                              "Alembic 1.13 to 1.20 and SQLAlchemy 1.4, 2.0 or 2.1; CI runs Alembic 1.13.3, "
                              "1.16.5, 1.20.1)")
    assert "\n" not in message


def test_a_changed_patched_internal_is_named(monkeypatch):
    monkeypatch.setattr(alembic, "__version__", "1.21.0")

    def _insert_version(self, version):  # a different body under the same name
        return None

    monkeypatch.setattr(HeadMaintainer, "_insert_version", _insert_version)
    assert fingerprints.changed_originals() == ["HeadMaintainer._insert_version"]
    assert ("these Alembic internals that distill patches differ from every tested version: "
            "HeadMaintainer._insert_version.") in fingerprints.compatibility_warning()


@pytest.mark.parametrize(("library", "version", "outside"), [
    ("alembic", "1.12.1", True), ("alembic", "1.13.0", False), ("alembic", "1.20.9", False),
    ("alembic", "1.21.0", True), ("sqlalchemy", "1.3.24", True), ("sqlalchemy", "1.4.0", False),
    ("sqlalchemy", "2.1.9", False), ("sqlalchemy", "2.2.0", True)])
def test_the_range(monkeypatch, library, version, outside):
    monkeypatch.setattr({"alembic": alembic, "sqlalchemy": sqlalchemy}[library], "__version__", version)
    assert (f"{library} {version}" in versions.untested()) is outside


@pytest.mark.skipif(versions.TOML_CONFIG, reason="this Alembic reads [tool.alembic]")
def test_tool_alembic_needs_alembic_1_16(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.alembic]\nscript_location = "migrations"\n')
    result = run_distill(["plan"], tmp_path)
    assert result.returncode != 0
    assert "configures Alembic in [tool.alembic], which needs Alembic 1.16 or newer" in result.stderr


# A newer Alembic that renamed a method distill patches, and one that changed a body.
def _renamed(monkeypatch):
    monkeypatch.setattr(alembic, "__version__", "1.21.0")
    original = HeadMaintainer._insert_version
    monkeypatch.delattr(HeadMaintainer, "_insert_version")
    monkeypatch.setattr(HeadMaintainer, "_insert_version_row", original, raising=False)


def _changed(monkeypatch):
    monkeypatch.setattr(alembic, "__version__", "1.21.0")

    def _insert_version(self, version):  # a different body under the same name
        return None

    monkeypatch.setattr(HeadMaintainer, "_insert_version", _insert_version)


def _paragraph_checked(stderr: str, what: str) -> None:
    assert stderr.startswith("distill: error: Alembic 1.21.0 (with SQLAlchemy ")
    assert f"changed internals that distill patches to render SQL: {what}." in stderr
    assert "distill was tested with Alembic 1.13 to 1.20 and SQLAlchemy 1.4, 2.0 or 2.1 (CI runs Alembic " \
           "1.13.3, 1.16.5, 1.20.1)" in stderr
    assert "DISTILL_ALLOW_UNTESTED_ALEMBIC=1" in stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr


@pytest.mark.parametrize("command", [["plan"], ["sql", "--dialect", "sqlite"], ["check", "--dialect", "sqlite"]])
def test_a_renamed_patched_method_stops_every_command_with_one_paragraph(tmp_path, monkeypatch, command):
    project = write_project(tmp_path, [CREATE_T])
    _renamed(monkeypatch)
    result = run_distill(command, project, {"DISTILL_ALLOW_UNTESTED_ALEMBIC": "1"})
    assert result.returncode == 2 and result.stdout == ""
    _paragraph_checked(result.stderr, "HeadMaintainer._insert_version is gone")
    assert "lets distill try an Alembic whose internals differ, but not one without an internal it " \
           "patches" in result.stderr


def test_the_api_raises_the_error_the_cli_prints(tmp_path, monkeypatch):
    project = write_project(tmp_path, [CREATE_T])
    _renamed(monkeypatch)
    printed = run_distill(["sql", "--dialect", "sqlite"], project).stderr
    for call in (lambda p: api.sql(p, dialect="sqlite"), api.plan, lambda p: api.check(p, dialect_names="sqlite")):
        with pytest.raises(UntestedAlembic) as raised:
            call(api.Project(project))
        assert f"distill: error: {raised.value.message}\n" == printed
        assert raised.value.exit_code == 2
    with pytest.raises(UntestedAlembic), alembic_patched():
        pass
    assert "_insert_version" not in HeadMaintainer.__dict__  # nothing was patched on the way


def test_a_changed_body_stops_unless_the_user_lets_distill_try(tmp_path, monkeypatch):
    project = write_project(tmp_path, [CREATE_T])
    _changed(monkeypatch)
    stopped = run_distill(["sql", "--dialect", "sqlite"], project)
    assert stopped.returncode == 2 and stopped.stdout == ""
    _paragraph_checked(stopped.stderr, "HeadMaintainer._insert_version differs from every tested version")
    assert "or set DISTILL_ALLOW_UNTESTED_ALEMBIC=1 to try this one anyway and review every SQL file it " \
           "writes." in stopped.stderr
    tried = run_distill(["sql", "--dialect", "sqlite"], project, {"DISTILL_ALLOW_UNTESTED_ALEMBIC": "1"})
    assert tried.returncode == 0 and "CREATE TABLE t" in tried.stdout
    assert tried.stderr.startswith("distill: warning: alembic 1.21.0 was not tested with distill")
    assert "differ from every tested version: HeadMaintainer._insert_version." in tried.stderr


def test_a_renamed_patched_method_in_a_real_process(tmp_path):
    """Renamed before distill is imported (as a new Alembic would have it): no traceback from an
    import, the paragraph and exit 2."""
    project = write_project(tmp_path, [CREATE_T])
    program = ("import sys, alembic\nfrom alembic.runtime.migration import HeadMaintainer as h\n"
               "alembic.__version__ = '1.21.0'\nh._insert_version_row = h._insert_version\n"
               "del h._insert_version\nfrom distill.cli import run\nsys.argv[0] = 'distill'\nsys.exit(run())\n")
    result = subprocess.run([sys.executable, "-c", program, "sql", "--dialect", "sqlite"], cwd=project,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    _paragraph_checked(result.stderr, "HeadMaintainer._insert_version is gone")


@pytest.mark.parametrize("command", [["sql", "--dialect", "sqlite"], ["check"], ["build", "--out", "b"]])
def test_a_removed_alembic_class_in_a_real_process(tmp_path, command):
    """A class distill imports from Alembic's internals, gone (as a new Alembic could have it):
    the paragraph naming it and exit 2, no traceback from the import, nothing written."""
    project = write_project(tmp_path, [CREATE_T])
    program = ("import sys\nimport alembic.runtime.migration as m\ndel m.HeadMaintainer\n"
               "from distill.cli import run\nsys.argv[0] = 'distill'\nsys.exit(run())\n")
    result = subprocess.run([sys.executable, "-c", program, *command], cwd=project,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == "", result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"distill: error: Alembic {alembic.__version__} has no "
                                    "alembic.runtime.migration.HeadMaintainer, which distill reaches into")
    assert "pip install 'alembic>=1.13,<1.21'" in result.stderr
    assert not (project / "b").exists()
