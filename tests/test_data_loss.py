"""Data loss: rows deleted or overwritten by a step (and not written back by its downgrade), and
autogenerate's rename trap (drop + add of the same type), in check, the manifest and the runbook."""

from __future__ import annotations

import json

from projects import run_distill, write_project

EVENTS = {"revision": "a1", "message": "events", "body": '''
    def upgrade():
        event = op.create_table("event", sa.Column("id", sa.Integer, primary_key=True),
                                sa.Column("kind", sa.String(20)), sa.Column("note", sa.String(60)))
        op.bulk_insert(event, [{"id": 1, "kind": "old", "note": "a"}, {"id": 2, "kind": "new", "note": "b"}])
        op.execute("UPDATE event SET kind = 'fresh' WHERE id = 2")  # a table created here: no loss

    def downgrade():
        op.drop_table("event")
'''}
PURGE = {"revision": "b2", "down": "a1", "message": "purge old events", "body": '''
    def upgrade():
        op.execute("DELETE FROM event WHERE kind = 'old'")
        op.add_column("event", sa.Column("seen", sa.Integer))

    def downgrade():
        op.drop_column("event", "seen")
'''}
RENAME_TRAP = {"revision": "c3", "down": "b2", "message": "note becomes notes (autogenerate)", "body": '''
    def upgrade():
        op.add_column("event", sa.Column("notes", sa.String(60)))
        op.drop_column("event", "note")

    def downgrade():
        op.add_column("event", sa.Column("note", sa.String(60)))
        op.drop_column("event", "notes")
'''}
RETYPED = {"revision": "d4", "down": "c3", "message": "a new column of another type", "body": '''
    def upgrade():
        op.add_column("event", sa.Column("weight", sa.Integer))
        op.drop_column("event", "seen")
        op.execute("UPDATE event SET kind = upper(kind) WHERE kind IS NOT NULL")

    def downgrade():
        op.add_column("event", sa.Column("seen", sa.String(10)))
        op.drop_column("event", "weight")
        op.execute("UPDATE event SET kind = lower(kind) WHERE kind IS NOT NULL")
'''}
TABLE_TRAP = {"revision": "e5", "down": "d4", "message": "event becomes events (autogenerate)", "body": '''
    def upgrade():
        op.create_table("events", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("kind", sa.String(20)), sa.Column("notes", sa.String(60)),
                        sa.Column("weight", sa.Integer))
        op.drop_table("event")

    def downgrade():
        op.create_table("event", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("kind", sa.String(20)), sa.Column("notes", sa.String(60)),
                        sa.Column("weight", sa.Integer))
        op.drop_table("events")
'''}
RENAMED = {"revision": "f6", "down": "e5", "message": "a real rename", "body": '''
    def upgrade():
        op.alter_column("events", "notes", new_column_name="remarks", existing_type=sa.String(60))

    def downgrade():
        op.alter_column("events", "remarks", new_column_name="notes", existing_type=sa.String(60))
'''}
REVISIONS = [EVENTS, PURGE, RENAME_TRAP, RETYPED, TABLE_TRAP, RENAMED]


def test_check_reports_deleted_rows_not_restored_and_probable_renames(tmp_path):
    project = write_project(tmp_path / "project", REVISIONS)
    result = run_distill(["check", "--dialect", "postgresql,mysql,sqlite", "--json"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    # a1 updates rows of a table it created itself: nothing was there before it
    assert [(f["revision"], f["direction"], f["message"]) for f in report["data_loss"]] == [
        ("b2", "upgrade", "deletes rows from event"), ("d4", "upgrade", "overwrites values in rows of event"),
        ("d4", "downgrade", "overwrites values in rows of event")]
    assert [(f["revision"], f["message"]) for f in report["data_not_restored"]] == [
        ("b2", "the upgrade deletes rows from event; the downgrade writes nothing back into event")]
    renames = {f["revision"]: f["message"] for f in report["probable_renames"]}
    assert renames == {
        "c3": 'drop + add of event.note/event.notes, same type (VARCHAR(60)): a rename? the data in note '
              'is lost. Usual fix: op.alter_column("event", "note", new_column_name="notes")',
        "e5": 'drop + create of tables event/events with the same columns: a rename? the rows of event '
              'are lost. Usual fix: op.rename_table("event", "events")'}
    assert all(f["dialects"] == ["postgresql", "mysql", "sqlite"] for f in report["probable_renames"])
    # a rename through CHANGE keeps the type: MySQL renames in place, no lock risk
    assert not [f for f in report["lock_risk"] if f["revision"] == "f6"], report["lock_risk"]


def test_the_bundle_marks_them_in_the_manifest_and_the_runbook(tmp_path):
    project = write_project(tmp_path / "project", REVISIONS)
    out = tmp_path / "bundle"
    result = run_distill(["build", "--dialect", "sqlite,mysql", "--from", "a1", "--to", "heads", "--out", str(out)], project)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    steps = {s["revision"]: s for s in manifest["dialects"]["sqlite"]["steps"]}
    assert steps["b2"]["up"]["data_loss"] == ["deletes rows from event"]
    assert steps["b2"]["data_not_restored"] == [
        "the upgrade deletes rows from event; the downgrade writes nothing back into event"]
    assert "data_not_restored" not in steps["d4"]  # its downgrade updates event back
    assert [m.split(":")[0] for m in steps["c3"]["probable_renames"]] == [
        "drop + add of event.note/event.notes, same type (VARCHAR(60))"]
    assert "probable_renames" not in steps["d4"]  # INTEGER added, VARCHAR(10) dropped
    mysql = (out / "mysql" / "upgrade.sql").read_text()
    assert "-- DATA LOSS: deletes rows from event\nDELETE\nFROM event\nWHERE kind = 'old';" in mysql
    runbook = (out / "README.md").read_text()
    assert "## Data loss" in runbook
    assert "- step 1 `b2`: DATA NOT RESTORED: the upgrade deletes rows from event; the downgrade writes " \
           "nothing back into event" in runbook
    assert "- step 4 `e5`: PROBABLE RENAME: drop + create of tables event/events" in runbook
    assert "| 1 | `b2` | purge old events | DATA LOSS; DATA NOT RESTORED by the downgrade |" in runbook
    verified = run_distill(["verify", str(out)], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr
