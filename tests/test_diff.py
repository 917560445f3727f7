"""distill diff on real bundles of the example: an added revision, an edited revision script, a
changed option, a formatting-only change with and without --ignore-formatting; the HTML report
rendered by headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from html import escape as html_escape
from pathlib import Path

import pytest
from runner import run_distill

REPO = Path(__file__).resolve().parent.parent
REQUIRE = os.environ.get("DISTILL_REQUIRE_DATABASES") == "1"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return run_distill(list(args), cwd)


def build(out: Path, *args: str, cwd: Path = REPO) -> Path:
    result = cli("build", "--out", str(out), "--dialect", "postgresql,sqlite", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return out


def diff_json(old: Path, new: Path, *args: str, cwd: Path = REPO) -> tuple[int, dict]:
    result = cli("diff", str(old), str(new), "--format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A copy of the example whose scripts a test may edit."""
    root = tmp_path_factory.mktemp("project")
    shutil.copytree(REPO / "examples" / "bookshop", root, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "distill.toml").write_text('project = "bookshop"\n[releases]\n"2.0" = "ef2c"\n')
    return root


def test_identical_bundles_and_release_versions(tmp_path):
    a = build(tmp_path / "a", "--from", "bc9f", "--to", "ef2c")
    b = build(tmp_path / "b", "--from", "bc9f", "--to", "ef2c")
    code, report = diff_json(a, b)
    assert code == 0 and report["differs"] is False and report["sql"] == []
    assert cli("diff", "2.0", "--rebuild").returncode == 0  # the committed release, by version
    assert cli("diff", "releases/2.0.tar.gz", "2.0").returncode == 0


def test_json_follows_its_schema(tmp_path):
    import jsonschema

    schema = json.loads((REPO / "src" / "distill" / "schemas" / "diff-1.json").read_text())
    _, report = diff_json(REPO / "releases" / "1.1", REPO / "releases" / "2.0")
    jsonschema.validate(report, schema)
    assert report["summary"]["removed_revisions"] == 5 and report["summary"]["added_revisions"] == 3


def test_added_revision(tmp_path):
    old = build(tmp_path / "old", "--from", "bc9f", "--to", "de1b")
    new = build(tmp_path / "new", "--from", "bc9f", "--to", "ef2c")
    code, report = diff_json(old, new)
    assert code == 1
    assert [s["revision"] for s in report["added_revisions"]] == ["ef2c8e7f1a14"]
    assert report["removed_revisions"] == [] and report["edited_after_release"] == []
    changed = {(d["dialect"], d["what"]) for d in report["sql"]}
    assert changed == {(d, f"ef2c8e7f1a14 {w}") for d in ("postgresql", "sqlite") for w in ("up", "down")}
    sql = next(d for d in report["sql"] if d["dialect"] == "postgresql" and d["what"].endswith("up"))
    assert "+CREATE INDEX ix_orders_status_customer ON orders (status, customer_id);" in sql["diff"]
    assert report["summary"]["added_revisions"] == 1


def test_edited_revision_script(project, tmp_path):
    shipped = build(tmp_path / "shipped", "--from", "bc9f", "--to", "ef2c", cwd=project)
    released = cli("release", "2.0", "--dialect", "postgresql,sqlite", cwd=project)  # releases/2.0
    assert released.returncode == 0, released.stderr
    script = project / "migrations" / "versions" / "ef2c8e7f1a14_order_index_and_view.py"
    original = script.read_text()
    try:
        script.write_text(original.replace('"SELECT b.id, b.title, b.stock, a.full_name AS author "',
                                           '"SELECT b.id, b.title, b.stock, b.price, a.full_name AS author "'))
        rebuilt = build(tmp_path / "rebuilt", "--from", "bc9f", "--to", "ef2c", cwd=project)
        code, report = diff_json(shipped, rebuilt, cwd=project)
        assert code == 1
        assert [e["revision"] for e in report["edited_after_release"]] == ["ef2c8e7f1a14"]
        edited = report["edited_after_release"][0]
        assert edited["script"] == "migrations/versions/ef2c8e7f1a14_order_index_and_view.py"
        assert edited["old_sha256"] != edited["new_sha256"]
        # the Python itself: the bundles ship their revision scripts (sources/)
        assert (shipped / "sources" / "versions" / script.name).read_text() == original
        assert f"sources/versions/{script.name}" in (shipped / "SHA256SUMS").read_text()
        assert '+        "SELECT b.id, b.title, b.stock, b.price, a.full_name AS author "' in edited["source_diff"]
        assert '-        "SELECT b.id, b.title, b.stock, a.full_name AS author "' in edited["source_diff"]
        whats = {(d["dialect"], d["what"]) for d in report["sql"]}
        assert ("postgresql", "ef2c8e7f1a14 up") in whats and ("postgresql", "upgrade.sql") in whats
        assert any("b.price" in line and line.startswith("+") for d in report["sql"] for line in d["diff"])
        text = cli("diff", str(shipped), str(rebuilt), cwd=project)
        assert text.returncode == 1 and "EDITED AFTER RELEASE" in text.stdout
        python_line = text.stdout.index("+        \"SELECT b.id, b.title, b.stock, b.price")
        assert text.stdout.index("EDITED AFTER RELEASE") < python_line < text.stdout.index("SQL differences")
        assert edited["new_sha256"] in text.stdout  # in full, not shortened
        assert "\x1b[" not in text.stdout  # colour only on a terminal
        # what an auditor runs: the shipped release against a rebuild from today's sources
        result = cli("diff", "2.0", "--rebuild", "--format", "json", cwd=project)
        against_sources = json.loads(result.stdout)
        assert result.returncode == 1, result.stderr
        assert [e["revision"] for e in against_sources["edited_after_release"]] == ["ef2c8e7f1a14"]
        html = tmp_path / "report.html"
        assert cli("diff", "2.0", "--rebuild", "--format", "html", "-o", str(html), cwd=project).returncode == 1
        _check_html_in_chromium(html, tmp_path, changes=len(against_sources["sql_changes"]))
    finally:
        script.write_text(original)


def test_changed_options(tmp_path):
    project_mode = build(tmp_path / "project", "--from", "base", "--to", "2b7e")
    standalone = build(tmp_path / "standalone", "--from", "base", "--to", "2b7e", "--standalone")
    code, report = diff_json(project_mode, standalone)
    assert code == 1
    assert report["options"] == [{"key": "mode", "old": "project", "new": "standalone"}]
    # without env.py's naming convention the check constraint keeps its short name
    assert any("CONSTRAINT price_nonneg CHECK" in line and line.startswith("+")
               for d in report["sql"] for line in d["diff"])
    other = cli("build", "--out", str(tmp_path / "mysql"), "--dialect", "postgresql,mysql",
                "--from", "base", "--to", "2b7e")
    assert other.returncode == 0
    code, report = diff_json(project_mode, tmp_path / "mysql")
    assert {"key": "dialects", "old": ["postgresql", "sqlite"], "new": ["postgresql", "mysql"]} in report["options"]
    assert {d["dialect"] for d in report["sql"]} == {"mysql", "sqlite"}


def test_formatting_only_change(tmp_path):
    formatted = build(tmp_path / "formatted", "--from", "bc9f", "--to", "ef2c")
    plain = build(tmp_path / "plain", "--from", "bc9f", "--to", "ef2c", "--format", "none")
    code, report = diff_json(formatted, plain)
    assert code == 1 and report["sql"] and {"key": "format", "old": "sqlparse", "new": "none"} in report["options"]
    code, report = diff_json(formatted, plain, "--ignore-formatting")
    assert code == 0, report
    assert report["sql"] == [] and report["options"] == [] and report["ignore_formatting"] is True


def test_diff_cannot_run(tmp_path):
    result = cli("diff", str(tmp_path / "nope"), "releases/2.0")
    assert result.returncode == 2 and "neither a bundle directory" in result.stderr
    assert cli("diff", "9.9", "2.0").returncode == 2


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _headless_chromium(tmp_path: Path) -> list[str]:
    """The command that runs headless Chromium with a profile of its own, offline (the test fails
    without it under DISTILL_REQUIRE_DATABASES=1, else skips)."""
    browser = _chromium()
    if browser is None:
        if REQUIRE:
            pytest.fail("DISTILL_REQUIRE_DATABASES=1 but chromium is not installed (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}"]


def _check_html_in_chromium(html: Path, tmp_path: Path, changes: int) -> None:
    assert "http" not in html.read_text().split("<body>")[0].replace("http-equiv", "")  # no external assets
    page = _dom(html, tmp_path)
    top = page.index('id="edited-after-release"')
    assert top < page.index("SQL differences")  # the edited revisions come first
    assert "ef2c8e7f1a14" in page[top:page.index("</div>", top)]
    assert "b.price" in page and 'class="ins"' in page
    assert page.count('<h3 class="change">') == changes  # each distinct SQL change once
    contents = page.index('id="contents"')  # a table of contents first, linking to each part
    assert contents < top and 'href="#edited-after-release"' in page and 'href="#sql-postgresql"' in page
    assert 'id="sql-postgresql"' in page and 'id="sql-sqlite"' in page
    source = page.index('class="source-diff"')  # the Python diff, inside the edited block, first
    assert top < source < page.index("</div>", top) < page.index("SQL differences")
    assert 'class="add">+        "SELECT b.id, b.title, b.stock, b.price' in page[source:]
    block = page[source:page.index("</pre>", source)]
    assert block.count("<span") > 8 and "</span>\n<span" not in block  # one line per line, no blank between
    shot = tmp_path / "report.png"
    subprocess.run([*_headless_chromium(tmp_path), f"--screenshot={shot}", "--window-size=1280,1600", html.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10_000
    shutil.copy(shot, Path(tempfile.gettempdir()) / "distill-diff-report.png")  # to look at


def test_releases_of_different_ranges_compare_what_they_share():
    code, report = diff_json(REPO / "releases" / "1.1", REPO / "releases" / "2.0")
    assert code == 1
    only_old = {s["revision"] for s in report["removed_revisions"]}
    only_new = {s["revision"] for s in report["added_revisions"]}
    assert only_old and only_new and not only_old & only_new
    # no step of one range is compared with nothing in the other: those are listed, not diffed
    assert not [d for d in report["sql"] if d["old_file"] is None or d["new_file"] is None]
    text = cli("diff", "releases/1.1", "releases/2.0")
    assert "revisions only in 1.1: " in text.stdout and "revisions only in 2.0: " in text.stdout
    assert "revisions removed" not in text.stdout


def test_a_change_repeated_across_dialects_and_files_is_shown_once(project, tmp_path):
    shipped = build(tmp_path / "shipped", "--from", "bc9f", "--to", "ef2c", cwd=project)
    script = project / "migrations" / "versions" / "ef2c8e7f1a14_order_index_and_view.py"
    original = script.read_text()
    try:
        script.write_text(original.replace('"SELECT b.id, b.title, b.stock, a.full_name AS author "',
                                           '"SELECT b.id, b.title, b.stock, b.price, a.full_name AS author "'))
        rebuilt = build(tmp_path / "rebuilt", "--from", "bc9f", "--to", "ef2c", cwd=project)
        code, report = diff_json(shipped, rebuilt, cwd=project)
        changes = report["sql_changes"]
        assert len(changes) < len(report["sql"])
        assert sum(c["occurrences"] for c in changes) == len(report["sql"])
        view = [c for c in changes if any("b.price" in line for line in c["diff"])]
        assert view and all(", " in c["places"] or "upgrade.sql, ef2c8e7f1a14 up" in c["places"] for c in view)
        text = cli("diff", str(shipped), str(rebuilt), cwd=project).stdout
        assert f"SQL differences: {len(report['sql'])} in {len(changes)} distinct change(s)" in text
    finally:
        script.write_text(original)


def test_consecutive_releases_show_what_each_does_to_the_schema():
    code, report = diff_json(REPO / "releases" / "1.1", REPO / "releases" / "2.0")
    summaries = report["schema_summaries"]
    assert set(summaries) == {"1.1", "2.0"}
    for dialect in ("postgresql", "mysql", "mariadb", "oracle", "mssql"):
        assert summaries["1.1"][dialect]["tables added"] == ["customers", "genres", "reviews"], dialect
        assert summaries["2.0"][dialect]["columns dropped"] == ["authors.bio"], dialect
        assert summaries["2.0"][dialect]["views added or replaced"] == ["book_stock"], dialect
    assert summaries["1.1"]["sqlite"]["tables recreated (batch mode)"] == ["orders"]
    text = cli("diff", "releases/1.1", "releases/2.0").stdout
    assert "schema changes of release 2.0:" in text and "  postgresql: columns dropped: authors.bio" in text
    _, same = diff_json(REPO / "releases" / "2.0", REPO / "releases" / "2.0")
    assert same["schema_summaries"] == {}  # not consecutive: no summary


def _dom(html: Path, tmp_path: Path) -> str:
    """The page as headless Chromium renders it."""
    dom = subprocess.run([*_headless_chromium(tmp_path), "--dump-dom", html.as_uri()], capture_output=True,
                         text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def test_html_report_shows_the_runbook_diff(tmp_path):
    """The HTML report once counted "runbook lines changed 80" and showed none of them."""
    _, report = diff_json(REPO / "releases" / "2.0", REPO / "releases" / "2.1")
    changed = [line for line in report["runbook"] if line[:1] in "+-"]
    assert len(changed) == report["summary"]["runbook_lines_changed"] > 10
    html = tmp_path / "report.html"
    assert cli("diff", "releases/2.0", "releases/2.1", "--format", "html", "-o", str(html)).returncode == 1
    page = _dom(html, tmp_path)
    assert 'href="#runbook"' in page[page.index('id="contents"'):]
    start = page.index('id="runbook"')
    section = page[start:page.index("</pre>", start)]
    for line in changed:  # every changed line, marked as added or removed
        kind = "add" if line.startswith("+") else "del"
        assert f'<span class="{kind}">{html_escape(line, quote=False)}</span>' in section, line
    assert "+### 1. `f03d6b5a4c15`: orders: cancel orders left pending" in section


def _tampered(tmp_path: Path, edit) -> Path:
    """A copy of releases/2.0 whose manifest ``edit`` changed, SHA256SUMS re-hashed to match."""
    import hashlib

    bundle = tmp_path / "tampered"
    shutil.copytree(REPO / "releases" / "2.0", bundle)
    manifest = json.loads((bundle / "manifest.json").read_text())
    edit(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    sums = bundle / "SHA256SUMS"
    digest = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    sums.write_text("".join(f"{digest}  manifest.json\n" if line.endswith("  manifest.json") else line + "\n"
                            for line in sums.read_text().splitlines()))
    # intact as far as its sums go (verify itself now also compares the manifest with the files)
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=bundle).returncode == 0
    return bundle


@pytest.mark.parametrize(("field", "edit", "old", "new"), [
    ("project", lambda m: m.update(project="evil"), '"bookshop"', '"evil"'),
    ("dialects.postgresql.client",
     lambda m: m["dialects"]["postgresql"].update(client="psql -d DATABASE -f {file}; rm -rf ~"),
     '"psql -X -v ON_ERROR_STOP=1 -d DATABASE -f {file}"', '"psql -d DATABASE -f {file}; rm -rf ~"'),
    ("dialects.mysql.steps[ab3a0c9d3e12].up.destructive",
     lambda m: m["dialects"]["mysql"]["steps"][0]["up"].update(destructive=[]),
     '["drops column authors.bio and its data"]', "[]"),
    ("steps[ab3a0c9d3e12].message", lambda m: m["steps"][0].update(message="harmless"),
     '"authors: drop bio"', '"harmless"'),
    ("range.to", lambda m: m["range"].update(to=["de1b9d8e2f13"]), '["ef2c8e7f1a14"]', '["de1b9d8e2f13"]'),
])
def test_any_manifest_field_that_differs_is_a_difference(tmp_path, field, edit, old, new):
    """diff once said "no differences" (exit 0) when the manifest's project, a client command or
    a step's destructive findings were edited: the SQL and the runbook are the same."""
    tampered = _tampered(tmp_path, edit)
    code, report = diff_json(REPO / "releases" / "2.0", tampered)
    assert code == 1 and report["differs"] is True
    assert [c["field"] for c in report["manifest_fields"]] == [field]
    assert report["summary"]["manifest_fields_changed"] == 1 and report["sql"] == []
    text = cli("diff", "releases/2.0", str(tampered))
    assert text.returncode == 1 and f"  {field}: {old} -> {new}" in text.stdout
    html = tmp_path / "report.html"
    assert cli("diff", "releases/2.0", str(tampered), "--format", "html", "-o", str(html)).returncode == 1
    assert 'id="manifest"' in html.read_text() and f"<code>{field}</code>" in html.read_text()


RENAME_AND_CONSTRAIN = [
    {"revision": "a1", "message": "users and orgs", "body": '''
def upgrade():
    op.create_table("orgs", sa.Column("id", sa.Integer, primary_key=True))
    op.create_table("users", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(50)),
                    sa.Column("age", sa.Integer), sa.Column("org", sa.Integer))
def downgrade():
    op.drop_table("users")
    op.drop_table("orgs")
'''},
    {"revision": "b2", "down": "a1", "message": "rename and constrain", "body": '''
def upgrade():
    op.alter_column("users", "name", new_column_name="full_name", existing_type=sa.String(50))
    op.create_check_constraint("ck_users_age", "users", "age >= 0")
    op.create_unique_constraint("uq_users_full_name", "users", ["full_name"])
    op.create_foreign_key("fk_users_org", "users", "orgs", ["org"], ["id"])
    op.rename_table("orgs", "organisations")
def downgrade():
    op.rename_table("organisations", "orgs")
    op.drop_constraint("fk_users_org", "users", type_="foreignkey")
    op.drop_constraint("uq_users_full_name", "users", type_="unique")
    op.drop_constraint("ck_users_age", "users", type_="check")
    op.alter_column("users", "full_name", new_column_name="name", existing_type=sa.String(50))
'''},
    {"revision": "c3", "down": "b2", "message": "undo", "body": '''
def upgrade():
    op.rename_table("organisations", "orgs")
    op.drop_constraint("fk_users_org", "users", type_="foreignkey")
    op.drop_constraint("uq_users_full_name", "users", type_="unique")
    op.drop_constraint("ck_users_age", "users", type_="check")
    op.alter_column("users", "full_name", new_column_name="name", existing_type=sa.String(50))
def downgrade():
    op.alter_column("users", "name", new_column_name="full_name", existing_type=sa.String(50))
    op.create_check_constraint("ck_users_age", "users", "age >= 0")
    op.create_unique_constraint("uq_users_full_name", "users", ["full_name"])
    op.create_foreign_key("fk_users_org", "users", "orgs", ["org"], ["id"])
    op.rename_table("orgs", "organisations")
'''},
]


def test_schema_summary_names_renames_and_constraints(tmp_path):
    """The summary once said nothing of a column renamed (users.name -> full_name), a table
    renamed, or a CHECK, UNIQUE or FOREIGN KEY constraint added or dropped."""
    from projects import write_project

    names = ("postgresql", "mysql", "mariadb", "oracle", "mssql")  # SQLite: constraints in batch mode only
    project = write_project(tmp_path / "p", RENAME_AND_CONSTRAIN, distill_toml=(
        f'project = "p"\ndialects = {list(names)!r}\n[releases]\n"1.0" = "a1"\n"1.1" = "b2"\n"1.2" = "c3"\n'
    ).replace("'", '"'))
    assert cli("release", "--all", cwd=project).returncode == 0
    _, report = diff_json(project / "releases" / "1.0", project / "releases" / "1.1", cwd=project)
    added = report["schema_summaries"]["1.1"]
    _, report = diff_json(project / "releases" / "1.1", project / "releases" / "1.2", cwd=project)
    dropped = report["schema_summaries"]["1.2"]
    for name in names:
        assert added[name]["columns renamed"] == ["users.name -> full_name"], name
        assert added[name]["tables renamed"] == ["orgs -> organisations"], name
        assert added[name]["constraints added"] == ["users.ck_users_age (CHECK)", "users.fk_users_org (FOREIGN KEY)",
                                                    "users.uq_users_full_name (UNIQUE)"], name
        assert "columns changed" not in added[name], name  # MySQL's CHANGE old new: a rename
        assert dropped[name]["columns renamed"] == ["users.full_name -> name"], name
        assert dropped[name]["tables renamed"] == ["organisations -> orgs"], name
    for name in ("postgresql", "oracle", "mssql"):  # DROP CONSTRAINT name: the type is not in the SQL
        assert dropped[name]["constraints dropped"] == ["users.ck_users_age", "users.fk_users_org",
                                                        "users.uq_users_full_name"], name
    # MySQL drops a CHECK and a FOREIGN KEY by their own words, a UNIQUE constraint as its index
    assert dropped["mysql"]["constraints dropped"] == ["users.ck_users_age (CHECK)", "users.fk_users_org (FOREIGN KEY)"]
    assert dropped["mysql"]["indexes dropped"] == ["users.uq_users_full_name"]
    text = cli("diff", "releases/1.0", "releases/1.1", cwd=project).stdout
    assert "  postgresql: columns renamed: users.name -> full_name" in text
    assert "  mssql: constraints added: users.ck_users_age (CHECK), " in text


@pytest.mark.parametrize(("dialect", "sql", "expected"), [
    ("sqlite", "ALTER TABLE users RENAME COLUMN name TO full_name;", {"columns renamed": ["users.name -> full_name"]}),
    ("sqlite", "ALTER TABLE users RENAME TO people;", {"tables renamed": ["users -> people"]}),
    ("postgresql", 'ALTER TABLE "users" RENAME COLUMN "name" TO "full_name";',
     {"columns renamed": ["users.name -> full_name"]}),
    ("postgresql", "ALTER TABLE users ADD CHECK (age >= 0), ADD PRIMARY KEY (id);",
     {"constraints added": ["users (CHECK)", "users (PRIMARY KEY)"]}),
    ("mysql", "ALTER TABLE users DROP PRIMARY KEY;", {"constraints dropped": ["users (PRIMARY KEY)"]}),
    ("mysql", "ALTER TABLE users CHANGE name name VARCHAR(60) NULL;", {"columns changed": ["users.name"]}),
    ("mssql", "EXEC sp_rename N'dbo.users.name', N'full_name', N'COLUMN';\nGO",
     {"columns renamed": ["dbo.users.name -> full_name"]}),
])
def test_schema_summary_of_one_statement(dialect, sql, expected):
    from distill.audit.schema_summary import summary

    assert summary(sql, dialect) == expected
