"""distill rehearse: the example's releases pass on SQLite, PostgreSQL and MariaDB; a downgrade
that does not restore the schema is named (table and column) and its upgrade again fails; --record
writes next to the bundle; clear errors for a missing client, an unreachable server and a bundle
that does not verify."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import write_project
from runner import run_distill

REPO = Path(__file__).resolve().parent.parent
RELEASES = REPO / "releases"


def cli(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_distill(list(args), cwd, env, timeout=900)


def server_url(databases) -> str | None:
    if databases.dialect == "sqlite":
        return None
    db = databases.create()  # an empty database on the server: rehearse connects to it only to
    return db.url            # create (and finally drop) its own scratch databases


@pytest.mark.parametrize("version", ["1.0", "1.1", "2.0", "2.1"])
def test_the_example_releases_pass(databases, version):
    url = server_url(databases)
    args = ["rehearse", f"releases/{version}", "--json", "--dialect", databases.dialect]
    if url:
        args += ["--url", url]
    result = cli(*args)
    report = json.loads(result.stdout)
    assert result.returncode == 0, json.dumps(report, indent=1)[-3000:]
    assert report["passed"] is True
    names = [p["phase"] for p in report["phases"]]
    assert names == ["verify", "sources", "upgrade.sql", "downgrade.sql", "upgrade.sql again",
                     "upgrade.sql once more", "steps up", "steps down", "steps up again",
                     "first step once more"]
    if version == "2.1":  # its only step is irreversible: the downgrade stops as designed
        downgrade = next(p for p in report["phases"] if p["phase"] == "downgrade.sql")
        assert "stopped: cannot revert f03d6b5a4c15" in downgrade["detail"]


WRONG_DOWNGRADE = [
    {"revision": "aa00000001", "body": """
def upgrade():
    op.create_table("shelf", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("label", sa.String(40), nullable=False))

def downgrade():
    op.drop_table("shelf")
"""},
    {"revision": "bb00000002", "down": "aa00000001", "message": "shelf.capacity and shelf.note",
     "body": """
def upgrade():
    op.add_column("shelf", sa.Column("capacity", sa.Integer, nullable=True))
    op.add_column("shelf", sa.Column("note", sa.String(80), nullable=True))

def downgrade():
    op.drop_column("shelf", "note")  # forgets capacity
"""},
]


def test_a_downgrade_that_does_not_restore_the_schema_fails(tmp_path):
    project = write_project(tmp_path / "project", WRONG_DOWNGRADE, distill_toml=(
        'dialects = ["sqlite"]\n[releases]\n"1.0" = "aa00"\n"1.1" = "bb00"\n'))
    assert cli("release", "--all", cwd=project).returncode == 0
    result = cli("rehearse", "releases/1.1", "--record", cwd=project)
    assert result.returncode == 1, result.stdout + result.stderr
    # the bundle does what online Alembic does (the same column stays behind), so the downgrade
    # passes and says what it does not restore; applying the upgrade again then fails
    assert "PASS  downgrade.sql" in result.stdout and "REHEARSAL FAILED" in result.stdout
    assert ("not restored (online Alembic's own downgrade leaves it too): table shelf: column "
            "capacity INTEGER unexpected") in result.stdout
    assert "FAIL  upgrade.sql again" in result.stdout and "duplicate column name: capacity" in result.stdout
    recorded = json.loads((project / "releases" / "1.1.rehearsal.json").read_text())
    assert recorded["passed"] is False
    assert any("column capacity" in d for p in recorded["phases"] for d in p["not_restored"])
    # recorded next to the bundle, not inside it: the bundle still verifies as shipped
    assert cli("verify", "releases/1.1", cwd=project).returncode == 0
    assert cli("rehearse", "releases/1.0", cwd=project).returncode == 0


def test_record_for_an_archive(tmp_path):
    shutil.copy(RELEASES / "1.1.tar.gz", tmp_path / "1.1.tar.gz")
    result = cli("rehearse", str(tmp_path / "1.1.tar.gz"), "--record")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((tmp_path / "1.1.rehearsal.json").read_text())["passed"] is True


def test_a_bundle_that_does_not_verify_is_not_rehearsed(tmp_path):
    shutil.copytree(RELEASES / "1.1", tmp_path / "1.1")
    (tmp_path / "1.1" / "sqlite" / "upgrade.sql").write_text("DROP TABLE books;\n")
    result = cli("rehearse", str(tmp_path / "1.1"))
    assert result.returncode == 2 and "does not verify" in result.stderr
    assert "sqlite/upgrade.sql" in result.stderr


def test_missing_client_names_its_package(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    result = cli("rehearse", "releases/1.0", env={"PATH": str(bin_dir)})
    assert result.returncode == 2
    assert "the sqlite3 client is not installed; it comes with sqlite3" in result.stderr


def test_unreachable_server(tmp_path):
    url = f"postgresql://nobody@/postgres?host={tmp_path}&port=1"
    result = cli("rehearse", "releases/1.0", "--url", url, "--dialect", "postgresql")
    assert result.returncode == 2 and "cannot reach postgresql" in result.stderr
