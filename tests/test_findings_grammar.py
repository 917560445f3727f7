"""Findings a DBA can trust (issue 30): every PostgreSQL hazard of the list has its finding in
the step files of a bundle, every safe form has none, and the false alarms are gone.

squawk (2.70) is the second opinion (``test_squawk_agrees_where_distill_follows_it``, run when
the ``squawk`` program is installed: ``pip install squawk-cli``). distill follows its rules
require-concurrent-index-creation, require-concurrent-index-deletion, adding-required-field,
adding-not-nullable-field, adding-field-with-default, constraint-missing-not-valid,
prefer-robust-stmts (CREATE INDEX CONCURRENTLY), ban-truncate-cascade, renaming-column,
renaming-table, ban-drop-view, ban-drop-type, ban-drop-function, ban-drop-constraint. It
disagrees on purpose with ban-drop-not-null, ban-drop-default and ban-drop-generated-expression:
they lose no data and take no long lock, so they are no finding (the issue's false alarms). It
finds more than squawk: REVOKE, policies, row-level security, DISABLE TRIGGER, an UPDATE without
WHERE, ALTER TYPE ... ADD VALUE as a lock risk (squawk: only require-enum-value-ordering). It
leaves to squawk its style and setting rules (prefer-bigint-over-int, prefer-text-field,
prefer-timestamp-tz, require-lock-timeout, require-statement-timeout: distill sets timeouts with
--lock-timeout and --statement-timeout)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import run_distill, write_project

BASE = {"revision": "r00", "message": "base", "body": '''
    def upgrade():
        op.create_table("accounts", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("email", sa.String(100), nullable=False, server_default="x"),
                        sa.Column("name", sa.String(100)), sa.Column("status", sa.String(20)),
                        sa.Column("title", sa.String(100)))
        op.create_index("ix_accounts_email", "accounts", ["email"])
        op.create_index("ix_accounts_name", "accounts", ["name"])

    def downgrade():
        op.drop_table("accounts")
'''}

# (revision, what its upgrade does, the finding kind expected, a piece of its message); a kind of
# None: the step must have no destructive, data-loss or lock-risk finding at all
CASES = [
    # the false alarms of the issue
    ("drop_nn", 'op.alter_column("accounts", "email", nullable=True, existing_type=sa.String(100))', None, ""),
    ("drop_def", 'op.alter_column("accounts", "email", server_default=None, existing_type=sa.String(100))',
     None, ""),
    ("drop_expr", 'op.execute("ALTER TABLE accounts ALTER COLUMN title DROP EXPRESSION IF EXISTS")', None, ""),
    ("if_exists", 'op.execute("ALTER TABLE IF EXISTS accounts DROP CONSTRAINT IF EXISTS ck_gone")',
     "destructive", "drops constraint ck_gone of accounts:"),
    ("stable_def", 'op.add_column("accounts", sa.Column("seen_at", sa.DateTime, server_default=sa.text("now()")))',
     None, ""),
    ("backfill", 'op.add_column("accounts", sa.Column("score", sa.Integer))\n'
                 '    op.execute("UPDATE accounts SET score = 0")\n'
                 '    op.execute("UPDATE accounts SET score = 1 WHERE id > 10")', None, ""),
    ("nn_check", 'op.execute("ALTER TABLE accounts ADD CONSTRAINT ck_name_nn CHECK (name IS NOT NULL) NOT VALID")',
     None, ""),
    ("nn_valid", 'op.execute("ALTER TABLE accounts VALIDATE CONSTRAINT ck_name_nn")\n'
                 '    op.alter_column("accounts", "name", nullable=False, existing_type=sa.String(100))', None, ""),
    # hazards, each followed by its safe form
    ("volatile", 'op.add_column("accounts", sa.Column("token", sa.String(36), '
                 'server_default=sa.text("gen_random_uuid()")))', "lock_risk", "with a volatile default"),
    ("backfill_old", 'op.execute("UPDATE accounts SET status = \'new\'")', "destructive", "updates every row"),
    ("set_nn", 'op.alter_column("accounts", "status", nullable=False, existing_type=sa.String(20))',
     "lock_risk", "SET NOT NULL on accounts.status scans"),
    ("required", 'op.add_column("accounts", sa.Column("tier", sa.Integer, nullable=False))',
     "lock_risk+compatibility", "adds accounts.tier NOT NULL without a default: fails outright"),
    ("required_ok", 'op.add_column("accounts", sa.Column("tier", sa.Integer, nullable=False, server_default="0"))',
     None, ""),
    ("drop_idx", 'op.drop_index("ix_accounts_name", table_name="accounts")', "lock_risk",
     "drops index ix_accounts_name under an ACCESS EXCLUSIVE lock"),
    ("drop_idx_ok", 'op.drop_index("ix_accounts_email", table_name="accounts", postgresql_concurrently=True)',
     None, ""),
    ("validate", 'op.execute("ALTER TABLE accounts ADD CONSTRAINT ck_tier CHECK (tier >= 0) NOT VALID")\n'
                 '    op.execute("ALTER TABLE accounts VALIDATE CONSTRAINT ck_tier")', "lock_risk",
     "validates ck_tier of accounts in the transaction that added it NOT VALID"),
    ("add_nv", 'op.execute("ALTER TABLE accounts ADD CONSTRAINT ck_score CHECK (score >= 0) NOT VALID")', None, ""),
    ("validate_ok", 'op.execute("ALTER TABLE accounts VALIDATE CONSTRAINT ck_score")', None, ""),
    ("cic", 'op.create_index("ix_tier", "accounts", ["tier"], postgresql_concurrently=True)', "lock_risk",
     "CONCURRENTLY without IF NOT EXISTS"),
    ("cic_ok", 'op.create_index("ix_score", "accounts", ["score"], postgresql_concurrently=True, if_not_exists=True)',
     None, ""),
    ("truncate", 'op.execute("TRUNCATE accounts CASCADE")', "destructive",
     "TRUNCATE ... CASCADE also deletes every row of each table whose foreign key references accounts"),
    ("ren_col", 'op.alter_column("accounts", "title", new_column_name="heading", existing_type=sa.String(100))',
     "compatibility", "renames column accounts.title to heading"),
    ("ren_col_ok", 'op.add_column("accounts", sa.Column("label", sa.String(100)))', None, ""),
    ("ren_table", 'op.rename_table("accounts", "members")', "compatibility", "renames table accounts to members"),
    ("ren_table_ok", 'op.execute("CREATE VIEW accounts AS SELECT * FROM members")', None, ""),
    ("drop_view", 'op.execute("DROP VIEW accounts")', "compatibility", "drops view accounts"),
    ("view_ok", 'op.execute("CREATE OR REPLACE VIEW member_names AS SELECT id, name FROM members")', None, ""),
    ("drop_type", 'op.execute("DROP TYPE IF EXISTS mood")', "destructive", "drops type mood"),
    ("type_ok", 'op.execute("CREATE TYPE mood AS ENUM (\'ok\')")', None, ""),
    ("enum_value", 'op.execute("ALTER TYPE mood ADD VALUE \'meh\'")', "lock_risk", "adds a value to enum type mood"),
    ("drop_fn", 'op.execute("DROP FUNCTION IF EXISTS touch()")', "destructive", "drops function touch"),
    ("fn_ok", 'op.execute("CREATE OR REPLACE FUNCTION touch() RETURNS integer AS $$ SELECT 1 $$ LANGUAGE sql")',
     None, ""),
    ("revoke", 'op.execute("REVOKE SELECT ON members FROM PUBLIC")', "destructive", "revokes privileges on members"),
    ("grant_ok", 'op.execute("GRANT SELECT ON members TO PUBLIC")', None, ""),
    ("policy", 'op.execute("CREATE POLICY own ON members USING (true)")', "destructive",
     "row-level security policy own of members"),
    ("rls", 'op.execute("ALTER TABLE members ENABLE ROW LEVEL SECURITY")', "destructive",
     "turns on row-level security for members"),
    ("no_trigger", 'op.execute("ALTER TABLE members DISABLE TRIGGER ALL")', "destructive", "disables trigger ALL"),
    ("trigger_ok", 'op.execute("ALTER TABLE members ENABLE TRIGGER ALL")', None, ""),
    ("identity", 'op.add_column("members", sa.Column("seq", sa.Integer, sa.Identity()))', "lock_risk",
     "adds members.seq with a value computed for every row"),
    ("drop_col", 'op.drop_column("members", "label")', "destructive+compatibility",
     "drops column members.label and its data"),
]
KINDS = ("destructive", "data_loss", "lock_risk", "compatibility")
# the fixture's server (its findings judged for PostgreSQL 15: test_server_version_* for others)
PG15 = 'server_version = { postgresql = "15" }\n'


def _revisions() -> list[dict]:
    revisions, down = [BASE], "r00"
    for revision, code, _, _ in CASES:
        revisions.append({"revision": revision, "down": down, "message": revision,
                          "body": f"def upgrade():\n    {code}\n\ndef downgrade():\n    pass\n"})
        down = revision
    return revisions


@pytest.fixture(scope="module")
def steps(tmp_path_factory) -> dict[str, dict]:
    """The PostgreSQL steps of a bundle of the fixture history (one transaction per migration,
    so a VALIDATE in a later step is in a later transaction), and each step file's text."""
    root = tmp_path_factory.mktemp("findings")
    project = write_project(root / "project", _revisions(), distill_toml=PG15)
    env = project / "migrations" / "env.py"
    env.write_text(env.read_text().replace("literal_binds=True,", "literal_binds=True, transaction_per_migration=True,"))
    out = root / "bundle"
    result = run_distill(["build", "--dialect", "postgresql", "--from", "r00", "--to", "heads",
                          "--out", str(out)], project)
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    found = {}
    for step in manifest["dialects"]["postgresql"]["steps"]:
        files = [p for p in (out / "postgresql" / "steps").glob("*.up.sql")
                 if p.name.split("-")[1] == step["revision"]]
        found[step["revision"]] = {"up": step["up"], "sql": files[0].read_text(), "path": files[0]}
    return found


@pytest.mark.parametrize(("revision", "kind", "piece"), [(c[0], c[2], c[3]) for c in CASES],
                         ids=[c[0] for c in CASES])
def test_each_hazard_has_its_finding_and_each_safe_form_none(steps, revision, kind, piece):
    up, sql = steps[revision]["up"], steps[revision]["sql"]
    if kind is None:
        assert all(up.get(k, []) == [] for k in KINDS), up
        assert not any(f"-- {label}" in sql for label in ("DESTRUCTIVE", "LOCK RISK", "COMPATIBILITY", "DATA LOSS"))
    else:
        kinds = kind.split("+")
        assert any(piece in message for message in up[kinds[0]]), up
        labels = {"destructive": "DESTRUCTIVE", "lock_risk": "LOCK RISK", "compatibility": "COMPATIBILITY"}
        assert all(f"-- {labels[k]}: " in sql and up[k] for k in kinds), up
        assert all(up.get(k, []) == [] for k in KINDS if k not in kinds), up


def _step(revision: str, down: str, upgrade: str, downgrade: str) -> dict:
    return {"revision": revision, "down": down, "message": revision,
            "body": f"def upgrade():\n    {upgrade}\n\ndef downgrade():\n    {downgrade}\n"}


def test_data_not_restored_needs_the_rows_or_the_columns_written_back(tmp_path):
    """Deleted rows come back only by an INSERT into the table, overwritten values only by an
    UPDATE of the same columns: any other write into the table restores nothing."""
    project = write_project(tmp_path / "project", [
        BASE,
        _step("purge", "r00", 'op.execute("DELETE FROM accounts WHERE title = \'\'")',
              'op.execute("UPDATE accounts SET status = NULL")'),
        _step("mark", "purge", 'op.execute("UPDATE accounts SET status = \'x\' WHERE id < 5")',
              'op.execute("UPDATE accounts SET name = NULL WHERE id < 5")'),
        _step("mark_back", "mark", 'op.execute("UPDATE accounts SET status = \'y\' WHERE id < 5")',
              'op.execute("UPDATE accounts SET status = \'x\' WHERE id < 5")'),
        _step("purge_back", "mark_back", 'op.execute("DELETE FROM accounts WHERE id = 7")',
              'op.execute("INSERT INTO accounts (id, email) VALUES (7, \'a\')")'),
        _step("fill", "purge_back", 'op.add_column("accounts", sa.Column("score", sa.Integer))\n'
                                    '    op.execute("UPDATE accounts SET score = 1 WHERE id > 10")',
              'op.drop_column("accounts", "score")'),
    ])
    result = run_distill(["check", "--dialect", "postgresql", "--json"], project)
    report = json.loads(result.stdout)
    assert [(f["revision"], f["message"]) for f in report["data_not_restored"]] == [
        ("purge", "the upgrade deletes rows from accounts; the downgrade inserts none back into accounts"),
        ("mark", "the upgrade overwrites status in rows of accounts; the downgrade sets none of them back")]
    # the backfill of a column the step added overwrites no earlier value
    assert "fill" not in {f["revision"] for f in report["data_loss"] if f["direction"] == "upgrade"}


SEED = '''op.bulk_insert(sa.table("accounts", sa.column("id", sa.Integer), sa.column("email", sa.String)),
                   [{"id": 101, "email": "a@x"}, {"id": 102, "email": "b@x"}])'''


def test_a_downgrade_deleting_only_the_rows_its_upgrade_inserted_loses_no_data(tmp_path):
    project = write_project(tmp_path / "project", [
        BASE,
        # by id alone: other rows with those ids are not known to be impossible (no key is known)
        _step("seed", "r00", SEED, 'op.execute("DELETE FROM accounts WHERE id IN (101, 102)")'),
        _step("seed_eq", "seed", SEED.replace("101", "201").replace("102", "202"),
              'op.execute("DELETE FROM accounts WHERE id = 202 AND email = \'b@x\'")'),
        # a row the upgrade did not insert (103), a test that is no key (>), an OR: data loss
        _step("seed_more", "seed_eq", SEED.replace("101", "301").replace("102", "302"),
              'op.execute("DELETE FROM accounts WHERE id IN (301, 302, 103)")'),
        _step("seed_range", "seed_more", SEED.replace("101", "401").replace("102", "402"),
              'op.execute("DELETE FROM accounts WHERE id > 400")'),
        _step("seed_or", "seed_range", SEED.replace("101", "501").replace("102", "502"),
              'op.execute("DELETE FROM accounts WHERE id = 501 OR id = 7")'),
    ])
    result = run_distill(["check", "--dialect", "postgresql,sqlite", "--json"], project)
    report = json.loads(result.stdout)
    losses = {(f["revision"], f["direction"]): f for f in report["data_loss"]}
    assert set(losses) == {("seed", "downgrade"), ("seed_more", "downgrade"), ("seed_range", "downgrade"),
                           ("seed_or", "downgrade")}
    assert all(f["message"] == "deletes rows from accounts" and f["dialects"] == ["postgresql", "sqlite"]
               for f in losses.values())
    # the same in a bundle's downgrade step files
    out = tmp_path / "bundle"
    built = run_distill(["build", "--dialect", "postgresql", "--from", "r00", "--to", "heads", "--out", str(out)],
                        project)
    assert built.returncode == 0, built.stderr
    steps = {s["revision"]: s for s in json.loads((out / "manifest.json").read_text())["dialects"]["postgresql"]["steps"]}
    assert [r for r, s in steps.items() if s["down"]["data_loss"]] == ["seed", "seed_more", "seed_range", "seed_or"]
    down = (out / "postgresql" / "downgrade.sql").read_text()
    assert down.count("-- DATA LOSS: deletes rows from accounts") == 4


def test_the_schema_summary_reads_alter_table_action_by_action():
    from distill.audit.schema_summary import summary

    sql = ("ALTER TABLE IF EXISTS accounts DROP COLUMN legacy, ALTER COLUMN email DROP NOT NULL, "
           "ADD COLUMN score integer;\nALTER TABLE ONLY accounts ALTER COLUMN name DROP DEFAULT;\n"
           "DROP INDEX CONCURRENTLY IF EXISTS ix_old;\n")
    assert summary(sql, "postgresql") == {
        "columns added": ["accounts.score"], "columns changed": ["accounts.email", "accounts.name"],
        "columns dropped": ["accounts.legacy"], "indexes dropped": ["ix_old"]}


# squawk's rules for the cases it judges as distill does (the hazards' finding, none for the safe
# forms), left out: the cases of the disagreements above
SQUAWK = {"if_exists": "ban-drop-constraint", "volatile": "adding-field-with-default",
          "set_nn": "adding-not-nullable-field", "required": "adding-required-field",
          "drop_idx": "require-concurrent-index-deletion", "validate": "constraint-missing-not-valid",
          "cic": "prefer-robust-stmts", "truncate": "ban-truncate-cascade", "ren_col": "renaming-column",
          "ren_table": "renaming-table", "drop_view": "ban-drop-view", "drop_type": "ban-drop-type",
          "drop_fn": "ban-drop-function", "stable_def": None, "nn_valid": None, "required_ok": None,
          "drop_idx_ok": None, "validate_ok": None, "add_nv": None, "ren_col_ok": None, "view_ok": None}
# squawk's rules about style and settings, and CREATE INDEX CONCURRENTLY inside the step file's
# transaction (how distill wraps steps, not what the revision wrote)
SQUAWK_IGNORED = {"require-lock-timeout", "require-statement-timeout", "prefer-bigint-over-int",
                  "prefer-text-field", "prefer-timestamp-tz", "ban-concurrent-index-creation-in-transaction"}


def _squawk() -> str | None:
    """squawk (the test extra installs squawk-cli next to this Python), or on PATH."""
    beside = Path(sys.executable).parent / "squawk"
    return str(beside) if beside.is_file() else shutil.which("squawk")


@pytest.mark.skipif(_squawk() is None and os.environ.get("DISTILL_REQUIRE_DATABASES") != "1",
                    reason="squawk is not installed (pip install squawk-cli)")
def test_squawk_agrees_where_distill_follows_it(steps):
    assert _squawk() is not None, "squawk-cli is in the test extra: pip install -e '.[test]'"
    for revision, rule in SQUAWK.items():
        result = subprocess.run([_squawk(), "--reporter", "json", str(steps[revision]["path"])],
                                capture_output=True, text=True, timeout=60)
        rules = {v["rule_name"] for v in json.loads(result.stdout)} - SQUAWK_IGNORED
        assert rules == ({rule} if rule else set()), revision


def test_every_action_of_one_alter_table_has_its_finding(tmp_path):
    """SQL Server drops several columns or constraints in one action list (DROP COLUMN a, b);
    PostgreSQL and MySQL repeat the verb (DROP COLUMN a, DROP COLUMN b): each is a finding."""
    project = write_project(tmp_path / "project", [
        BASE,
        _step("multi", "r00", 'op.execute("ALTER TABLE accounts DROP COLUMN name, title")\n'
                              '    op.execute("ALTER TABLE accounts DROP CONSTRAINT ck_a, ck_b, COLUMN status")\n'
                              '    op.execute("ALTER TABLE accounts ALTER COLUMN email DROP DEFAULT, DROP COLUMN x")',
              "pass"),
    ])
    report = json.loads(run_distill(["check", "--dialect", "mssql", "--json"], project).stdout)
    assert [f["message"].split(":")[0] for f in report["destructive"] if f["revision"] == "multi"] == [
        "drops column accounts.name and its data", "drops column accounts.title and its data",
        "drops constraint ck_a of accounts", "drops constraint ck_b of accounts",
        "drops column accounts.status and its data", "drops column accounts.x and its data"]


def test_fail_on_destructive_passes_harmless_column_changes(tmp_path):
    """The issue's first false alarm: DROP NOT NULL and DROP DEFAULT were 'drops column
    accounts.NOT', so --fail-on destructive failed them; a real DROP COLUMN still fails it."""
    harmless = ('op.alter_column("accounts", "email", nullable=True, server_default=None, '
                'existing_type=sa.String(100))')
    base = {**BASE, "body": BASE["body"].replace('op.drop_table("accounts")', "pass")}  # no DROP TABLE
    project = write_project(tmp_path / "ok", [base, _step("relax", "r00", harmless, "pass")])
    result = run_distill(["check", "--dialect", "postgresql,mysql,mssql", "--fail-on", "destructive"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    project = write_project(tmp_path / "drop", [base, _step("drop", "r00", 'op.drop_column("accounts", "name")',
                                                           "pass")])
    result = run_distill(["check", "--dialect", "postgresql", "--fail-on", "destructive"], project)
    assert result.returncode == 1 and "drops column accounts.name and its data" in result.stdout
