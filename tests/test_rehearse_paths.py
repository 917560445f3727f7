"""rehearse compares with online Alembic's own path (up to the target, down, up again), so an
extension that an upgrade creates and its downgrade keeps is no failure; values online Alembic
itself writes differently on every run (datetime.now(), uuid4(), the server's now()) are "not
comparable", not differences; and a wrong downgrade still fails, with every phase run."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
from projects import run_distill, write_project

CREATE_EVENTS = {"revision": "a1", "message": "events", "body": """
def upgrade():
    op.create_table("events", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("token", sa.String(36)), sa.Column("made", sa.String(40)),
                    sa.Column("at", sa.DateTime, server_default=sa.func.now()),
                    sa.Column("kind", sa.String(10)))

def downgrade():
    op.drop_table("events")
"""}
STAMPED = {"revision": "b2", "down": "a1", "message": "first events", "imports": "import datetime, uuid",
           "body": """
def upgrade():
    op.execute(f"INSERT INTO events (id, token, made, kind) VALUES (1, '{uuid.uuid4()}', "
               f"'{datetime.datetime.now().isoformat()}', 'boot')")
    op.execute("INSERT INTO events (id, kind) VALUES (2, 'plain')")

def downgrade():
    op.execute("DELETE FROM events")
"""}
EXTENSION = {"revision": "c3", "down": "b2", "message": "case-insensitive email", "body": """
def upgrade():
    op.execute("CREATE EXTENSION IF NOT EXISTS citext")
    op.execute("ALTER TABLE events ADD COLUMN email citext")

def downgrade():
    op.drop_column("events", "email")  # the extension stays: other schemas may use it
"""}
FORGETFUL = {"revision": "d4", "down": "c3", "message": "events.note", "body": """
def upgrade():
    op.add_column("events", sa.Column("note", sa.String(80)))
    op.add_column("events", sa.Column("extra", sa.Integer))

def downgrade():
    op.drop_column("events", "note")  # forgets extra
"""}
def _project(root: Path, dialects: str, revisions: list[dict]) -> Path:
    """The project, with one release per revision (1.0, 1.1, ...), all released."""
    releases = "".join(f'"1.{i}" = "{r["revision"]}"\n' for i, r in enumerate(revisions))
    project = write_project(root, revisions, distill_toml=f"dialects = [{dialects}]\n[releases]\n{releases}")
    result = run_distill(["release", "--all"], project)
    assert result.returncode == 0, result.stderr
    return project


def _rehearse(project: Path, version: str, *url: str) -> tuple[int, dict]:
    result = run_distill(["rehearse", f"releases/{version}", "--json", *url], project)
    return result.returncode, json.loads(result.stdout)


def rewrite(bundle: Path, file: str, change) -> None:
    """Change one file of a bundle and its checksums, as someone who can write the bundle can."""
    path = bundle / file
    path.write_text(change(path.read_text()))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest = (bundle / "manifest.json").read_text()
    old = re.search(rf'"file": "{re.escape(file)}",\s*"sha256": "([0-9a-f]+)"', manifest)[1]
    (bundle / "manifest.json").write_text(manifest.replace(old, digest))
    sums = (bundle / "SHA256SUMS").read_text().replace(old, digest)
    sums = re.sub(r"^[0-9a-f]+(  manifest.json)$",
                  hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest() + r"\1", sums, flags=re.M)
    (bundle / "SHA256SUMS").write_text(sums)


def _phase(report: dict, name: str) -> dict:
    return next(p for p in report["phases"] if p["phase"] == name)


@pytest.fixture(scope="module")
def sqlite_project(tmp_path_factory) -> Path:
    return _project(tmp_path_factory.mktemp("paths"), '"sqlite"', [CREATE_EVENTS, STAMPED, {**FORGETFUL, "down": "b2"}])


def test_values_online_alembic_does_not_repeat_are_not_comparable_sqlite(sqlite_project):
    code, report = _rehearse(sqlite_project, "1.1")
    assert code == 0, json.dumps(report, indent=1)
    upgrade = _phase(report, "upgrade.sql")
    assert upgrade["passed"] and upgrade["differences"] == []
    # SQLite's CURRENT_TIMESTAMP has whole seconds: "at" differs only when a second went by
    names = {f"rows of table events, column {c}" for c in ("token", "made", "at")}
    assert names - {"rows of table events, column at"} <= set(upgrade["not_comparable"]) <= names


def test_a_forgetful_downgrade_is_named_and_its_upgrade_again_fails(sqlite_project):
    code, report = _rehearse(sqlite_project, "1.2")
    assert code == 1
    failed = [(p["phase"], p["detail"][:40]) for p in report["phases"] if not p["passed"]]
    assert failed == [("upgrade.sql again", "the second upgrade failed; the client sa"),
                      ("upgrade.sql once more", "not run: the second upgrade failed"),
                      ("steps up again", "sqlite/steps/0001-d4-events-note.up.sql "),
                      ("first step once more", "not run: sqlite/steps/0001-d4-events-not")], failed
    for name in ("downgrade.sql", "steps down"):  # as online Alembic's own downgrade: no failure
        assert _phase(report, name)["not_restored"] == [
            "table events: column extra INTEGER unexpected"]


def test_a_wrong_bundle_is_caught(sqlite_project, tmp_path):
    bundle = tmp_path / "1.1"
    shutil.copytree(sqlite_project / "releases" / "1.1", bundle)
    rewrite(bundle, "sqlite/downgrade.sql", lambda sql: re.sub(r"DELETE\s+FROM events;", "", sql))
    result = run_distill(["rehearse", str(bundle), "--json"], sqlite_project)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and not _phase(report, "downgrade.sql")["passed"]
    assert any(d.startswith("table events: row (1, ") and d.endswith(" unexpected")
               for d in _phase(report, "downgrade.sql")["differences"])
    assert _phase(report, "steps down")["passed"]  # the step file was not touched


def test_an_extension_kept_by_the_downgrade_and_now_values_on_postgresql(tmp_path, postgres_server):
    project = _project(tmp_path, '"postgresql"', [CREATE_EVENTS, STAMPED, EXTENSION, FORGETFUL])
    url = ("--url", postgres_server.create().url)
    code, report = _rehearse(project, "1.2", *url)
    assert code == 0, json.dumps(report, indent=1)
    assert all(p["passed"] for p in report["phases"])
    for name in ("downgrade.sql", "steps down"):
        assert _phase(report, name)["not_restored"] == ["extensions: citext unexpected"]
    code, report = _rehearse(project, "1.1", *url)
    assert code == 0, json.dumps(report, indent=1)
    assert "rows of table events, column at" in _phase(report, "upgrade.sql")["not_comparable"]
    code, report = _rehearse(project, "1.3", *url)
    assert code == 1 and not _phase(report, "upgrade.sql again")["passed"]
    assert _phase(report, "downgrade.sql")["not_restored"] == [
        "table events: column extra INTEGER unexpected"]
