"""Bad input of every kind: one clear paragraph naming the revision (and file) and the cause, a
non-zero exit, and nothing on stdout that could be mistaken for SQL."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from projects import write_project
from runner import run_distill

REPO = Path(__file__).resolve().parent.parent

TABLE = """
def upgrade():
    op.create_table("t", sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))

def downgrade():
    op.drop_table("t")
"""
QUERIES = """
def upgrade():
    rows = op.get_bind().execute(sa.text("SELECT id FROM t")).fetchall()
    for row in rows:
        op.execute(f"UPDATE t SET n = 1 WHERE id = {row.id}")

def downgrade():
    raise NotImplementedError("the cleanup cannot be undone")
"""
INSPECTS = """
def upgrade():
    if "t" in sa.inspect(op.get_bind()).get_table_names():
        op.add_column("t", sa.Column("m", sa.Integer))

def downgrade():
    pass
"""
BATCH_WITHOUT_COPY_FROM = """
def upgrade():
    with op.batch_alter_table("t") as batch:
        batch.alter_column("n", type_=sa.BigInteger, existing_type=sa.Integer)

def downgrade():
    pass
"""
ENGINE_URL = """
def upgrade():
    if op.get_bind().engine.url.database == "prod":
        op.execute("SELECT 1")

def downgrade():
    pass
"""


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return run_distill(args, cwd, timeout=120)


def assert_error(result: subprocess.CompletedProcess, *fragments: str) -> str:
    assert result.returncode != 0, result.stdout
    assert result.stdout == "", "nothing may reach stdout on an error"
    message = result.stderr.strip()
    assert message.startswith("distill: error: "), message
    assert "\n" not in message, "one paragraph"
    assert "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in: {message}"
    return message


@pytest.fixture(scope="module")
def unsafe(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("unsafe"), [
        {"revision": "aaa1110000", "body": TABLE},
        {"revision": "bbb2220000", "down": "aaa1110000", "message": "clean up t", "body": QUERIES},
        {"revision": "ccc3330000", "down": "bbb2220000", "body": INSPECTS},
        {"revision": "ddd4440000", "down": "ccc3330000", "body": BATCH_WITHOUT_COPY_FROM},
        {"revision": "eee5550000", "down": "ddd4440000", "body": ENGINE_URL},
    ])


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--from", "aaa1", "--to", "bbb2"],
         ["revision bbb2220000 (clean up t)", "002_bbb2220000.py, line ", "op.get_bind()",
          "uses the result of a statement at line ", "--shadow", "context.is_offline_mode()"]),
        (["--from", "bbb2", "--to", "ccc3"],
         ["revision ccc3330000", "003_ccc3330000.py, line ", "inspects the live database",
          "context.is_offline_mode()"]),
        (["--from", "ddd4", "--to", "eee5"],
         ["revision eee5550000", "005_eee5550000.py, line ", "reads the database URL",
          "context.is_offline_mode()"]),
        (["--down", "--from", "bbb2", "--to", "aaa1"],
         ["crosses what cannot be reverted", "bbb2220000 (clean up t)", "its downgrade() raises",
          "--allow-irreversible"]),
    ],
)
def test_revision_that_cannot_render_offline(unsafe, args, fragments):
    assert_error(run(["sql", "--dialect", "postgresql", *args], unsafe), *fragments)


def test_sqlite_batch_without_copy_from(unsafe):
    result = run(["sql", "--dialect", "sqlite", "--from", "ccc3", "--to", "ddd4"], unsafe)
    assert_error(result, "revision ddd4440000", "004_ddd4440000.py, line ", "batch mode",
                 "copy_from")


def test_the_same_batch_renders_on_postgresql(unsafe):
    result = run(["sql", "--dialect", "postgresql", "--from", "ccc3", "--to", "ddd4"], unsafe)
    assert result.returncode == 0, result.stderr
    assert "ALTER TABLE t\nALTER COLUMN n TYPE BIGINT;" in result.stdout


def test_unknown_revision_lists_the_candidates():
    message = assert_error(run(["sql", "--dialect", "sqlite", "--to", "3c1e"], REPO),
                           "no revision matches '3c1e'", "Heads: f03d6b5a4c15")
    assert "Did you mean" in message


def test_ambiguous_prefix_lists_the_candidates(tmp_path):
    write_project(tmp_path, [{"revision": "abcd000001", "message": "first", "body": TABLE},
                             {"revision": "abcd000002", "down": "abcd000001", "message": "second",
                              "body": "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"}])
    assert_error(run(["plan", "--to", "abcd"], tmp_path), "'abcd' is ambiguous",
                 "abcd000001 (first)", "abcd000002 (second)")
    assert_error(run(["plan", "--to", "ab"], REPO), "'ab' is too short", "at least four characters")


def test_range_the_wrong_way():
    assert_error(run(["plan", "--from", "heads", "--to", "3c1d"], REPO), "goes the wrong way",
                 "with --down")
    assert_error(run(["plan", "--down", "--from", "3c1d", "--to", "heads"], REPO),
                 "goes the wrong way", "without --down")


def test_range_across_branches_that_do_not_meet():
    assert_error(run(["plan", "--from", "8b6c", "--to", "9c7d"], REPO), "cannot be walked",
                 "different branches")


@pytest.fixture(scope="module")
def two_heads(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("heads"), [
        {"revision": "root000001", "body": TABLE},
        {"revision": "left000002", "down": "root000001", "message": "left side",
         "body": "def upgrade():\n    op.execute('SELECT 1')\n\ndef downgrade():\n    pass\n"},
        {"revision": "right00003", "down": "root000001", "message": "right side",
         "body": "def upgrade():\n    op.execute('SELECT 2')\n\ndef downgrade():\n    pass\n"},
    ])


def test_multiple_heads_where_one_is_needed(two_heads):
    assert_error(run(["sql", "--dialect", "sqlite", "--to", "head"], two_heads),
                 "'head' is ambiguous", "left000002 (left side)", "right00003 (right side)",
                 "'heads'")


def test_downgrade_to_several_revisions_is_refused(two_heads):
    assert_error(run(["plan", "--down", "--from", "heads", "--to", "left0000,right000"], two_heads),
                 "a downgrade goes to one revision")


def test_broken_revision_script_names_file_line_and_exception(tmp_path):
    write_project(tmp_path, [
        {"revision": "good000001", "body": TABLE},
        {"revision": "bad0000002", "down": "good000001",
         "imports": "from myapp.models import Base  # the app is not importable here",
         "body": "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n"},
    ])
    assert_error(run(["plan"], tmp_path), "revision bad0000002", "002_bad0000002.py",
                 "line 4", "ModuleNotFoundError", "myapp")


def test_syntax_error_in_revision_script(tmp_path):
    write_project(tmp_path, [
        {"revision": "good000001", "body": TABLE},
        {"revision": "bad0000002", "down": "good000001",
         "body": "def upgrade(:\n    pass\n"},
    ])
    assert_error(run(["sql", "--dialect", "sqlite"], tmp_path), "revision bad0000002",
                 "002_bad0000002.py", "SyntaxError")


def test_env_py_that_needs_the_application_settings(tmp_path):
    write_project(tmp_path, [{"revision": "good000001", "body": TABLE}])
    env = tmp_path / "migrations" / "env.py"
    env.write_text("import os\nDATABASE = os.environ['APP_DATABASE_URL']\n" + env.read_text())
    assert_error(run(["sql", "--dialect", "sqlite"], tmp_path), "env.py, line 2",
                 "KeyError", "--standalone")
    result = run(["sql", "--dialect", "sqlite", "--standalone"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE t" in result.stdout


def test_unknown_dialect_and_bad_config(tmp_path):
    result = run(["sql", "--dialect", "db2"], REPO)
    assert result.returncode == 2 and result.stdout == ""
    assert "db2" in result.stderr
    (tmp_path / "distill.toml").write_text('alembic_config = "missing.ini"\n')
    assert_error(run(["plan"], tmp_path), "distill.toml", "missing.ini")
    (tmp_path / "distill.toml").write_text('dialects = ["postgresql", "informix"]\n'
                                           'alembic_config = "missing.ini"\n')
    assert_error(run(["plan"], tmp_path), "informix")


def test_output_file_is_never_half_written(tmp_path):
    target = tmp_path / "out" / "upgrade.sql"
    target.parent.mkdir()
    target.write_text("previous content\n")
    assert_error(run(["sql", "--dialect", "sqlite", "--to", "nope", "-o", str(target)], REPO),
                 "'nope'")
    assert target.read_text() == "previous content\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["upgrade.sql"]
    ok = run(["sql", "--dialect", "sqlite", "--to", "2b7e", "-o", str(target)], REPO)
    assert ok.returncode == 0 and ok.stdout == ""
    assert "CREATE TABLE books" in target.read_text()
    assert sorted(p.name for p in target.parent.iterdir()) == ["upgrade.sql"]


def test_output_into_a_missing_folder_is_refused_not_created(tmp_path):
    target = tmp_path / "typo" / "deeper" / "upgrade.sql"
    assert_error(run(["sql", "--dialect", "sqlite", "-o", str(target)], REPO),
                 f"the folder {target.parent} does not exist")
    assert not (tmp_path / "typo").exists()


def test_an_empty_range_says_so_on_stderr(tmp_path):
    result = run(["sql", "--dialect", "sqlite", "--from", "1.0", "--to", "1.0"], REPO)
    assert result.returncode == 0 and "distill guard" in result.stdout
    assert result.stderr == ("distill: the range 1.0 -> 1.0 has no steps: the script only checks that "
                             "the database is where the range starts (its guard)\n")


def test_a_release_that_changed_names_the_edited_revision_and_releases_dir(tmp_path):
    project = write_project(tmp_path / "project", [
        {"revision": "a1", "message": "t", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}], distill_toml='[releases]\n"1.0" = "a1"\n')
    assert run(["release", "1.0", "--dialect", "sqlite"], project).returncode == 0
    script = next((project / "migrations" / "versions").glob("*.py"))
    script.write_text(script.read_text().replace('"t"', '"t2"'))
    message = assert_error(run(["release", "1.0", "--dialect", "sqlite"], project),
                           "revision(s) a1 were edited after this bundle was built",
                           "choose another --releases-dir")
    assert "--out" not in message
