"""The supported range: distill warns once on stderr for an Alembic or SQLAlchemy it was not tested
with (naming the tested range, and the patched internals that differ), and takes a named branch
where a version's behaviour differs."""

from __future__ import annotations

import alembic
import pytest
import sqlalchemy
from alembic.runtime.migration import HeadMaintainer
from projects import run_distill

from distill.alembic_compat import fingerprints, versions


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
