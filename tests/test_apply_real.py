"""distill's SQL, applied with the real clients (psql, mariadb, sqlite3) to real databases, gives
the same schema and the same rows as online Alembic, for every kind of range."""

from __future__ import annotations

import pytest
from helpers import assert_same_database, online, render_sql

HEADS = "ef2c8e7f1a14"
BRANCH_POINT = "7a5b5d4e8f07"
REVIEWS_FIRST = "8b6c4e3f7a08"
CUSTOMERS = "9c7d3f2a6b09"
MERGE = "bc9f1b0c4d11"


def _pair(databases):
    return databases.create(), databases.create()


def test_base_to_heads(databases, example_settings, example_history):
    reference, candidate = _pair(databases)
    online(example_settings, reference.url, "upgrade", "heads")
    candidate.apply(render_sql(example_history, databases.dialect, "base", "heads"))
    assert_same_database(reference.url, candidate.url)


def test_middle_range_from_a_database_alembic_brought_to_the_start(
    databases, example_settings, example_history
):
    reference, candidate = _pair(databases)
    for db in (reference, candidate):
        online(example_settings, db.url, "upgrade", "3c1d9e8f2a03")
    online(example_settings, reference.url, "upgrade", BRANCH_POINT)
    candidate.apply(render_sql(example_history, databases.dialect, "3c1d", BRANCH_POINT))
    assert_same_database(reference.url, candidate.url)


@pytest.mark.parametrize("target", ["3c1d9e8f2a03", "base"])
def test_downgrade_back(databases, example_settings, example_history, target):
    reference, candidate = _pair(databases)
    for db in (reference, candidate):
        online(example_settings, db.url, "upgrade", "heads")
    online(example_settings, reference.url, "downgrade", target)
    # the head revision's downgrade restores nothing: allowed here, online Alembic does the same
    candidate.apply(render_sql(example_history, databases.dialect, "heads", target, down=True,
                               allow_irreversible=True, allow_base=True))
    assert_same_database(reference.url, candidate.url)


def test_across_the_branch_and_the_merge(databases, example_settings, example_history):
    reference, candidate = _pair(databases)
    for db in (reference, candidate):
        online(example_settings, db.url, "upgrade", BRANCH_POINT)
    online(example_settings, reference.url, "upgrade", MERGE)
    candidate.apply(render_sql(example_history, databases.dialect, BRANCH_POINT, MERGE))
    assert_same_database(reference.url, candidate.url)


def test_range_starting_at_two_heads(databases, example_settings, example_history):
    reference, candidate = _pair(databases)
    for db in (reference, candidate):
        online(example_settings, db.url, "upgrade", REVIEWS_FIRST, CUSTOMERS)
    online(example_settings, reference.url, "upgrade", "heads")
    sql = render_sql(example_history, databases.dialect, f"{REVIEWS_FIRST},{CUSTOMERS}", "heads")
    candidate.apply(sql)
    assert_same_database(reference.url, candidate.url)
