"""server_version (issue 30): the server version each dialect's files are applied to changes what
is a risk (dialects/*.toml [server_version]); without it, the dialect's oldest version is assumed
and each finding that depends on it says so. Renames, drops and NOT NULL columns without a default
are compatibility findings in every dialect that writes them."""

from __future__ import annotations

import json

import pytest
from projects import run_distill, write_project

BASE = {"revision": "r00", "message": "base", "body": '''
    def upgrade():
        op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("name", sa.String(100)), sa.Column("title", sa.String(100)))
        op.create_index("ix_accounts_name", "accounts", ["name"])

    def downgrade():
        op.drop_table("accounts")
'''}


def _step(revision: str, down: str, upgrade: str) -> dict:
    return {"revision": revision, "down": down, "message": revision,
            "body": f"def upgrade():\n    {upgrade}\n\ndef downgrade():\n    pass\n"}


VERSIONED = [
    BASE,
    _step("dflt", "r00", 'op.add_column("accounts", sa.Column("score", sa.Integer, server_default="0"))'),
    _step("now", "dflt", 'op.add_column("accounts", sa.Column("seen", sa.DateTime, server_default=sa.text("now()")))'),
    _step("nodflt", "now", 'op.add_column("accounts", sa.Column("note", sa.Text))'),
    _step("enum", "nodflt", 'op.execute("ALTER TYPE mood ADD VALUE \'meh\'")'),
    # outside the transaction: no finding on any version
    _step("enum_ac", "enum", 'with op.get_context().autocommit_block():\n'
                             '        op.execute("ALTER TYPE mood ADD VALUE \'ok\'")'),
    # a valid CHECK (name IS NOT NULL) spares SET NOT NULL its scan from PostgreSQL 12
    _step("nn", "enum_ac", 'op.execute("ALTER TABLE accounts ADD CONSTRAINT ck_nn CHECK (name IS NOT NULL)")\n'
                      '    op.alter_column("accounts", "name", nullable=False, existing_type=sa.String(100))'),
]
ASSUMED_PG = ' (assuming PostgreSQL 10, the oldest distill assumes; set server_version = { postgresql = "..." } ' \
             'in [tool.distill])'
REWRITE = "with a DEFAULT: before PostgreSQL 11 that rewrites every row under an ACCESS EXCLUSIVE lock"
ENUM_OLD = "before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block"
ENUM_NEW = "adds a value to enum type mood: the new value cannot be used before the transaction commits"
NN_OLD = "before PostgreSQL 12 a valid CHECK (name IS NOT NULL) does not spare the scan"
ADD_CK = "adds a check constraint to accounts and validates every row"  # on any version


def _lock_risks(tmp_path, config: str, dialect: str = "postgresql") -> dict[str, list[str]]:
    project = write_project(tmp_path / f"p{abs(hash(config + dialect))}", VERSIONED, distill_toml=config)
    result = run_distill(["check", "--dialect", dialect, "--json"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    found: dict[str, list[str]] = {}
    for finding in json.loads(result.stdout)["lock_risk"]:
        found.setdefault(finding["revision"], []).append(finding["message"])
    return found


def test_without_a_server_version_the_oldest_is_assumed_and_said(tmp_path):
    found = _lock_risks(tmp_path, "")
    assert found == {
        "dflt": [f"adds accounts.score {REWRITE}; add it without a default, then SET DEFAULT and backfill in "
                 f"batches{ASSUMED_PG}"],
        "now": [f"adds accounts.seen {REWRITE}; add it without a default, then SET DEFAULT and backfill in "
                f"batches{ASSUMED_PG}"],
        "enum": [f"adds a value to enum type mood: {ENUM_OLD} and fails in the file's transaction; run it in an "
                 f"autocommit_block(){ASSUMED_PG}"],
        "nn": [f"{ADD_CK} under an ACCESS EXCLUSIVE lock; add it NOT VALID, then VALIDATE CONSTRAINT",
               "SET NOT NULL on accounts.name scans the whole table under an ACCESS EXCLUSIVE lock: "
               f"{NN_OLD}{ASSUMED_PG}"],
    }


@pytest.mark.parametrize(("version", "expected"), [
    ("11", {"enum": [ENUM_OLD], "nn": [ADD_CK, NN_OLD]}),
    ("12", {"enum": [ENUM_NEW], "nn": [ADD_CK]}),
    ("15.4", {"enum": [ENUM_NEW], "nn": [ADD_CK]}),
])
def test_the_server_version_changes_what_is_a_risk(tmp_path, version, expected):
    found = _lock_risks(tmp_path, f'server_version = {{ postgresql = "{version}" }}\n')
    assert set(found) == set(expected), found
    for revision, pieces in expected.items():
        assert len(found[revision]) == len(pieces)
        assert all(piece in message and "assuming" not in message
                   for piece, message in zip(pieces, found[revision], strict=True)), found


@pytest.mark.parametrize(("dialect", "config", "flagged"), [
    ("mysql", "", True), ("mysql", 'server_version = { mysql = "8.0" }\n', True),
    ("mysql", 'server_version = { mysql = "8.0.36" }\n', False), ("mariadb", "", False),
    ("mariadb", 'server_version = { mariadb = "10.2" }\n', True)])
def test_mysql_adds_a_column_instantly_from_8_0_12(tmp_path, dialect, config, flagged):
    found = _lock_risks(tmp_path, config, dialect)
    adds = {r for r, messages in found.items() for m in messages if "without ALGORITHM=INSTANT" in m}
    assert adds == ({"dflt", "now", "nodflt"} if flagged else set()), found
    assert all(("assuming MySQL 5.7" in m) == (config == "") for ms in found.values() for m in ms
               if "INSTANT" in m)


def test_the_manifest_records_the_server_versions_named(tmp_path):
    config = 'server_version = { postgresql = "12", mysql = "8.0.36" }\n'
    for name, toml in (("named", config), ("none", "")):
        project = write_project(tmp_path / name, VERSIONED[:2], distill_toml=toml)
        out = tmp_path / f"{name}-bundle"
        result = run_distill(["build", "--dialect", "postgresql,sqlite", "--from", "base", "--to", "heads",
                              "--out", str(out)], project)
        assert result.returncode == 0, result.stderr
        options = json.loads((out / "manifest.json").read_text())["options"]
        # only the bundle's dialects; nothing when none is named
        assert options.get("server_version") == ({"postgresql": "12"} if toml else None)


@pytest.mark.parametrize(("value", "piece"), [
    ('"15"', "it is '15'"),
    ('{ postgresql = 15 }', "server_version.postgresql is 15, not a version"),
    ('{ postgresql = "fifteen" }', "server_version.postgresql is 'fifteen', not a version"),
    ('{ sqlite = "3.45" }', "server_version names 'sqlite', which is no dialect with version-dependent findings"),
    ('{ postgres = "15" }', "server_version names 'postgres'"),
])
def test_a_bad_server_version_is_one_clear_paragraph(tmp_path, value, piece):
    project = write_project(tmp_path / "p", VERSIONED[:2], distill_toml=f"server_version = {value}\n")
    out = tmp_path / "bundle"
    result = run_distill(["build", "--dialect", "postgresql", "--from", "base", "--to", "heads", "--out", str(out)],
                         project)
    assert result.returncode != 0 and not out.exists()
    assert piece in result.stderr and "distill.toml" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "mariadb, mysql, postgresql" in result.stderr  # the dialects it may name


COMPATIBLE = [
    BASE,
    _step("ren_col", "r00", 'op.alter_column("accounts", "title", new_column_name="heading", '
                            'existing_type=sa.String(100))'),
    _step("ren_tab", "ren_col", 'op.rename_table("accounts", "members")'),
    _step("add_nn", "ren_tab", 'op.add_column("members", sa.Column("tier", sa.Integer, nullable=False))'),
    _step("add_ok", "add_nn", 'op.add_column("members", sa.Column("rank", sa.Integer, nullable=False, '
                              'server_default="0"))'),
    _step("drop_col", "add_ok", 'op.drop_column("members", "name")'),
    _step("drop_ix", "drop_col", 'op.drop_index("ix_accounts_name", table_name="members")'),
]


@pytest.mark.parametrize("dialect", ["postgresql", "mysql", "mariadb", "sqlite", "mssql", "oracle"])
def test_renames_drops_and_required_columns_break_the_running_application(tmp_path, dialect):
    project = write_project(tmp_path / "p", COMPATIBLE)
    report = json.loads(run_distill(["check", "--dialect", dialect, "--json"], project).stdout)
    found = {(f["revision"], f["direction"]) for f in report["compatibility"]}
    # SQL Server renames with sp_rename, whose old name is a string the rules do not read (nor the
    # table, which may be new in the same rendering): no finding rather than a false one
    renames = set() if dialect == "mssql" else {("ren_col", "upgrade"), ("ren_tab", "upgrade")}
    assert found == renames | {("add_nn", "upgrade"), ("drop_col", "upgrade")}, report
    if renames:
        renamed = next(f["message"] for f in report["compatibility"] if f["revision"] == "ren_col")
        assert "the application version still running during the deploy reads title and fails" in renamed
    # the renames are no data loss: nothing destructive about them
    assert not {f["revision"] for f in report["destructive"]} & {"ren_col", "ren_tab", "add_nn"}
    drop_index = [f["message"] for f in report["lock_risk"] if f["revision"] == "drop_ix"]
    assert bool(drop_index) == (dialect in ("postgresql", "mysql", "mariadb")), report["lock_risk"]


def test_fail_on_compatibility_and_the_runbook_section(tmp_path):
    base = {**BASE, "body": BASE["body"].replace('op.drop_table("accounts")', "pass")}  # nothing destructive
    rename = {**COMPATIBLE[1], "body": COMPATIBLE[1]["body"].replace(
        "    pass", '    op.alter_column("accounts", "heading", new_column_name="title", existing_type=sa.String(100))')}
    project = write_project(tmp_path / "p", [base, rename])
    assert run_distill(["check", "--dialect", "postgresql", "--fail-on", "destructive"], project).returncode == 0
    failed = run_distill(["check", "--dialect", "postgresql", "--fail-on", "compatibility"], project)
    assert failed.returncode == 1 and "COMPATIBILITY: 1" in failed.stdout, failed.stdout
    out = tmp_path / "bundle"
    built = run_distill(["build", "--dialect", "postgresql", "--from", "r00", "--to", "heads", "--out", str(out)],
                        project)
    assert built.returncode == 0, built.stderr
    runbook = (out / "README.md").read_text()
    section = runbook.split("## Rolling deploys: what breaks the running application", 1)[1].split("\n## ", 1)[0]
    assert "- step 1 `ren_col`: renames column accounts.title to heading:" in section
    step = json.loads((out / "manifest.json").read_text())["dialects"]["postgresql"]["steps"][0]
    # a rolling deploy runs the upgrade beside the previous version: the downgrade's rename back
    # is no compatibility finding
    assert step["up"]["compatibility"] and step["down"]["statements"] and "compatibility" not in step["down"]
    assert "-- COMPATIBILITY: renames column accounts.title" in (out / "postgresql" / "upgrade.sql").read_text()
    # from base, the table is new in the same files: no running application reads it yet
    fresh = tmp_path / "fresh"
    built = run_distill(["build", "--dialect", "postgresql", "--from", "base", "--to", "heads", "--out", str(fresh)],
                        project)
    assert built.returncode == 0 and "COMPATIBILITY" not in (fresh / "postgresql" / "upgrade.sql").read_text()


BATCH = [BASE, {"revision": "batch", "down": "r00", "message": "batch", "body": '''
    def accounts(*columns):
        return sa.Table("accounts", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True), *columns)

    def upgrade():
        with op.batch_alter_table("accounts", copy_from=accounts(sa.Column("name", sa.String(100)),
                                                                  sa.Column("title", sa.String(100)))) as b:
            b.drop_column("name")
            b.alter_column("title", new_column_name="heading")

    def downgrade():
        with op.batch_alter_table("accounts", copy_from=accounts(sa.Column("heading", sa.String(100)))) as b:
            b.alter_column("heading", new_column_name="title")
            b.add_column(sa.Column("name", sa.String(100)))
'''}]


def test_sqlite_batch_mode_drops_and_renames_are_compatibility_findings(tmp_path):
    """SQLite batch mode recreates the table: the copy lacks the dropped column and holds the
    renamed one under its new name, with no DROP COLUMN or RENAME COLUMN statement for the rules to
    read. The findings are those of the plain statements; none for the downgrade, none when the
    table is created earlier in the same files."""
    project = write_project(tmp_path / "p", BATCH)
    report = json.loads(run_distill(["check", "--dialect", "sqlite", "--json", "--no-reproducibility-check"],
                                    project).stdout)
    assert [(f["revision"], f["direction"], f["message"].split(":")[0]) for f in report["compatibility"]] == [
        ("batch", "upgrade", "drops column accounts.name"),
        ("batch", "upgrade", "renames column accounts.title to heading")], report["compatibility"]
    assert [f["message"] for f in report["destructive"] if f["revision"] == "batch"] == \
        ["drops column accounts.name and its data"]
    whole = run_distill(["sql", "--dialect", "sqlite"], project)  # accounts is created by r00 in the same run
    assert whole.returncode == 0 and "COMPATIBILITY" not in whole.stdout and "DESTRUCTIVE: drops column" in whole.stdout


# ADD COLUMN forms, and whether distill says PostgreSQL 15 rewrites the table for it
ADD_FORMS = {
    "constant": "ALTER TABLE r ADD COLUMN c integer DEFAULT 7",
    "stable": "ALTER TABLE r ADD COLUMN c timestamptz DEFAULT now()",
    "nullable": "ALTER TABLE r ADD COLUMN c text",
    "volatile": "ALTER TABLE r ADD COLUMN c uuid DEFAULT gen_random_uuid()",
    "serial": "ALTER TABLE r ADD COLUMN c serial",
    "identity": "ALTER TABLE r ADD COLUMN c integer GENERATED BY DEFAULT AS IDENTITY",
    "stored": "ALTER TABLE r ADD COLUMN c integer GENERATED ALWAYS AS (id * 2) STORED",
}


def test_a_rewrite_finding_on_postgresql_15_is_a_real_rewrite(postgres_server):
    """On a real PostgreSQL 15, a table's file (relfilenode) changes when ADD COLUMN rewrites it:
    distill's "rewrites every row" finding for server_version 15 is there exactly then."""
    from distill import dialects
    from distill.statements.findings import annotator
    from distill.statements.model import SQL, Statement, VersionTable

    dialect = dialects.get("postgresql")
    database = postgres_server.create()
    rewritten, said = set(), set()
    for name, statement in ADD_FORMS.items():
        database.apply("DROP TABLE IF EXISTS r; CREATE TABLE r (id integer); INSERT INTO r VALUES (1), (2);\n"
                       "CREATE TABLE files AS SELECT relfilenode AS before FROM pg_class WHERE relname = 'r';\n"
                       f"{statement};\n")
        out = database.apply("\\pset format unaligned\n\\pset tuples_only on\n"
                             "SELECT before <> (SELECT relfilenode FROM pg_class WHERE relname = 'r') FROM files;\n"
                             "DROP TABLE files;\n").stdout.decode()
        if out.strip().endswith("t"):
            rewritten.add(name)
        annotate = annotator(dialect, VersionTable("alembic_version", None, "alembic_version", ""),
                             server_version="15")
        if any("rewrites every row" in s.text for s in annotate([Statement(SQL, statement + ";")], 0)):
            said.add(name)
    assert rewritten == {"volatile", "serial", "identity", "stored"}
    assert said == rewritten
