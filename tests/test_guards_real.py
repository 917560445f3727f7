"""Guards on real PostgreSQL, MariaDB and SQLite: a bundle file applied to a database at the
wrong revision, or to an empty database when a non-base start is expected, fails with the
client's non-zero exit, names the expected and the found revision, and leaves schema and data
byte-for-byte unchanged (the dialect's own dump tool, before and after)."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_same_database, online

RELEASES = Path(__file__).resolve().parent.parent / "releases"


def _files(dialect: str) -> dict[str, Path]:
    steps = RELEASES / "1.1" / dialect / "steps"
    return {
        "upgrade": RELEASES / "1.1" / dialect / "upgrade.sql",       # expects 6f4a6c5d9e06
        "downgrade": RELEASES / "2.0" / dialect / "downgrade.sql",   # expects ef2c8e7f1a14
        "step": next(steps.glob("0003-*.up.sql")),                   # expects 9c7d3f2a6b09 only
    }


EXPECTED = {"upgrade": "6f4a6c5d9e06", "downgrade": "ef2c8e7f1a14", "step": "9c7d3f2a6b09"}


def _refused(db, path: Path, expected: str, found: str) -> None:
    before = db.dump()
    result = db.apply(path.read_text(encoding="utf-8"), check=False)
    output = (result.stderr + result.stdout).decode("utf-8", errors="replace")
    assert result.returncode != 0, output
    assert "distill guard: expected alembic_version at" in output, output
    assert expected in output and found in output, output
    assert db.dump() == before


@pytest.mark.parametrize("which", ["upgrade", "downgrade", "step"])
def test_wrong_revision_is_refused(databases, example_settings, which):
    db = databases.create()
    online(example_settings, db.url, "upgrade", "3c1d9e8f2a03")
    _refused(db, _files(databases.dialect)[which], EXPECTED[which], "3c1d9e8f2a03")


@pytest.mark.parametrize("which", ["upgrade", "downgrade", "step"])
def test_empty_database_is_refused_when_a_revision_is_expected(databases, which):
    db = databases.create()
    _refused(db, _files(databases.dialect)[which], EXPECTED[which], "(no alembic_version table)")


def test_a_second_run_of_an_upgrade_is_refused(databases):
    db = databases.create()
    upgrade = RELEASES / "1.0" / databases.dialect / "upgrade.sql"
    db.apply(upgrade.read_text(encoding="utf-8"))
    # from base the guard expects no version table: the one the first run created stops it
    before = db.dump()
    result = db.apply(upgrade.read_text(encoding="utf-8"), check=False)
    output = (result.stderr + result.stdout).decode()
    # MySQL's message has "; found" (its commas become spaces), the others ", found"
    expected = "distill guard: expected alembic_version at base (no alembic_version table or an empty one)"
    assert result.returncode != 0 and expected in output and "found 6f4a6c5d9e06" in output, output
    assert db.dump() == before


def test_two_heads_are_compared_as_a_set(databases, example_settings):
    db = databases.create()
    online(example_settings, db.url, "upgrade", "8b6c4e3f7a08", "9c7d3f2a6b09")
    step = next((RELEASES / "1.1" / databases.dialect / "steps").glob("0004-*.up.sql"))
    db.apply(step.read_text(encoding="utf-8"))  # expects exactly 8b6c4e3f7a08,9c7d3f2a6b09: passes


def test_a_base_bundle_applies_where_online_alembic_downgraded_to_base(databases, example_settings):
    """Alembic leaves an empty alembic_version after a downgrade to base: that is base too."""
    db, reference = databases.create(), databases.create()
    for target in (db, reference):
        online(example_settings, target.url, "upgrade", "6f4a6c5d9e06")
        online(example_settings, target.url, "downgrade", "base")
    db.apply((RELEASES / "1.0" / databases.dialect / "upgrade.sql").read_text(encoding="utf-8"))
    online(example_settings, reference.url, "upgrade", "6f4a6c5d9e06")
    assert_same_database(reference.url, db.url)
