"""--shadow: what offline mode cannot render, rendered against a shadow database, applied with the
real clients and compared with online Alembic; identical to offline output wherever offline works."""

from __future__ import annotations

import json
import re

import pytest
from helpers import assert_same_database, online
from projects import CREATE_T, SHELF, run_distill, write_project

from distill.config import load

ORDERS = {"revision": "a1", "message": "orders with rows", "body": '''
    def upgrade():
        orders = op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                                 sa.Column("status", sa.String(20)), sa.Column("total", sa.Integer))
        op.bulk_insert(orders, [{"id": 1, "status": "new", "total": 5},
                                {"id": 2, "status": "paid", "total": 50},
                                {"id": 3, "status": "it's sent", "total": 500}])

    def downgrade():
        op.drop_table("orders")
'''}
ONE_BY_ONE = {"revision": "b2", "down": "a1", "message": "statuses upper case, row by row", "body": '''
    def upgrade():
        bind = op.get_bind()
        for row in bind.execute(sa.text("SELECT id, status FROM orders ORDER BY id")).fetchall():
            bind.execute(sa.text("UPDATE orders SET status = :s WHERE id = :i"),
                         {"s": row.status.upper(), "i": row.id})

    def downgrade():
        bind = op.get_bind()
        for row in bind.execute(sa.text("SELECT id, status FROM orders ORDER BY id")).fetchall():
            bind.execute(sa.text("UPDATE orders SET status = :s WHERE id = :i"),
                         {"s": row.status.lower(), "i": row.id})
'''}
INSPECTED = {"revision": "c3", "down": "b2", "message": "a note column unless there is one", "body": '''
    def upgrade():
        if "note" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("orders")}:
            op.add_column("orders", sa.Column("note", sa.String(60)))

    def downgrade():
        with op.batch_alter_table("orders") as batch:
            batch.drop_column("note")
'''}
ORM = {"revision": "d4", "down": "c3", "message": "notes on big orders, through the ORM", "imports": '''
from sqlalchemy.orm import Session, declarative_base

Base = declarative_base()


class Order(Base):
    __tablename__ = "orders"
    id = sa.Column(sa.Integer, primary_key=True)
    status = sa.Column(sa.String(20))
    total = sa.Column(sa.Integer)
    note = sa.Column(sa.String(60))
''', "body": '''
    def upgrade():
        session = Session(bind=op.get_bind())
        for order in session.query(Order).filter(Order.total > 10).order_by(Order.id):
            order.note = "big order of " + str(order.total)
        session.flush()

    def downgrade():
        session = Session(bind=op.get_bind())
        for order in session.query(Order).filter(Order.note.isnot(None)).order_by(Order.id):
            order.note = None
        session.flush()
'''}
BATCH = {"revision": "e5", "down": "d4", "message": "wider status, batch mode without copy_from", "body": '''
    def upgrade():
        with op.batch_alter_table("orders") as batch:
            batch.alter_column("status", existing_type=sa.String(20), type_=sa.String(40))

    def downgrade():
        with op.batch_alter_table("orders") as batch:
            batch.alter_column("status", existing_type=sa.String(40), type_=sa.String(20))
'''}
AUTOLOAD = {"revision": "f6", "down": "e5", "message": "small orders noted, table autoloaded", "body": '''
    def upgrade():
        orders = sa.Table("orders", sa.MetaData(), autoload_with=op.get_bind())
        op.execute(orders.update().where(orders.c.note.is_(None)).values(note="small"))

    def downgrade():
        orders = sa.Table("orders", sa.MetaData(), autoload_with=op.get_bind())
        op.execute(orders.update().where(orders.c.note == "small").values(note=None))
'''}
REVISIONS = [ORDERS, ONE_BY_ONE, INSPECTED, ORM, BATCH, AUTOLOAD]
DATA_DEPENDENT = {"b2", "d4"}  # read rows; c3, e5 and f6 only inspect the schema


def _project(tmp_path):
    return write_project(tmp_path / "project", REVISIONS)


def _steps(script: str) -> dict[str, str]:
    """The text of each step of a script, by revision (Alembic's '-- Running ...' comment)."""
    parts = re.split(r"^-- Running (?:upgrade|downgrade) \S* -> (\S+)$", script, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_offline_cannot_render_the_history(tmp_path):
    result = run_distill(["sql", "--dialect", "sqlite"], _project(tmp_path))
    assert result.returncode == 1 and "b2" in result.stderr


def test_each_pattern_rendered_against_a_shadow_applies_like_online_alembic(tmp_path, databases):
    project = _project(tmp_path)
    settings = load(project)
    target, reference = databases.create(), databases.create()
    dialect = databases.dialect
    # a throwaway shadow: a temp SQLite file, or a temporary local PostgreSQL or MariaDB server
    up = run_distill(["sql", "--dialect", dialect, "--shadow"], project)
    assert up.returncode == 0, up.stderr
    steps = _steps(up.stdout)
    assert {r for r, text in steps.items() if "-- DATA-DEPENDENT: rendered from the rows of orders in " in text} \
        == DATA_DEPENDENT, up.stdout
    assert "UPDATE orders SET status = 'IT''S SENT' WHERE id = 3" in _flat(steps["b2"])
    server = {"mysql": "MariaDB database (standing in for MySQL)", "mariadb": "MariaDB database",
              "postgresql": "PostgreSQL database", "sqlite": "SQLite database"}[dialect]
    assert f"rendered from the rows of orders in a throwaway {server}\n" in steps["b2"]
    target.apply(up.stdout)
    online(settings, reference.url, "upgrade", "head")
    assert_same_database(reference.url, target.url)

    # the downgrade renders against the reference, at head: which is left as it was
    before = reference.dump()
    args = ["--shadow"] if dialect == "sqlite" else ["--shadow-url", reference.url]
    down = run_distill(["sql", "--dialect", dialect, "--down", "--from", "head", "--to", "a1", *args], project)
    assert down.returncode == 0, down.stderr
    assert reference.dump() == before
    target.apply(down.stdout)
    online(settings, reference.url, "downgrade", "a1")
    assert_same_database(reference.url, target.url)


def test_a_shadow_url_with_rows_drives_the_updates_and_is_left_unchanged(tmp_path, postgres_server):
    project = _project(tmp_path)
    database = postgres_server.create()
    online(load(project), database.url, "upgrade", "a1")
    database.apply("INSERT INTO orders VALUES (7, 'late', 1), (8, 'lost', 2);")
    before = database.dump()
    result = run_distill(["sql", "--dialect", "postgresql", "--from", "a1", "--to", "b2",
                          "--shadow-url", database.url], project)
    assert result.returncode == 0, result.stderr
    assert database.dump() == before  # schema, rows and alembic_version
    assert "UPDATE orders SET status = 'LATE' WHERE id = 7" in _flat(result.stdout)
    assert "UPDATE orders SET status = 'LOST' WHERE id = 8" in _flat(result.stdout)
    assert "-- DATA-DEPENDENT: rendered from the rows of orders in a copy of the --shadow-url PostgreSQL " \
           "database" in result.stdout
    wrong = run_distill(["sql", "--dialect", "postgresql", "--shadow-url", database.url], project)
    assert wrong.returncode == 1
    assert "the --shadow-url database is at a1, but the range starts at base" in wrong.stderr
    assert database.dump() == before


def test_a_shadow_bundle_records_its_shadow_and_its_data_dependent_steps(tmp_path):
    project = _project(tmp_path)
    result = run_distill(["build", "--dialect", "sqlite", "--out", str(tmp_path / "b"), "--shadow"], project)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    entry = manifest["dialects"]["sqlite"]
    assert entry["shadow"] == {"kind": "throwaway", "held_data": False,
                               "server_version": entry["shadow"]["server_version"]}
    flagged = {s["revision"] for s in entry["steps"] if s["up"].get("data_dependent")}
    assert flagged == DATA_DEPENDENT
    runbook = (tmp_path / "b" / "README.md").read_text()
    assert "data-dependent steps" in runbook and "against a shadow database (sqlite: throwaway" in runbook
    assert "step 2 `b2` (upgrade): rendered from the rows of orders in a throwaway SQLite database" in runbook
    verified = run_distill(["verify", str(tmp_path / "b"), "--rebuild"], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def _fixture_histories(root):
    """The example and the fixture histories other tests write, each a project under ``root``."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from conftest import REPO
    from generate_history import generate
    from test_literals_real import BODY, CORPUS
    from test_set_order import INDEXED
    from test_upgrade_only import REVISIONS as UPGRADE_ONLY
    from test_version_table_from_env import REVISIONS as OWN_VERSION_TABLE
    corpus = [{"revision": "c0ffee000001", "message": "literal corpus", "body": BODY.format(corpus=CORPUS)}]
    projects = {"example": REPO, "generated": generate(root / "generated", 24, "linear")}
    for name, revisions in {"literals": corpus, "shelf": SHELF, "set-order": INDEXED,
                            "upgrade-only": UPGRADE_ONLY, "version-table": OWN_VERSION_TABLE}.items():
        projects[name] = write_project(root / name, revisions)
    return projects


# fixtures whose offline SQL the database itself refuses (found by the shadow): revision, error
REFUSED_BY_THE_SHADOW = {
    ("shelf", "sqlite"): ("f2", 'near "ALTER": syntax error'),  # ALTER COLUMN ... TYPE
    ("shelf", "mariadb"): ("f1", "'AUTO_INCREMENT' cannot be used in the CHECK clause"),
}


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql", "mariadb"])
def test_every_fixture_renders_the_same_with_and_without_a_shadow(dialect, request, tmp_path):
    """Upgrades against an empty --shadow-url database; downgrades against the throwaway shadow,
    which first runs the history up to where the downgrade starts."""
    from conftest import Databases
    server = Databases(dialect, request) if dialect != "sqlite" else None
    compared = 0
    for name, project in _fixture_histories(tmp_path).items():
        for direction in (["--from", "base", "--to", "heads"],
                          ["--down", "--from", "heads", "--to", "base", "--allow-base", "--allow-irreversible"]):
            offline = run_distill(["sql", "--dialect", dialect, *direction], project)
            assert offline.returncode == 0, offline.stderr
            shadow = ["--shadow"] if server is None or "--down" in direction else \
                ["--shadow-url", server.create().url]
            shadowed = run_distill(["sql", "--dialect", dialect, *direction, *shadow], project)
            refused = REFUSED_BY_THE_SHADOW.get((name, dialect))
            if refused:  # offline writes what the database refuses: the shadow says so
                revision, message = refused
                assert shadowed.returncode == 1 and not shadowed.stdout
                assert f"cannot render revision {revision} " in shadowed.stderr
                assert "refused a statement it sends" in shadowed.stderr and message in shadowed.stderr
                continue
            assert shadowed.returncode == 0, f"{name} {direction}: {shadowed.stderr}"
            assert shadowed.stdout == offline.stdout, f"{name} {direction}"
            compared += 1
    assert compared == 14 - 2 * sum(d == dialect for _, d in REFUSED_BY_THE_SHADOW)


@pytest.mark.own_shadow_servers  # distill must try to start its own
def test_without_server_binaries_the_throwaway_shadow_asks_for_a_url(tmp_path):
    import os
    import sys
    project = _project(tmp_path)
    # a PATH holding only Python: neither mariadb-install-db nor pg_config is found
    bare = tmp_path / "bin"
    bare.mkdir()
    (bare / "python").symlink_to(sys.executable)
    result = run_distill(["sql", "--dialect", "mariadb", "--shadow"], project,
                         env={"PATH": f"{bare}{os.pathsep}/nonexistent"})
    assert result.returncode == 1 and not result.stdout
    assert "distill cannot start a throwaway MariaDB shadow server here (the MariaDB server binaries " \
           "(mariadbd, mariadb-install-db) are not installed); install them" in result.stderr
    # a --shadow-url database is copied into a throwaway server: without one, nothing runs at all
    named = run_distill(["sql", "--dialect", "mariadb", "--shadow-url",
                         f"mariadb+pymysql://root@localhost/x?unix_socket={tmp_path / 'none.sock'}"], project,
                        env={"PATH": f"{bare}{os.pathsep}/nonexistent"})
    assert named.returncode == 1 and not named.stdout
    assert "distill cannot start a throwaway MariaDB shadow server here (the MariaDB server binaries " \
           "(mariadbd, mariadb-install-db) are not installed); distill never renders on the " \
           "--shadow-url database itself" in named.stderr


def test_check_with_a_shadow_reports_data_dependent_steps_and_what_fails_even_there(tmp_path):
    project = _project(tmp_path)
    offline = run_distill(["check", "--dialect", "sqlite"], project)
    assert offline.returncode == 1 and "CANNOT RENDER OFFLINE: 10" in offline.stdout
    shadowed = run_distill(["check", "--dialect", "sqlite", "--shadow"], project)
    assert shadowed.returncode == 0, shadowed.stdout + shadowed.stderr
    assert "CANNOT RENDER: 0" in shadowed.stdout and "DATA-DEPENDENT: 4" in shadowed.stdout
    assert "OK: every revision renders against the shadow database" in shadowed.stdout
    broken = write_project(tmp_path / "broken", [ORDERS, {"revision": "x2", "down": "a1", "body": """
        def upgrade():
            op.get_bind().execute(sa.text("SELECT nothing FROM nowhere")).fetchall()

        def downgrade():
            pass
    """}])
    result = run_distill(["check", "--dialect", "sqlite", "--shadow"], broken)
    assert result.returncode == 1 and "CANNOT RENDER: 1" in result.stdout, result.stdout + result.stderr
    assert "x2" in result.stdout and "nowhere" in result.stdout


CONCURRENT_INDEX = [ORDERS, {"revision": "b2", "down": "a1", "message": "index built concurrently", "body": '''
    def upgrade():
        with op.get_context().autocommit_block():
            op.create_index("ix_orders_status", "orders", ["status"], postgresql_concurrently=True)

    def downgrade():
        with op.get_context().autocommit_block():
            op.drop_index("ix_orders_status", table_name="orders", postgresql_concurrently=True)
'''}]


@pytest.mark.own_shadow_servers  # a PostgreSQL server distill starts
def test_a_statement_outside_any_transaction_renders_against_either_shadow(tmp_path, postgres_server):
    """CREATE INDEX CONCURRENTLY cannot run inside a transaction: the shadow (throwaway, or the
    copy of a --shadow-url database) commits where the revision commits."""
    project = write_project(tmp_path / "project", CONCURRENT_INDEX)
    offline = run_distill(["sql", "--dialect", "postgresql"], project)
    shadowed = run_distill(["sql", "--dialect", "postgresql", "--shadow"], project)
    assert offline.returncode == shadowed.returncode == 0, shadowed.stderr
    assert shadowed.stdout == offline.stdout and "CREATE INDEX CONCURRENTLY" in shadowed.stdout
    database = postgres_server.create()
    before = database.dump()
    copied = run_distill(["sql", "--dialect", "postgresql", "--shadow-url", database.url], project)
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout == offline.stdout
    assert database.dump() == before


IRREVERSIBLE = {"revision": "g7", "down": "f6", "message": "a column, for good", "body": '''
    def upgrade():
        op.add_column("orders", sa.Column("extra", sa.Integer))

    def downgrade():
        raise NotImplementedError("irreversible")
'''}
BROKEN = {"revision": "h8", "down": "g7", "message": "reads nowhere", "body": '''
    def upgrade():
        op.get_bind().execute(sa.text("SELECT nothing FROM nowhere")).fetchall()

    def downgrade():
        op.execute("SELECT 1")
'''}
AFTER = {"revision": "i9", "down": "h8", "message": "after it", "body": '''
    def upgrade():
        op.create_table("later", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("later")
'''}


def _moved(report):
    return {"cannot_render": sorted((i["revision"], i["direction"], i["location"]) for i in report["cannot_render"]),
            "irreversible": sorted(i["revision"] for i in report["irreversible"]),
            "data_dependent": sorted((i["revision"], i["direction"]) for i in report["data_dependent"]),
            **{k: v for k, v in report.items() if k not in ("cannot_render", "data_dependent", "irreversible")}}


def test_check_with_a_shadow_starts_one_server_per_dialect(tmp_path, monkeypatch, postgres_server):
    """check --shadow (and --shadow-url) moves one shadow along the range: one throwaway server
    for the whole check, not one per step and direction; the report is that of each step alone:
    past an irreversible step (the shadow is brought back up from base), a step that cannot
    render, and one that only it leads to."""
    from distill import api
    from distill.shadow import ShadowSpec, servers
    started = []
    original = servers.LocalPostgres.__init__

    def counted(self, *args):
        started.append(self)
        original(self, *args)

    monkeypatch.setattr(servers.LocalPostgres, "__init__", counted)
    project = api.Project(write_project(tmp_path / "project", [*REVISIONS, IRREVERSIBLE, BROKEN, AFTER]))
    report = _moved(api.check(project, dialect_names="postgresql", shadow=ShadowSpec()).to_json())
    assert len(started) == 1
    broken = "migrations/versions/008_h8.py, line 11 (`op.get_bind().execute(sa.text(\"SELECT nothing " \
             "FROM nowhere\")).fetchall()`)"
    assert report["cannot_render"] == [("h8", "downgrade", broken), ("h8", "upgrade", broken),
                                       ("i9", "downgrade", broken), ("i9", "upgrade", broken)]
    assert report["irreversible"] == ["g7"]
    assert report["data_dependent"] == [("b2", "downgrade"), ("b2", "upgrade"), ("d4", "downgrade"),
                                        ("d4", "upgrade")]
    named = postgres_server.create()
    before = named.dump()
    copied = api.check(project, dialect_names="postgresql", shadow=ShadowSpec(url=named.url)).to_json()
    assert len(started) == 2 and named.dump() == before
    assert _moved(copied) == report


def test_a_server_tool_that_fails_is_reported_by_its_first_error_not_only_by_its_last_line():
    """mariadb-install-db ends every failure with "[ERROR] Aborting": the cause (here the kernel's
    AIO contexts used up by other servers) is the first error line, and the report must carry it."""
    from distill.shadow import servers

    failing = ["sh", "-c", 'echo "[ERROR] io_setup() failed with EAGAIN" >&2; echo "[ERROR] Aborting" >&2; exit 1']
    with pytest.raises(servers.ServerUnavailable, match=r"^sh failed: \[ERROR\] io_setup\(\) failed with EAGAIN; "
                                                          r"\[ERROR\] Aborting$"):
        servers._run(failing)


# Two branches from a1; b2 depends on a2 (the other branch) and looks at the table a2 changed
FLAGGED = [CREATE_T, {"revision": "a2", "down": "a1", "message": "t.flag", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("flag", sa.Integer))

    def downgrade():
        op.drop_column("t", "flag")
'''}, {"revision": "b2", "down": "a1", "message": "retire t.flag where it is", "body": '''
    depends_on = "a2"

    def _columns():
        return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("t")}

    def upgrade():
        if "flag" in _columns():
            op.drop_column("t", "flag")

    def downgrade():
        if "flag" not in _columns():
            op.add_column("t", sa.Column("flag", sa.Integer))
'''}]


def test_check_with_a_shadow_renders_each_step_where_its_dependencies_are_applied(tmp_path):
    """A step on one branch that depends on another branch's revision renders with that revision
    applied: check --shadow reports the column b2 drops (it once rendered b2 from a shadow where
    it had just downgraded a2, and reported nothing)."""
    project = write_project(tmp_path / "flagged", FLAGGED)
    result = run_distill(["check", "--dialect", "sqlite", "--shadow", "--to", "b2", "--format", "json"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["cannot_render"] == []
    assert ("b2", "upgrade", "drops column t.flag and its data") in {
        (i["revision"], i["direction"], i["message"]) for i in report["destructive"]}


def test_check_with_a_shadow_of_the_example_finds_what_offline_check_finds():
    """The example's branches, its merge and its depends_on, moved along on one shadow per
    dialect: every step renders there (none was refused a statement the SQL never sends), and
    the findings are offline check's."""
    from conftest import REPO
    example = REPO / "examples" / "bookshop"
    offline = run_distill(["check", "--format", "json"], example)
    shadowed = run_distill(["check", "--shadow", "--format", "json"], example)
    assert shadowed.returncode == 0, shadowed.stdout + shadowed.stderr
    found, expected = json.loads(shadowed.stdout), json.loads(offline.stdout)
    assert found["cannot_render"] == [] and found["ok"]
    assert {k: v for k, v in found.items() if k != "reproducibility"} == \
        {k: v for k, v in expected.items() if k != "reproducibility"}


def test_a_shadow_is_never_moved_down_through_a_downgrade_that_does_nothing(tmp_path):
    """Its schema would stay as the revision left it while distill counts the revision as gone:
    the catch-up refuses, naming the revision, before anything runs."""
    from distill.errors import OfflineRenderError
    from distill.history.plan import make_plan
    from distill.history.scripts import History
    from distill.offline.shadow_plans import catch_up_plans
    project = write_project(tmp_path / "p", [CREATE_T, {"revision": "x2", "down": "a1", "body": '''
        def upgrade():
            op.execute("DELETE FROM t")

        def downgrade():
            pass
    '''}])
    history = History(load(project))
    assert catch_up_plans(history, ("a1",), make_plan(history, "a1", "x2")) == []
    moved = catch_up_plans(history, ("a1",), make_plan(history, "base", "a1"))
    assert [(p.direction, [s.revision for s in p.steps]) for p in moved] == [("downgrade", ["a1"])]
    with pytest.raises(OfflineRenderError, match="below revision x2: its downgrade"):
        catch_up_plans(history, ("x2",), make_plan(history, "base", "a1"))


@pytest.mark.own_shadow_servers  # servers distill starts
def test_servers_started_early_are_handed_out_or_stopped_and_removed(monkeypatch):
    """check --shadow starts its servers on threads while the history loads: the one a shadow
    takes is the one started early (it answers), the one nobody took is stopped on the way out,
    and no server directory is left behind."""
    import os
    import shutil
    import tempfile

    import sqlalchemy as sa

    from distill.shadow import servers
    from distill.shadow.clients import driver_url  # the installed driver (psycopg or psycopg2)
    scratch = tempfile.mkdtemp(prefix="distill-early-test-", dir="/tmp")
    os.chmod(scratch, 0o755)  # as root the servers run as postgres: it must reach its directory
    monkeypatch.setattr(tempfile, "tempdir", scratch)
    try:
        with servers.started_early(["postgresql-server", "postgresql-server"]):
            with servers.take("postgresql-server") as taken:
                engine = sa.create_engine(driver_url(taken.url("postgres")), poolclass=sa.pool.NullPool)
                with engine.connect() as connection:
                    assert connection.exec_driver_sql("SELECT 1").scalar() == 1
                assert len(os.listdir(scratch)) == 2  # one started early was taken, not a third
            assert len(os.listdir(scratch)) == 1  # the taken one stopped with its user
        assert os.listdir(scratch) == []
        with servers.take("postgresql-server") as later:  # none left: one starts now
            assert len(os.listdir(scratch)) == 1 and later.url("postgres").query["host"].startswith(scratch)
        assert os.listdir(scratch) == []
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def test_check_with_a_shadow_for_mysql_and_mariadb_takes_each_server_as_it_is_up(tmp_path):
    """Both shadows run on a MariaDB server, both started early; in this suite both borrow the
    session's one server, one at a time, so the second is up only once the first stopped: each
    job takes whichever is up (waiting on the other, which thread won the lock decides, hangs)."""
    project = write_project(tmp_path / "flagged", FLAGGED)
    result = run_distill(["check", "--dialect", "mysql,mariadb", "--shadow", "--to", "b2", "--format", "json"],
                         project)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["cannot_render"] == [] and report["dialects"] == ["mysql", "mariadb"]
    assert [(i["revision"], i["dialects"]) for i in report["destructive"] if i["direction"] == "upgrade"] == \
        [("b2", ["mysql", "mariadb"])]


@pytest.mark.own_shadow_servers  # servers distill starts
@pytest.mark.parametrize("kind", ["postgresql-server", "mariadb-server"])
def test_a_throwaway_server_starts_from_its_kept_data_directory(tmp_path, monkeypatch, kind):
    """The first start keeps the freshly initialised data directory in the cache; the next
    copies it instead of running initdb / mariadb-install-db, and answers; a kept copy that does
    not start is removed and the server initialised afresh (and kept again)."""
    import os
    import shutil
    import tempfile

    import sqlalchemy as sa

    from distill.shadow import servers
    from distill.shadow.clients import driver_url
    scratch = tempfile.mkdtemp(prefix="distill-template-test-", dir="/tmp")
    os.chmod(scratch, 0o755)  # as root the servers run as their own users: they must reach it
    monkeypatch.setattr(tempfile, "tempdir", scratch)
    ran = []
    original = servers._run
    monkeypatch.setattr(servers, "_run", lambda command, **kw: (ran.append(command[0]), original(command, **kw)))
    setup = {"postgresql-server": "initdb", "mariadb-server": "mariadb-install-db"}[kind]
    cache = tmp_path / "cache"

    def answers() -> list[str]:
        ran.clear()
        with servers.SERVERS[kind](cache) as server:
            engine = sa.create_engine(driver_url(server.url(server.admin_database)), poolclass=sa.pool.NullPool)
            with engine.connect() as connection:
                assert connection.exec_driver_sql("SELECT 1").scalar() == 1
            engine.dispose()
        return [os.path.basename(program) for program in ran]

    try:
        assert setup in answers()  # initialised, and kept
        [kept] = list((cache / "servers-1").iterdir())
        assert setup not in answers()  # copied
        for item in (kept / "data").iterdir():  # a kept copy emptied: it cannot start
            shutil.rmtree(item) if item.is_dir() else item.unlink()
        assert setup in answers()  # initialised afresh
        assert setup not in answers() and any((kept / "data").iterdir())  # and kept again
        assert os.listdir(scratch) == []  # every server's own directory removed
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.mark.own_shadow_servers  # servers distill starts
def test_no_cache_keeps_no_server_data_directory(tmp_path, monkeypatch):
    """check --shadow keeps its servers' initialised data directories in the cache directory,
    and with --no-cache writes nothing there."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    project = write_project(tmp_path / "p", [CREATE_T])
    kept = tmp_path / "xdg" / "distill" / "servers-1"
    result = run_distill(["check", "--dialect", "postgresql", "--shadow", "--no-cache"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not kept.exists()
    result = run_distill(["check", "--dialect", "postgresql", "--shadow"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name.split("-")[0] for p in kept.iterdir()] == ["postgresql"]


TWO_ROOTS = [CREATE_T, {"revision": "a2", "down": "a1", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("x", sa.Integer))

    def downgrade():
        op.drop_column("t", "x")
'''}, {"revision": "s1", "down": None, "body": '''
    def upgrade():
        op.create_table("s", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("s")
'''}, {"revision": "s2", "down": "s1", "body": '''
    def upgrade():
        op.add_column("s", sa.Column("y", sa.Integer))

    def downgrade():
        op.drop_column("s", "y")
'''}]


def test_check_with_a_shadow_of_two_roots_renders_each_base_step(tmp_path):
    """A step from base creates the version table; another root's line may have made it on the
    shadow already (the shadow keeps other lines applied, as the bundle does)."""
    project = write_project(tmp_path / "roots", TWO_ROOTS)
    result = run_distill(["check", "--dialect", "sqlite", "--shadow", "--format", "json"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["cannot_render"] == []


# b1 and a1 both add t.bcol on sibling branches; a1 is irreversible (its downgrade does nothing)
SIBLINGS = [{"revision": "r0", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}, {"revision": "a1", "down": "r0", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("bcol", sa.Integer))

    def downgrade():
        pass
'''}, {"revision": "b1", "down": "r0", "body": '''
    def upgrade():
        op.add_column("t", sa.Column("bcol", sa.Integer))

    def downgrade():
        op.drop_column("t", "bcol")
'''}]


def test_check_with_a_shadow_fails_where_the_bundle_fails_after_a_sibling_branch(tmp_path):
    """Each step renders on what the bundle has applied when it comes to it, other branches'
    steps included: the second of two sibling revisions adding the same column fails in check
    --shadow as it fails in the bundle (check said OK: it had downgraded the sibling)."""
    project = write_project(tmp_path / "siblings", SIBLINGS)
    bundle = run_distill(["sql", "--dialect", "sqlite", "--shadow"], project)
    assert bundle.returncode == 1 and "duplicate column name: bcol" in bundle.stderr
    checked = run_distill(["check", "--dialect", "sqlite", "--shadow", "--format", "json"], project)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    refused = json.loads(checked.stdout)["cannot_render"]
    assert refused and all("duplicate column name: bcol" in item["cause"] for item in refused)


def test_servers_started_early_are_all_stopped_through_a_second_interrupt(monkeypatch):
    """The first Ctrl-C or SIGTERM unwinds into stopping the servers started early; a second one
    while that runs does not leave one running: every stop is tried again, the signal raised
    after."""
    from distill.shadow import servers
    stopped = []

    class Quick:
        interrupt = [True]

        def __init__(self, *_args) -> None:
            pass

        def stop(self) -> None:
            if Quick.interrupt.pop() if Quick.interrupt else False:
                raise KeyboardInterrupt  # the second signal, in the middle of this stop
            stopped.append(self)

    monkeypatch.setitem(servers.SERVERS, "quick-server", Quick)
    with pytest.raises(KeyboardInterrupt):
        with servers.started_early(["quick-server", "quick-server", "quick-server"]):
            raise KeyboardInterrupt  # the first one, while the history loads
    assert len(stopped) == 3 and servers._EARLY == {}
