"""--shadow: every write a revision sends through op.get_bind() reaches the file (only what is
provably a read stays out), DATA-DEPENDENT names tables (not CTE names), a MariaDB stand-in for
MySQL runs MySQL's documented statements in MariaDB's form and never says MySQL fails, and
autocommit_block() runs on SQLite and MariaDB shadows as online Alembic runs it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from helpers import assert_same_database, online
from projects import run_distill, write_project

from distill import dialects
from distill.config import load
from distill.shadow import tables_read
from distill.statements.reads import is_read, queries

ROWS = {"revision": "a1", "message": "t with rows", "body": '''
    def upgrade():
        t = op.create_table("t", sa.Column("id", sa.Integer, primary_key=True),
                            sa.Column("v", sa.Integer), sa.Column("w", sa.Integer))
        op.bulk_insert(t, [{"id": 1, "v": 1}, {"id": 2, "v": 2}])

    def downgrade():
        op.drop_table("t")
'''}
CTE_BACKFILL = {"revision": "b2", "down": "a1", "message": "backfill through a CTE", "body": '''
    def upgrade():
        op.get_bind().execute(sa.text(
            "WITH c AS (SELECT id, v * 10 AS x FROM t) UPDATE t SET w = c.x FROM c WHERE t.id = c.id"))

    def downgrade():
        op.get_bind().execute(sa.text("UPDATE t SET w = NULL"))
'''}
CTE_READ = {"revision": "c3", "down": "b2", "message": "rows read through a CTE", "body": '''
    def upgrade():
        bind = op.get_bind()
        rows = bind.execute(sa.text("WITH big AS (SELECT id, v FROM t WHERE v > 1) "
                                    "SELECT id, v FROM big ORDER BY id")).fetchall()
        for row in rows:
            bind.execute(sa.text("UPDATE t SET w = -w WHERE id = :i"), {"i": row.id})

    def downgrade():
        pass
'''}


def _steps(script: str) -> dict[str, str]:
    parts = re.split(r"^-- Running (?:upgrade|downgrade) \S* -> (\S+)$", script, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


# (dialect, statement, provably a read)
CORPUS = [
    ("postgresql", "SELECT id, status FROM orders ORDER BY id", True),
    ("postgresql", "(SELECT 1) UNION (SELECT 2)", True),
    ("postgresql", "WITH c AS (SELECT id FROM t) SELECT * FROM c", True),
    ("postgresql", "SELECT 'update; delete' AS \"insert\" FROM t -- UPDATE t", True),
    ("postgresql", "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                   "ON n.oid = c.relnamespace", True),
    ("postgresql", "EXPLAIN SELECT * FROM t", True),
    ("postgresql", "SHOW search_path", True),
    ("postgresql", "SELECT 1;", True),
    ("postgresql", "WITH c AS (SELECT id, v FROM t) UPDATE t SET w = c.v FROM c WHERE t.id = c.id", False),
    ("postgresql", "WITH gone AS (DELETE FROM t WHERE v < 0 RETURNING id) SELECT count(*) FROM gone", False),
    ("postgresql", "WITH n AS (INSERT INTO t (id) VALUES (9) RETURNING id) SELECT id FROM n", False),
    ("postgresql", "with c as (select 1 as id) merge into t using c on t.id = c.id when matched then delete",
     False),
    ("postgresql", "SELECT * FROM t WHERE id = 1 FOR UPDATE", False),
    ("postgresql", "SELECT * FROM t FOR NO KEY UPDATE SKIP LOCKED", False),
    ("postgresql", "SELECT * FROM t FOR SHARE", False),
    ("postgresql", "SELECT * FROM t FOR KEY SHARE", False),
    ("postgresql", "SELECT * INTO t_copy FROM t", False),
    ("postgresql", "EXPLAIN ANALYZE DELETE FROM t", False),
    ("postgresql", "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM t", False),
    ("postgresql", "SELECT 1; UPDATE t SET w = 0", False),
    ("postgresql", "SELECT setval('t_id_seq', (SELECT max(id) FROM t))", False),
    ("postgresql", "SELECT pg_catalog.nextval('t_id_seq')", False),
    ("postgresql", "SELECT count(*), max(id), coalesce(min(v), 0) FROM t", True),
    ("postgresql", "SELECT CAST(v AS numeric(10, 2)), v::varchar(20) FROM t AS x (a, b)", True),
    ("postgresql", "WITH c (x) AS (SELECT id FROM t) SELECT x FROM c", True),
    ("postgresql", "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a",
     True),
    ("postgresql", "SELECT backfill_orders()", False),  # a project's function may write
    ("postgresql", "SELECT * FROM backfill_orders(10)", False),
    ("postgresql", "SELECT id, archive(id) FROM t", False),
    ("postgresql", "UPDATE t SET w = 0", False),
    ("postgresql", "DO $$ BEGIN UPDATE t SET w = 0; END $$", False),
    ("postgresql", "CALL backfill()", False),
    ("mysql", "SHOW CREATE TABLE `t`", True),
    ("mysql", "DESCRIBE t", True),
    ("mysql", "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()", True),
    ("mysql", "SELECT * FROM t WHERE note = \"it's an UPDATE\"", True),
    ("mysql", "SELECT * FROM t LOCK IN SHARE MODE", False),
    ("mysql", "SELECT * FROM t FOR UPDATE", False),
    ("mysql", "SELECT id INTO @first FROM t LIMIT 1", False),
    ("mysql", "SELECT * FROM t INTO OUTFILE '/tmp/t.csv'", False),
    ("mysql", "EXPLAIN ANALYZE SELECT * FROM t", False),
    ("mysql", "SELECT GET_LOCK('m', 10)", False),
    ("mysql", "WITH c AS (SELECT id FROM t) DELETE t FROM t JOIN c ON c.id = t.id", False),
    ("sqlite", "PRAGMA main.table_info(\"t\")", True),
    ("sqlite", "PRAGMA foreign_key_list('t')", True),
    ("sqlite", "PRAGMA foreign_keys", True),
    ("sqlite", "SELECT sql FROM sqlite_master WHERE name = 't'", True),
    ("sqlite", "SELECT name FROM pragma_table_info('t')", True),
    ("sqlite", "SELECT load_extension('x')", False),
    ("sqlite", "PRAGMA foreign_keys = ON", False),
    ("sqlite", "PRAGMA foreign_keys(ON)", False),
    ("sqlite", "PRAGMA optimize", False),
    ("sqlite", "WITH c AS (SELECT 1 AS id) INSERT INTO t (id) SELECT id FROM c", False),
    ("sqlite", "WITH c AS (SELECT 1 AS id) REPLACE INTO t (id) SELECT id FROM c", False),
    ("sqlite", "SELECT 1; DROP TABLE t", False),
    ("mssql", "SELECT 1", False),  # no read rules for the dialect: when in doubt, a write
    # found in review: writes that looked like reads
    ("mariadb", "SELECT @m := COALESCE(MAX(id), 0) FROM t", False),  # the session's variable
    ("mysql", "SELECT @m:=1", False),
    ("mariadb", "SELECT NEXT VALUE FOR s", False),  # the sequence advances
    ("postgresql", "SELECT audit.audit_table(tablename) FROM pg_tables WHERE schemaname = 'public'", False),
    ("postgresql", "SELECT pg_create_logical_replication_slot('cdc', 'pgoutput')", False),
    ("postgresql", "SELECT pg_catalog.pg_drop_replication_slot('cdc')", False),
    ("postgresql", "SELECT pg_stat_statements_reset()", False),
    ("postgresql", "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a", True),
    ("mariadb", "SELECT @m", True),
]


@pytest.mark.parametrize(("dialect", "sql", "read"), CORPUS)
def test_only_a_provable_read_stays_out_of_the_file(dialect, sql, read):
    assert is_read(sql, dialects.get(dialect)) is read


def test_a_locking_read_is_written_and_still_counts_as_reading_rows():
    postgresql = dialects.get("postgresql")
    assert queries("SELECT * FROM t FOR UPDATE", postgresql)
    assert queries("SELECT setval('s', 1)", postgresql)
    assert not queries("WITH c AS (SELECT id FROM t) UPDATE t SET w = 1 FROM c WHERE c.id = t.id", postgresql)


@pytest.mark.parametrize(("sql", "tables"), [
    ("WITH c AS (SELECT id FROM t) SELECT * FROM c", {"t"}),
    ('WITH "C" (x) AS MATERIALIZED (SELECT id FROM s.u), d AS NOT MATERIALIZED (SELECT 1) '
     'SELECT * FROM "C" JOIN d ON true JOIN v ON true', {"s.u", "v"}),
    ("SELECT extract(year FROM t.created), substring(name FROM 2) FROM t", {"t"}),
    ("SELECT * FROM t WHERE note = 'from x join y'", {"t"}),
    ("SELECT * FROM pg_catalog.pg_class JOIN alembic_version ON true", set()),
])
def test_tables_read_are_tables_not_cte_names(sql, tables):
    assert tables_read(sql, dialects.get("postgresql"), "alembic_version") == tables


def test_a_cte_backfill_through_the_bind_reaches_the_bundle_and_applies_like_online(tmp_path, postgres_server):
    """The backfill updates rows the shadow never had: only a written UPDATE does that."""
    project = write_project(tmp_path / "project", [ROWS, CTE_BACKFILL, CTE_READ])
    settings = load(project)
    target, reference = postgres_server.create(), postgres_server.create()
    for database in (target, reference):  # production: at a1, holding rows the shadow has not
        online(settings, database.url, "upgrade", "a1")
        database.apply("INSERT INTO t (id, v) VALUES (7, 7), (8, 8);")
    built = run_distill(["build", "--dialect", "postgresql", "--from", "a1", "--to", "b2", "--shadow",
                         "--out", str(tmp_path / "bundle")], project)
    assert built.returncode == 0, built.stderr
    upgrade = (tmp_path / "bundle" / "postgresql" / "upgrade.sql").read_text()
    assert "UPDATE t" in _steps(upgrade)["b2"] and "DATA-DEPENDENT" not in upgrade
    target.apply(upgrade)
    online(settings, reference.url, "upgrade", "b2")
    assert_same_database(reference.url, target.url)
    engine = sa.create_engine(target.url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT id, w FROM t ORDER BY id").fetchall()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(1, 10), (2, 20), (7, 70), (8, 80)]


def test_a_read_through_a_cte_is_marked_with_its_table_not_the_cte(tmp_path, postgres_server):
    project = write_project(tmp_path / "project", [ROWS, CTE_BACKFILL, CTE_READ])
    read = run_distill(["sql", "--dialect", "postgresql", "--from", "a1", "--to", "c3", "--shadow"], project)
    assert read.returncode == 0, read.stderr
    markers = re.findall(r"^-- DATA-DEPENDENT: .*$", read.stdout, flags=re.M)
    assert markers == ["-- DATA-DEPENDENT: rendered from the rows of t in a throwaway PostgreSQL database"]
    assert markers[0] in _steps(read.stdout)["c3"]


CHECKED = [ROWS, {"revision": "b2", "down": "a1", "message": "a check, dropped again", "body": '''
    def upgrade():
        op.create_check_constraint("ck_t_v", "t", "v > 0")
        op.create_index("ix_t_v", "t", ["v"])
        op.drop_constraint("ck_t_v", "t", type_="check")

    def downgrade():
        op.drop_index("ix_t_v", table_name="t")
'''}]


@pytest.mark.own_shadow_servers  # a MariaDB server distill starts
def test_mysql_drop_check_runs_on_the_mariadb_stand_in_in_mariadb_form(tmp_path, mariadb_server):
    project = write_project(tmp_path / "project", CHECKED)
    result = run_distill(["sql", "--dialect", "mysql", "--shadow"], project)
    assert result.returncode == 0, result.stderr
    step = _steps(result.stdout)["b2"]
    sql = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("--"))
    assert re.search(r"ALTER TABLE t\s+DROP CHECK ck_t_v;", sql) and "DROP CONSTRAINT" not in sql
    assert "-- WARNING: MariaDB, standing in for MySQL, has no ALTER TABLE ... DROP CHECK (MySQL 8.0.16+): " \
           "the shadow ran the statement below as `ALTER TABLE t DROP CONSTRAINT ck_t_v`; the statement as " \
           "written was not run on MySQL" in step
    # what ran on the stand-in, applied to MariaDB, leaves the schema online Alembic leaves there
    form = dialects.get("mysql").shadow.stand_in[0]
    as_run = form.pattern.sub(form.replacement, sql)
    assert as_run.count("DROP CONSTRAINT ck_t_v") == 1 and "DROP CHECK" not in as_run
    target, reference = mariadb_server.create("mariadb"), mariadb_server.create("mariadb")
    target.apply(as_run)
    online(load(project), reference.url, "upgrade", "head")
    assert_same_database(reference.url, target.url)
    target.apply("INSERT INTO t (id, v) VALUES (3, -1);")  # the check is gone

    # a --shadow-url naming a MariaDB server for mysql: MariaDB stands in there too
    url = run_distill(["sql", "--dialect", "mysql", "--shadow-url", mariadb_server.create("mysql").url], project)
    assert url.returncode == 0, url.stderr
    assert "-- WARNING: MariaDB, standing in for MySQL, has no ALTER TABLE ... DROP CHECK" in url.stdout


def test_a_statement_mariadb_refuses_for_mysql_is_not_said_to_fail_on_mysql(tmp_path):
    project = write_project(tmp_path / "project", [ROWS, {"revision": "b2", "down": "a1", "body": '''
        def upgrade():
            op.create_index("ix_t_v", "t", ["v"])
            op.execute("ALTER TABLE t ALTER INDEX ix_t_v INVISIBLE")

        def downgrade():
            pass
    '''}])
    result = run_distill(["sql", "--dialect", "mysql", "--shadow"], project)
    assert result.returncode == 1 and not result.stdout
    assert "a throwaway MariaDB database (standing in for MySQL) refused a statement it sends" in result.stderr
    assert "MariaDB stood in for MySQL, so this is not proven for MySQL: no MySQL server ran the statement" \
        in result.stderr
    assert "would fail the same way" not in result.stderr


AUTOCOMMIT = [ROWS, {"revision": "b2", "down": "a1", "message": "index outside the transaction", "body": '''
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index("ix_t_v", "t", ["v"], postgresql_concurrently=True)

    def downgrade():
        with op.get_context().autocommit_block():
            op.drop_index("ix_t_v", table_name="t", postgresql_concurrently=True)
'''}]


@pytest.mark.parametrize("dialect", ["sqlite", "mariadb"])
def test_autocommit_block_renders_against_the_shadow_as_online(dialect, request, tmp_path):
    from conftest import Databases
    project = write_project(tmp_path / "project", AUTOCOMMIT)
    offline = run_distill(["sql", "--dialect", dialect], project)
    shadowed = run_distill(["sql", "--dialect", dialect, "--shadow"], project)
    assert offline.returncode == 0, offline.stderr
    assert shadowed.returncode == 0, shadowed.stderr
    assert shadowed.stdout == offline.stdout
    databases = Databases(dialect, request)
    target, reference = databases.create(), databases.create()
    target.apply(shadowed.stdout)
    online(load(project), reference.url, "upgrade", "head")
    assert_same_database(reference.url, target.url)


DRIVER_LEVEL = [ROWS, {"revision": "b2", "down": "a1", "message": "writes with exec_driver_sql", "body": '''
def upgrade():
    bind = op.get_bind()
    bind.exec_driver_sql("UPDATE t SET v = v + 100")
    bind.exec_driver_sql("INSERT INTO t (id, v) VALUES (70, 7)")
    rows = bind.exec_driver_sql("SELECT count(*) FROM t").scalar()  # a read: run, never written

def downgrade():
    op.execute("DELETE FROM t WHERE id = 70")
    op.execute("UPDATE t SET v = v - 100")
'''}]


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mariadb"])
def test_a_write_sent_with_exec_driver_sql_reaches_the_file(dialect, request, tmp_path):
    """SQLAlchemy fires no before_execute for exec_driver_sql: these writes ran on the shadow and
    were missing from the file (exit 0). Applied to a database holding rows: as online Alembic."""
    from conftest import Databases
    project = write_project(tmp_path / "project", DRIVER_LEVEL)
    shadowed = run_distill(["sql", "--dialect", dialect, "--shadow", "--from", "a1", "--to", "b2"], project)
    assert shadowed.returncode == 0, shadowed.stderr
    body = " ".join(" ".join(line for line in shadowed.stdout.splitlines() if not line.startswith("--")).split())
    assert "UPDATE t SET v = v + 100;" in body and "INSERT INTO t (id, v) VALUES (70, 7);" in body
    assert "SELECT count(*) FROM t" not in body
    databases = Databases(dialect, request)
    target, reference = databases.create(), databases.create()
    for database in (target, reference):
        online(load(project), database.url, "upgrade", "a1")  # t holds rows 1 and 2
    target.apply(shadowed.stdout)
    online(load(project), reference.url, "upgrade", "b2")
    assert_same_database(reference.url, target.url)
