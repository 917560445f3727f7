"""rehearse --data-from: the bundle proven on copies of a database holding rows (issue 29), on
PostgreSQL. A DATA-DEPENDENT step (rendered from the rows a shadow held) passes on copies of the
database it was rendered from, fails on them when it was rendered from empty tables (its SQL
differs), and without --data-from the report says it was proven on empty tables only. The named
database is only read: its dump is the same before and after."""

from __future__ import annotations

import json

from helpers import online
from projects import run_distill, write_project

from distill.config import load

ITEMS = {"revision": "a1", "message": "items", "body": '''
    def upgrade():
        op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("price", sa.Integer, nullable=False))

    def downgrade():
        op.drop_table("items")
'''}
# reads the rows (only possible against a shadow) and writes one UPDATE per row it found
DOUBLE = {"revision": "b2", "down": "a1", "message": "double every price, row by row", "body": '''
    ITEMS = sa.table("items", sa.column("id", sa.Integer), sa.column("price", sa.Integer))

    def _each(factor):
        rows = op.get_bind().execute(sa.text("SELECT id, price FROM items ORDER BY id")).fetchall()
        for id_, price in rows:
            op.execute(ITEMS.update().where(ITEMS.c.id == id_).values(price=price * factor))

    def upgrade():
        _each(2)

    def downgrade():
        rows = op.get_bind().execute(sa.text("SELECT id, price FROM items ORDER BY id")).fetchall()
        for id_, price in rows:
            op.execute(ITEMS.update().where(ITEMS.c.id == id_).values(price=price // 2))
'''}


def _rehearse(project, bundle, *args):
    result = run_distill(["rehearse", str(bundle), "--json", *args], project)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_rehearse_on_copies_of_a_database_with_rows(tmp_path, postgres_server):
    project = write_project(tmp_path / "project", [ITEMS, DOUBLE])
    source = postgres_server.create()
    online(load(project), source.url, "upgrade", "a1")
    source.apply("INSERT INTO items (id, price) VALUES (1, 10), (2, 25), (3, 7);")
    before = source.dump()
    from_rows, from_empty = tmp_path / "from-rows", tmp_path / "from-empty"
    for out, shadow in ((from_rows, ["--shadow-url", source.url]), (from_empty, ["--shadow"])):
        built = run_distill(["build", "--dialect", "postgresql", "--from", "a1", "--to", "b2",
                             "--out", str(out), "--name", "1.0", *shadow], project)
        assert built.returncode == 0, built.stderr
    assert (from_rows / "postgresql" / "upgrade.sql").read_text().count("UPDATE items") == 3
    assert "UPDATE items" not in (from_empty / "postgresql" / "upgrade.sql").read_text()

    code, report = _rehearse(project, from_rows, "--data-from", source.url)
    assert code == 0, json.dumps(report["phases"], indent=1)
    assert report["notes"] == [] and "schema and rows" in report["database"]
    code, report = _rehearse(project, from_empty, "--data-from", source.url)
    assert code == 1  # on rows, the SQL rendered from empty tables does not do what online Alembic does
    failed = [phase for phase in report["phases"] if not phase["passed"]]
    assert failed and any("items" in d for phase in failed for d in phase["differences"])
    code, report = _rehearse(project, from_empty, "--url", postgres_server.create().url)
    assert code == 0, report
    assert report["notes"] and report["notes"][0].startswith(
        "proven on empty tables only: step 1 b2 (upgrade), step 1 b2 (downgrade)")
    assert source.dump() == before  # the named database was only read

    elsewhere = postgres_server.create()  # databases not at the bundle's start: refused
    refused = run_distill(["rehearse", str(from_rows), "--data-from", elsewhere.url], project)
    assert refused.returncode != 0 and "the --data-from database has no alembic_version table, so it is " \
        "not at the bundle's start (a1)" in refused.stderr
    online(load(project), elsewhere.url, "upgrade", "b2")
    refused = run_distill(["rehearse", str(from_rows), "--data-from", elsewhere.url], project)
    assert refused.returncode != 0 and "the --data-from database is at b2, but the bundle starts at a1" \
        in refused.stderr
