"""The committed release bundles, applied with the real clients: whole files and per-step files
one by one give the same database, and the same as online Alembic, up and back down."""

from __future__ import annotations

from pathlib import Path

from helpers import assert_same_database, online

RELEASES = Path(__file__).resolve().parent.parent / "releases"


def test_releases_whole_and_step_by_step(databases, example_settings):
    dialect = databases.dialect
    whole, by_step, reference = databases.create(), databases.create(), databases.create()
    for version in ("1.0", "1.1", "2.0"):
        bundle = RELEASES / version / dialect
        whole.apply((bundle / "upgrade.sql").read_text(encoding="utf-8"))
        for step in sorted((bundle / "steps").glob("*.up.sql")):
            by_step.apply(step.read_text(encoding="utf-8"))
    online(example_settings, reference.url, "upgrade", "heads")
    assert_same_database(reference.url, whole.url)
    assert_same_database(whole.url, by_step.url)

    bundle = RELEASES / "2.0" / dialect
    whole.apply((bundle / "downgrade.sql").read_text(encoding="utf-8"))
    for step in sorted((bundle / "steps").glob("*.down.sql"), reverse=True):
        by_step.apply(step.read_text(encoding="utf-8"))
    online(example_settings, reference.url, "downgrade", "bc9f1b0c4d11")
    assert_same_database(reference.url, whole.url)
    assert_same_database(whole.url, by_step.url)
