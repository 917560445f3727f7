"""The committed release bundles, applied with the real clients: whole files and per-step files
one by one give the same database, and the same as online Alembic, up and back down; a downgrade
stops at its point of no return and changes nothing there."""

from __future__ import annotations

from pathlib import Path

from helpers import assert_same_database, online

RELEASES = Path(__file__).resolve().parent.parent / "releases"


def _upgrade(whole, by_step, dialect: str, versions: tuple[str, ...]) -> None:
    for version in versions:
        bundle = RELEASES / version / dialect
        whole.apply((bundle / "upgrade.sql").read_text(encoding="utf-8"))
        for step in sorted((bundle / "steps").glob("*.up.sql")):
            by_step.apply(step.read_text(encoding="utf-8"))


def test_releases_whole_and_step_by_step_up_and_down(databases, example_settings):
    dialect = databases.dialect
    whole, by_step, reference = databases.create(), databases.create(), databases.create()
    _upgrade(whole, by_step, dialect, ("1.0", "1.1", "2.0"))
    online(example_settings, reference.url, "upgrade", "ef2c8e7f1a14")
    assert_same_database(reference.url, whole.url)
    assert_same_database(whole.url, by_step.url)

    bundle = RELEASES / "2.0" / dialect
    whole.apply((bundle / "downgrade.sql").read_text(encoding="utf-8"))
    for step in sorted((bundle / "steps").glob("*.down.sql"), reverse=True):
        by_step.apply(step.read_text(encoding="utf-8"))
    online(example_settings, reference.url, "downgrade", "bc9f1b0c4d11")
    assert_same_database(reference.url, whole.url)
    assert_same_database(whole.url, by_step.url)


def test_downgrade_stops_at_the_point_of_no_return(databases, example_settings):
    dialect = databases.dialect
    whole, by_step, reference = databases.create(), databases.create(), databases.create()
    _upgrade(whole, by_step, dialect, ("1.0", "1.1", "2.0", "2.1"))
    online(example_settings, reference.url, "upgrade", "heads")
    assert_same_database(reference.url, whole.url)
    assert_same_database(whole.url, by_step.url)
    bundle = RELEASES / "2.1" / dialect
    assert not list((bundle / "steps").glob("*.down.sql"))  # the only step cannot be reverted
    before = whole.dump()
    result = whole.apply((bundle / "downgrade.sql").read_text(encoding="utf-8"), check=False)
    assert result.returncode != 0
    assert b"cannot revert f03d6b5a4c15: restore from a backup" in result.stderr + result.stdout
    assert whole.dump() == before
