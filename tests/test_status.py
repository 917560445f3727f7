"""distill status: read-only; the database's revision and release, the applied files it recorded,
which bundle applies next; --drift reports a database changed by hand, exactly, in a DBA's words."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from helpers import online
from projects import run_distill, write_project

from distill.config import load

ORDERS = {"revision": "a1", "message": "orders", "body": '''
    def upgrade():
        op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("status", sa.String(20), server_default="new"),
                        sa.Column("customer_id", sa.Integer))
        op.create_index("ix_orders_status_customer", "orders", ["status", "customer_id"])

    def downgrade():
        op.drop_table("orders")
'''}
NOTE = {"revision": "b2", "down": "a1", "message": "a note", "body": '''
    def upgrade():
        op.add_column("orders", sa.Column("note", sa.String(60)))

    def downgrade():
        op.drop_column("orders", "note")
'''}
CONFIG = 'project = "shop"\nrecord_applied = true\n\n[releases]\n"1.0" = "a1"\n"1.1" = "b2"\n'
# what a DBA changed by hand, per dialect: an added column, a dropped index, a changed default
BY_HAND = {
    "postgresql": ["ALTER TABLE orders ADD COLUMN extra INTEGER", "DROP INDEX ix_orders_status_customer",
                   "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'old'"],
    "mariadb": ["ALTER TABLE orders ADD COLUMN extra INTEGER", "DROP INDEX ix_orders_status_customer ON orders",
                "ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'old'"],
}
BY_HAND["mysql"] = BY_HAND["mariadb"]
# SQLite cannot change a column's default without recreating the table
BY_HAND["sqlite"] = ["ALTER TABLE orders ADD COLUMN extra INTEGER", "DROP INDEX ix_orders_status_customer"]


def _status(project, url, *args):
    result = run_distill(["status", "--url", url, *args, "--json"], project)
    return result.returncode, (json.loads(result.stdout) if result.stdout else None), result.stderr


def test_status_reads_revision_release_applied_files_and_the_next_bundle(tmp_path, databases):
    project = write_project(tmp_path / "project", [ORDERS, NOTE], distill_toml=CONFIG)
    built = run_distill(["release", "--all", "--dialect", databases.dialect], project)
    assert built.returncode == 0, built.stderr
    database = databases.create()
    if databases.dialect == "sqlite":  # status opens an existing file read-only, never creates one
        missing = run_distill(["status", "--url", database.url], project)
        assert missing.returncode == 2 and "names no SQLite file that exists" in missing.stderr
        Path(database.url.removeprefix("sqlite:///")).touch()
    code, report, _ = _status(project, database.url)
    assert code == 0 and report["revisions"] is None and report["applied"] is None
    assert [b["release"] for b in report["next"]] == ["1.0"]
    database.apply((project / "releases" / "1.0" / databases.dialect / "upgrade.sql").read_text())
    before = database.dump()
    code, report, _ = _status(project, database.url)
    assert database.dump() == before  # read-only
    assert code == 0 and report["revisions"] == ["a1"] and report["release"] == "1.0"
    assert [(r["bundle_name"], r["bundle_release"], r["file_path"], r["to_revisions"]) for r in report["applied"]] \
        == [("shop", "1.0", f"{databases.dialect}/upgrade.sql", "a1")]
    assert [b["release"] for b in report["next"]] == ["1.1"]
    code, report, _ = _status(project, database.url, "1.0")  # a bundle that does not apply here
    assert code == 1 and report["next"] == [{"bundle": str(project / "releases" / "1.0"), "release": "1.0",
                                             "starts_at": [], "applies": False, "steps_applied": 0,
                                             "steps": 0, "next_file": None, "if_whole_file_stopped": "",
                                             "lacks_dialect": False}]
    text = run_distill(["status", "--url", database.url], project)
    assert text.returncode == 0 and "the database is at a1: release 1.0" in text.stdout
    assert f"shop 1.0  {databases.dialect}/upgrade.sql  upgrade base -> a1" in text.stdout
    database.apply((project / "releases" / "1.1" / databases.dialect / "upgrade.sql").read_text())
    latest = run_distill(["status", "--url", database.url], project)
    assert latest.returncode == 0 and "next: none: the database is at the latest release, 1.1" in latest.stdout


STEPS = [ORDERS, NOTE] + [
    {"revision": f"{letter}{number}", "down": down, "message": f"column {letter}", "body": f'''
    def upgrade():
        op.add_column("orders", sa.Column("{letter}", sa.Integer))

    def downgrade():
        op.drop_column("orders", "{letter}")
'''} for letter, number, down in (("c", 3, "b2"), ("d", 4, "c3"))]


def test_status_places_a_database_inside_a_bundle_in_a_plain_alembic_project(tmp_path, databases):
    """No [tool.distill.releases] map; the bundle was applied step by step and stopped after two
    of four steps; a malformed bundle lies under releases/."""
    project = write_project(tmp_path / "project", STEPS, distill_toml='project = "shop"\nrecord_applied = true\n')
    bundle = tmp_path / "bundle"
    built = run_distill(["build", "--dialect", databases.dialect, "--to", "d4", "--out", str(bundle),
                         "--name", "1.0"], project)
    assert built.returncode == 0, built.stderr
    database = databases.create()
    steps = sorted((bundle / databases.dialect / "steps").glob("*.up.sql"))
    for step in steps[:2]:
        database.apply(step.read_text())
    (project / "releases" / "broken").mkdir(parents=True)
    (project / "releases" / "broken" / "manifest.json").write_text("{not json")
    code, report, stderr = _status(project, database.url, str(bundle))
    assert code == 0, stderr
    assert report["revisions"] == ["b2"] and report["release"] is None
    assert report["next"][0]["steps_applied"] == 2 and report["next"][0]["steps"] == 4
    assert report["next"][0]["next_file"] == f"{databases.dialect}/steps/{steps[2].name}"
    # what a whole upgrade.sql that stopped there would have left: the dialect's runbook fact
    stays = "Nothing of the file stays" if databases.dialect in ("postgresql", "sqlite") else \
        "What ran before the error stays applied"
    assert report["next"][0]["if_whole_file_stopped"].startswith(stays)
    text = run_distill(["status", "--url", database.url, str(bundle)], project)
    assert text.returncode == 0, text.stderr
    assert (f"steps 1-2 of 4 applied (last: {databases.dialect}/steps/{steps[1].name}, by "
            in text.stdout) and f"; next: {databases.dialect}/steps/{steps[2].name}" in text.stdout
    plain = run_distill(["status", "--url", database.url], project)  # the bundles under releases/
    assert plain.returncode == 0, plain.stderr
    assert "the database is at b2" in plain.stdout
    assert "warning: " in plain.stdout and "broken: cannot be read" in plain.stdout


def test_drift_reports_what_was_changed_by_hand_and_nothing_otherwise(tmp_path, databases):
    project = write_project(tmp_path / "project", [ORDERS, NOTE], distill_toml=CONFIG)
    database = databases.create()
    online(load(project), database.url, "upgrade", "b2")
    code, report, stderr = _status(project, database.url, "--drift")
    assert code == 0 and report["drift"] == [], stderr
    engine = sa.create_engine(database.url, poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        for statement in BY_HAND[databases.dialect]:
            connection.exec_driver_sql(statement)
    engine.dispose()
    code, report, _ = _status(project, database.url, "--drift")
    assert code == 1
    expected = [
        "table orders: column extra " + ("INTEGER(11)" if databases.dialect in ("mysql", "mariadb") else "INTEGER")
        + ": in the database, not in the history",
        "table orders: column status default 'new'::character varying in the history, "
        "'old'::character varying in the database" if databases.dialect == "postgresql" else
        "table orders: column status default 'new' in the history, 'old' in the database",
        "table orders: index ix_orders_status_customer (status, customer_id): in the history, not in the "
        "database",
    ]
    if databases.dialect == "sqlite":
        del expected[1]
    assert report["drift"] == expected
