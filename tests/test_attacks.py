"""Attacks and careless use (issue 15), each kept as a test: the refusal or the detection, the exit
code, no traceback (run_distill asserts it), and nothing changed outside the intended output."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

from distill.errors import DistillError
from distill.names import check_release_name, one_line


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_revision_id_that_climbs_out_of_the_bundle_is_refused(tmp_path):
    project = write_project(tmp_path / "project", [
        CREATE_T, {"revision": "evil", "down": "a1", "body": """
def upgrade():
    op.execute("SELECT 1")

def downgrade():
    op.execute("SELECT 1")
"""}])
    script = project / "migrations" / "versions" / "002_evil.py"
    script.write_text(script.read_text().replace("revision = 'evil'", "revision = 'x/../../../../outside/p'"))
    before = _tree(tmp_path)
    result = run_distill(["build", "--dialect", "sqlite", "--out", str(tmp_path / "out" / "b")], project)
    assert result.returncode == 1
    assert result.stderr.startswith("distill: error: the revision id in migrations/versions/002_evil.py "
                                    "'x/../../../../outside/p' cannot be part of a file name"), result.stderr
    assert _tree(tmp_path) == before and not (tmp_path / "out" / "b").exists()
    assert not list(tmp_path.rglob("outside"))


def test_a_newline_in_the_project_name_stays_inside_its_comment(tmp_path):
    project = write_project(tmp_path / "project", [CREATE_T],
                            distill_toml='project = "p\\n\\\\! touch pwned"\ndialects = ["postgresql", "sqlite"]\n')
    result = run_distill(["build", "--out", str(tmp_path / "b")], project)
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "b").rglob("*.sql"):
        lines = path.read_text().splitlines()
        assert lines[0].startswith("-- p \\! touch pwned "), lines[0]
        assert not any(line.startswith("\\!") for line in lines), path
    runbook = (tmp_path / "b" / "README.md").read_text()
    assert runbook.splitlines()[0] == "# p \\\\\\! touch pwned b: database change runbook"  # Markdown-escaped
    assert not (project / "pwned").exists()


def test_markup_in_the_project_name_is_shown_literally_in_the_runbook(tmp_path):
    """The project name heads the runbook a DBA reads rendered: a link, an image, HTML or emphasis
    in it is escaped, shown as the characters the configuration holds (it was markup)."""
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml=(
        'project = "shop <img src=x onerror=alert(1)> [docs](https://evil.example) *now*"\n'
        'dialects = ["sqlite"]\n'))
    result = run_distill(["build", "--out", str(tmp_path / "b"), "--name", "1.0_rc"], project)
    assert result.returncode == 0, result.stderr
    heading, _, generated = (tmp_path / "b" / "README.md").read_text().splitlines()[:3]
    escaped = "shop \\<img src=x onerror=alert(1)\\> \\[docs\\](https://evil.example) \\*now\\*"
    assert heading == f"# {escaped} 1.0_rc: database change runbook"
    assert generated.endswith(f"from the Alembic history of {escaped}.")


@pytest.mark.parametrize("name", ["1.0\n", "1.0\n.bail off", "../x", "a/b", "", "1.0\x00"])
def test_release_names_are_full_matches(name):
    with pytest.raises(DistillError, match="is not a plain release name"):
        check_release_name(name)


def test_one_line_leaves_no_control_character():
    assert one_line("a\nb\r\x00c\x1b[0m\u2028d\x85") == "a b  c [0m d "


def _bundle(tmp_path: Path) -> tuple[Path, Path]:
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml='dialects = ["sqlite"]\n')
    return project, project / "migrations" / "versions"


@pytest.mark.parametrize("where", ["versions", "project", "parent", "git"])
def test_force_never_replaces_what_is_not_a_bundle(tmp_path, where):
    project, versions = _bundle(tmp_path)
    (tmp_path / "repo" / ".git").mkdir(parents=True)
    (tmp_path / "repo" / "keep.txt").write_text("mine")
    out = {"versions": versions, "project": project, "parent": tmp_path, "git": tmp_path / "repo"}[where]
    before = _tree(tmp_path)
    result = run_distill(["build", "--out", str(out), "--force"], project)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"distill: error: {out} ")
    assert _tree(tmp_path) == before


def test_force_replaces_a_bundle_but_not_another_folder(tmp_path):
    project, _ = _bundle(tmp_path)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("mine")
    result = run_distill(["build", "--out", str(other), "--force"], project)
    assert result.returncode == 2 and "is not a distill bundle" in result.stderr
    assert (other / "todo.txt").read_text() == "mine"
    bundle = tmp_path / "b"
    assert run_distill(["build", "--out", str(bundle)], project).returncode == 0
    (bundle / "README.md").write_text("changed")
    result = run_distill(["build", "--out", str(bundle), "--force"], project)
    assert result.returncode == 0 and "replaced" in result.stdout + result.stderr


def test_out_root_is_refused_at_once(tmp_path):
    project, _ = _bundle(tmp_path)
    result = run_distill(["build", "--out", "/", "--name", "x"], project)
    assert result.returncode == 2 and result.stderr.startswith("distill: error: / is /")


REPO = Path(__file__).resolve().parent.parent


def _resum(bundle: Path) -> None:
    """Rewrite SHA256SUMS (and the manifest's file hashes) as someone who can write the bundle can."""
    import hashlib
    import json
    manifest = json.loads((bundle / "manifest.json").read_text())

    def fix(node):
        if isinstance(node, dict):
            if "file" in node and "sha256" in node and (bundle / node["file"]).is_file():
                node["sha256"] = hashlib.sha256((bundle / node["file"]).read_bytes()).hexdigest()
            for value in node.values():
                fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)
    fix(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    files = sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*")
                   if p.is_file() and p.name != "SHA256SUMS")
    (bundle / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((bundle / f).read_bytes()).hexdigest()}  {f}\n" for f in files))


def _tampered(tmp_path: Path, change) -> Path:
    import shutil
    bundle = tmp_path / "1.1"
    shutil.copytree(REPO / "releases" / "1.1", bundle)
    change(bundle)
    _resum(bundle)
    # the sums agree, but the manifest and the runbook no longer agree with the files (issue 31)
    plain = run_distill(["verify", str(bundle)], REPO)
    assert plain.returncode == 1 and "  manifest  " in plain.stdout, plain.stdout
    assert not {line.split()[0] for line in plain.stdout.splitlines()[1:-1]} - {"manifest"}, plain.stdout
    return bundle


def _swap_runbook(bundle: Path) -> None:
    text = (bundle / "README.md").read_text()
    (bundle / "README.md").write_text(text.replace("postgresql/upgrade.sql", "postgresql/downgrade.sql"))


def _soften_manifest(bundle: Path) -> None:
    import json
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["steps"][0]["message"] = "harmless"
    manifest["steps"][0]["reversible"] = not manifest["steps"][0]["reversible"]
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _drop_mysql(bundle: Path) -> None:
    import json
    import shutil
    shutil.rmtree(bundle / "mysql")
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["dialects"]["mysql"]
    manifest["options"]["dialects"].remove("mysql")
    (bundle / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize(("change", "named"), [
    (_swap_runbook, "rebuild   README.md: differs from a rebuild"),
    (_soften_manifest, "rebuild   manifest.json: differs from a rebuild"),
    (_drop_mysql, "rebuild   mysql: the project configures this dialect for its releases"),
])
def test_tampering_with_rewritten_sums_is_caught_by_a_rebuild(tmp_path, change, named):
    bundle = _tampered(tmp_path, change)
    result = run_distill(["verify", str(bundle), "--rebuild"], REPO)
    assert result.returncode == 1 and named in result.stdout, result.stdout[-2000:]


def test_leftovers_of_a_killed_build_are_removed_and_a_second_build_waits_its_turn(tmp_path):
    import fcntl
    project, _ = _bundle(tmp_path)
    out = tmp_path / "rel" / "1.0"
    (tmp_path / "rel" / ".1.0.new-x1y2").mkdir(parents=True)
    (tmp_path / "rel" / ".1.0.new-x1y2" / "half.sql").write_text("-- half")
    (tmp_path / "rel" / ".1.0.tar.gz.k3j4").write_bytes(b"\x1f\x8b")
    (tmp_path / "rel" / ".other.new-abcd").mkdir()  # not this target's: left alone
    assert run_distill(["build", "--out", str(out), "--archive"], project).returncode == 0
    assert sorted(p.name for p in (tmp_path / "rel").iterdir()) == [".other.new-abcd", "1.0", "1.0.tar.gz"]
    with (tmp_path / "rel" / ".1.0.lock").open("a") as held:  # another build holds the lock
        fcntl.flock(held, fcntl.LOCK_EX)
        result = run_distill(["build", "--out", str(out), "--force"], project)
    assert result.returncode == 2
    assert result.stderr.startswith(f"distill: error: another distill is building {out} right now")


def test_force_swaps_in_one_step(tmp_path):
    from distill.bundle import publish
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    assert publish._exchange(a, b)  # Linux: renameat2(RENAME_EXCHANGE)
    assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"


@pytest.mark.parametrize("spec", ["@", "reviews@", "@+1", "@head"])
def test_malformed_branch_specs_are_errors(spec):
    result = run_distill(["plan", "--to", spec], REPO)
    assert result.returncode == 1
    assert result.stderr.startswith(f"distill: error: revision spec {spec!r} is not label@head")


@pytest.mark.parametrize(("line", "says"), [
    ("sys.exit(3)", "fails to import at line 10: SystemExit: 3"),
    ("os._exit(0)", "fails to import at line 10: SystemExit: 0"),
])
def test_a_script_that_exits_at_import_is_named(tmp_path, line, says):
    project = write_project(tmp_path, [CREATE_T, {"revision": "b2", "down": "a1", "imports": "import os, sys",
                                                  "body": f"{line}\ndef upgrade():\n    pass\n"}])
    result = run_distill(["plan"], project)
    assert result.returncode == 1 and "cannot load revision b2: its script migrations/versions/002_b2.py" \
        in result.stderr and says in result.stderr, result.stderr


def test_a_duplicate_id_and_a_missing_parent_are_errors_without_warnings(tmp_path):
    twice = write_project(tmp_path / "twice", [CREATE_T, {**CREATE_T, "message": "again"}])
    result = run_distill(["plan"], twice)
    assert result.returncode == 1 and "Revision a1 is present more than once" in result.stderr
    orphan = write_project(tmp_path / "orphan", [CREATE_T, {"revision": "b2", "down": "ffffffffffff",
                                                             "body": "def upgrade():\n    pass\n"}])
    result = run_distill(["plan"], orphan)
    assert result.returncode == 1 and "Revision ffffffffffff referenced from" in result.stderr
    assert "util.warn" not in result.stderr and "KeyError" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_nul_in_sql_is_refused_and_in_a_message_is_neutralised(tmp_path):
    project = write_project(tmp_path, [CREATE_T, {
        "revision": "b2", "down": "a1", "message": "nul\\x00here",
        "body": 'def upgrade():\n    op.execute("SELECT 1 -- \\x00")\n\ndef downgrade():\n    pass\n'}])
    result = run_distill(["sql", "--dialect", "sqlite", "--from", "a1", "--to", "b2"], project)
    assert result.returncode == 1 and result.stdout == ""
    assert "it writes a NUL character (\\x00) into its SQL, which no SQL client can send" in result.stderr
    script = project / "migrations" / "versions" / "002_b2.py"
    script.write_text(script.read_text().replace('op.execute("SELECT 1 -- \\x00")', "op.execute('SELECT 1')"))
    result = run_distill(["build", "--dialect", "sqlite", "--out", str(tmp_path / "b")], project)
    assert result.returncode == 0, result.stderr
    for path in (tmp_path / "b").rglob("*"):
        if path.is_file() and path.suffix in (".sql", ".md"):
            assert "\x00" not in path.read_text(), path


def _copy_of_release(tmp_path: Path) -> Path:
    import shutil
    bundle = tmp_path / "1.0"
    shutil.copytree(REPO / "releases" / "1.0", bundle)
    return bundle


def test_a_duplicate_sums_line_with_a_wrong_hash_fails_as_with_sha256sum(tmp_path):
    import subprocess
    bundle = _copy_of_release(tmp_path)
    sums = (bundle / "SHA256SUMS").read_text()
    good = next(line for line in sums.splitlines() if line.endswith("  README.md"))
    (bundle / "SHA256SUMS").write_text(f"{'0' * 64}  README.md\n" + sums)
    assert subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=bundle,
                          capture_output=True).returncode != 0
    result = run_distill(["verify", str(bundle)], REPO)
    assert result.returncode == 1 and "README.md: its sha256 differs from SHA256SUMS (line 1)" in result.stdout
    assert good in (bundle / "SHA256SUMS").read_text()


@pytest.mark.parametrize("odd", ["fifo", "empty folder"])
def test_anything_but_files_in_a_bundle_is_reported(tmp_path, odd):
    import os
    bundle = _copy_of_release(tmp_path)
    if odd == "fifo":
        os.mkfifo(bundle / "sqlite" / "pipe")
    else:
        (bundle / "sqlite" / "nothing").mkdir()
    result = run_distill(["verify", str(bundle)], REPO)
    assert result.returncode == 1
    assert ("is not a regular file" if odd == "fifo" else "is an empty folder") in result.stdout


@pytest.mark.parametrize(("change", "says"), [
    (lambda m: m.update(dialects=[1, 2]), "dialects: must be object, not array"),
    (lambda m: m.update(steps=["x"]), "steps[0]: must be object, not string"),
    (lambda m: m["dialects"]["sqlite"].update(upgrade="x"), "dialects.sqlite.upgrade: must be object, not string"),
    (lambda m: m["steps"][0].update(reversible="yes"), "steps[0].reversible: must be boolean, not string"),
])
def test_a_malformed_manifest_with_valid_sums_is_reported(tmp_path, change, says):
    import json
    bundle = _copy_of_release(tmp_path)
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    _resum(bundle)
    for args in (["verify", str(bundle)], ["verify", str(bundle), "--rebuild"], ["diff", str(bundle), "1.0"]):
        result = run_distill(args, REPO)
        assert result.returncode in (1, 2) and "Traceback" not in result.stderr, args
    result = run_distill(["verify", str(bundle)], REPO)
    assert result.returncode == 1 and says in result.stdout, result.stdout


def test_verify_hashes_a_large_file_without_holding_it(tmp_path):
    import hashlib
    import subprocess
    import sys
    bundle = _copy_of_release(tmp_path)
    size = 400 << 20
    with open(bundle / "big.bin", "wb") as big:  # sparse: nothing much on disk
        big.truncate(size)
    digest = hashlib.sha256()
    for _ in range(size >> 20):
        digest.update(bytes(1 << 20))
    with open(bundle / "SHA256SUMS", "a") as sums:
        sums.write(f"{digest.hexdigest()}  big.bin\n")
    # its own parent process, so the peak memory measured is this verify's alone
    measure = ("import resource, subprocess, sys; "
               "r = subprocess.run([sys.executable, '-m', 'distill', 'verify', sys.argv[1]], capture_output=True, text=True); "
               "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); print(r.stdout + r.stderr)")
    result = subprocess.run([sys.executable, "-c", measure, str(bundle)], capture_output=True, text=True, cwd=REPO)
    code, peak_kib = map(int, result.stdout.split("\n")[0].split())
    assert code == 0 and "INTACT (" in result.stdout, result.stdout
    assert peak_kib < 200_000, peak_kib  # the 400 MiB file was never in memory
    (bundle / "big.bin").write_bytes(b"\0" * 10)
    result = run_distill(["verify", str(bundle)], REPO)
    assert result.returncode == 1 and "big.bin: its sha256 differs from SHA256SUMS" in result.stdout


def test_diff_compares_the_runbooks(tmp_path):
    bundle = _tampered(tmp_path, _swap_runbook)
    result = run_distill(["diff", str(REPO / "releases" / "1.1"), str(bundle)], REPO)
    assert result.returncode == 1 and "runbook (README.md) differs:" in result.stdout
    assert "+| PostgreSQL | `psql -X -v ON_ERROR_STOP=1 -d DATABASE -f postgresql/downgrade.sql`" in result.stdout


def _archive(tmp_path: Path, entries: list[tuple[str, bytes | None]], name: str = "b.tar.gz") -> Path:
    """A gzip tar of (path, data) entries; data None makes a directory."""
    import io
    import tarfile
    path = tmp_path / name
    with tarfile.open(path, "w:gz") as tar:
        for entry, data in entries:
            info = tarfile.TarInfo(entry)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def test_truncated_and_cut_archives_cannot_run(tmp_path):
    whole = (REPO / "releases" / "1.0.tar.gz").read_bytes()
    for name, data in (("half.tar.gz", whole[: len(whole) // 2]), ("trailer.tar.gz", whole[:-6])):
        (tmp_path / name).write_bytes(data)
        for args in (["verify", str(tmp_path / name)], ["diff", str(tmp_path / name), "1.0"]):
            result = run_distill(args, REPO)
            assert result.returncode == 2, (name, args, result.stdout, result.stderr)
            assert "cannot be read to its end" in result.stderr and "Aborted" not in result.stderr


@pytest.mark.parametrize(("entries", "says"), [
    ([("b/a", b"x"), ("b/a/b", b"y")], "conflicts with another entry"),
    ([("b/" + "n" * 300, b"x")], "longer than the limits"),
    ([("b/" + "/".join(["d"] * 40) + "/f", b"x")], "deeper than 16 folders"),
])
def test_hostile_archive_entries_are_refused(tmp_path, entries, says):
    archive = _archive(tmp_path, entries)
    result = run_distill(["verify", str(archive)], REPO)
    assert result.returncode == 1 and "NOT VERIFIED" in result.stderr and says in result.stderr, result.stderr
    result = run_distill(["diff", str(archive), "1.0"], REPO)
    assert result.returncode == 2, result.stderr


def test_an_archive_bomb_is_refused_before_it_is_written(tmp_path):
    import resource
    import tarfile
    bomb = tmp_path / "bomb.tar.gz"
    with tarfile.open(bomb, "w:gz") as tar:  # 1.1 GiB of zeros in a few MB
        info = tarfile.TarInfo("b/zeros")
        info.size = (1 << 30) + (100 << 20)

        class Zeros:
            left = info.size

            def read(self, n=-1):
                n = min(self.left, 1 << 20 if n < 0 else n)
                self.left -= n
                return bytes(n)
        tar.addfile(info, Zeros())
    assert bomb.stat().st_size < 5 << 20
    result = run_distill(["verify", str(bomb)], REPO)
    assert result.returncode == 1 and "1024 MiB expanded, far beyond any bundle" in result.stderr
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss < 600_000  # KiB: no 1 GiB in memory


def test_sqlite_a_blob_version_is_refused_by_the_guard(tmp_path):
    import sqlite3
    import subprocess
    db = tmp_path / "db.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (b"6f4a6c5d9e06",))  # a BLOB
    upgrade = (REPO / "releases" / "1.1" / "sqlite" / "upgrade.sql").read_text()
    result = subprocess.run(["sqlite3", "-bail", str(db)], input=upgrade, capture_output=True, text=True)
    assert result.returncode != 0
    assert "distill guard: expected alembic_version at 6f4a6c5d9e06, found (a blob value)" in result.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'orders'").fetchone()[0] == 0


def test_sqlite_a_version_update_that_matches_no_row_stops_the_script_as_online_alembic_stops(tmp_path):
    import sqlite3
    import subprocess
    import sys
    # the guard passes, then the step itself empties the version table: the bookkeeping's UPDATE
    # matches no row (online Alembic: "expected to match one row when updating")
    project = write_project(tmp_path / "project", [CREATE_T, {"revision": "b2", "down": "a1", "body": """
def upgrade():
    op.execute("DELETE FROM alembic_version")
    op.create_table("u", sa.Column("id", sa.Integer, primary_key=True))

def downgrade():
    op.drop_table("u")
"""}])
    online_db = tmp_path / "online.sqlite"
    online = subprocess.run([sys.executable, "-c", (
        "import sys; from alembic import command; from alembic.config import Config; "
        "cfg = Config('alembic.ini'); cfg.set_main_option('sqlalchemy.url', 'sqlite:///' + sys.argv[1]); "
        "command.upgrade(cfg, 'a1'); command.upgrade(cfg, 'b2')"), str(online_db)],
        cwd=project, capture_output=True, text=True)
    assert online.returncode != 0 and "expected to match one row when updating" in online.stderr, online.stderr
    db = tmp_path / "db.sqlite"
    script = run_distill(["sql", "--dialect", "sqlite", "--from", "a1", "--to", "b2"], project)
    assert script.returncode == 0, script.stderr
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('a1')")
    result = subprocess.run(["sqlite3", "-bail", str(db)], input=script.stdout, capture_output=True, text=True)
    assert result.returncode != 0
    assert ("distill: the change of alembic_version from a1 matched 0 rows, not one: the database is "
            "not at the revision the guard found") in result.stderr, result.stderr


def test_a_newline_in_a_table_name_read_from_a_shadow_stays_inside_its_comment(tmp_path):
    # the DATA-DEPENDENT comment names the tables a revision read: a quoted name may hold a newline
    project = write_project(tmp_path / "project", [{"revision": "a1", "body": """
def upgrade():
    op.execute('CREATE TABLE "x\\n\\\\! touch pwned" (id INTEGER)')
    op.get_bind().execute(sa.text('SELECT * FROM "x\\n\\\\! touch pwned"')).fetchall()

def downgrade():
    pass
"""}])
    result = run_distill(["sql", "--dialect", "sqlite", "--shadow"], project)
    assert result.returncode == 0, result.stderr
    assert "-- DATA-DEPENDENT: rendered from the rows of x \\! touch pwned in a throwaway SQLite database" \
        in result.stdout.splitlines()
    # the only line that starts with the meta-command is inside the revision's quoted identifier
    lines = result.stdout.splitlines()
    assert [i for i, line in enumerate(lines) if line.startswith("\\!")] == [
        i for i, line in enumerate(lines) if line.startswith("\\! touch pwned\" (id INTEGER)")]


def test_a_full_disk_and_an_unwritable_place_are_one_sentence(tmp_path):
    import os
    import subprocess
    project, _ = _bundle(tmp_path)
    result = run_distill(["build", "--out", "/proc/distill-nowhere"], project)
    assert result.returncode == 1 and result.stderr.startswith(
        "distill: error: cannot write the bundle /proc/distill-nowhere: ")
    if os.geteuid() != 0:
        pytest.skip("mounting a full file system needs root (CI runs as root)")
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(small)], check=True)
    try:
        result = run_distill(["build", "--out", str(small / "b"), "--archive"], project)
        assert result.returncode == 1 and "No space left on device" in result.stderr, result.stderr
        assert list(small.iterdir()) == []  # nothing half-written, no temp file left
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_a_killed_build_leaves_no_worker_writing_and_the_next_build_cleans_up(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    revisions = [CREATE_T] + [{"revision": f"r{i:03d}", "down": "a1" if i == 0 else f"r{i - 1:03d}", "body": f"""
def upgrade():
    op.add_column("t", sa.Column("c{i}", sa.Integer))

def downgrade():
    op.drop_column("t", "c{i}")
"""} for i in range(150)]
    project = write_project(tmp_path / "project", revisions, distill_toml='dialects = ["sqlite", "postgresql"]\n')
    out = tmp_path / "rel" / "b"
    build = subprocess.Popen([sys.executable, "-m", "distill", "build", "--out", str(out)], cwd=project,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((tmp_path / "rel").glob(".b.new-*/*/steps/*")) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the workers are writing step files
    os.kill(build.pid, signal.SIGKILL)  # the distill process only: its workers must follow it
    build.wait()
    time.sleep(1.0)
    counts = [len(list((tmp_path / "rel").rglob("*"))) for _ in range(2) if not time.sleep(0.5)]
    assert counts[0] == counts[1], "something is still writing after the build was killed"
    assert not out.exists()
    result = run_distill(["build", "--out", str(out)], project)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "rel").iterdir()) == ["b"]  # leftovers removed


def test_an_archive_distill_did_not_write_is_not_overwritten(tmp_path):
    project, _ = _bundle(tmp_path)
    mine = tmp_path / "rel.tar.gz"
    mine.write_bytes(b"my own backup")
    result = run_distill(["build", "--out", str(tmp_path / "rel"), "--archive"], project)
    assert result.returncode == 2 and "is not its distill bundle" in result.stderr
    assert mine.read_bytes() == b"my own backup" and not (tmp_path / "rel").exists()


def test_release_versions_from_the_configuration_are_full_matches(tmp_path):
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml=(
        'dialects = ["sqlite"]\n[releases]\n"1.0" = "a1"\n"1/../../../../x" = "a1"\n'))
    result = run_distill(["release", "1.0"], project)
    assert result.returncode == 1 and "[tool.distill.releases]" in result.stderr
    assert "is not a plain release name" in result.stderr and not list(tmp_path.rglob("x"))


def test_archives_with_odd_names_or_another_compression_are_refused(tmp_path):
    import io
    import lzma
    import tarfile
    raw = tmp_path / "raw.tar"
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("b/a\x00c")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    gz = tmp_path / "nul.tar.gz"
    import gzip
    gz.write_bytes(gzip.compress(raw.read_bytes(), mtime=0))
    xz = tmp_path / "other.tar.gz"
    xz.write_bytes(lzma.compress((REPO / "releases" / "1.0.tar.gz").read_bytes()))
    for archive, code in ((gz, (1, 2)), (xz, (2,))):
        result = run_distill(["verify", str(archive)], REPO)
        assert result.returncode in code, (archive, result.stderr)


@pytest.mark.parametrize("where, value", [
    ("env", "v$distill_lock$ \\\\! touch PWNED #"),
    ("toml", "x\\\\' \\\\! touch PWNED2 #"),
])
def test_a_version_table_name_that_is_no_plain_name_is_refused(tmp_path, where, value):
    """A version table name (env.py's context.configure, or [tool.distill]) reaches SQL, string
    literals and the runbook: a '$', a backslash or a quote there could end a guard's block or a
    literal and hand the rest of the line to psql's or mariadb's meta-commands."""
    toml = f'mode = "standalone"\nversion_table_schema = "{value}"\n' if where == "toml" else ""
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml=toml)
    if where == "env":
        env = project / "migrations" / "env.py"
        env.write_text(env.read_text().replace("literal_binds=True,", f"literal_binds=True, version_table={value!r},"))
        assert "version_table=" in env.read_text()
    for dialect in ("postgresql", "mysql"):
        result = run_distill(["sql", "--dialect", dialect], project)
        assert result.returncode != 0 and not result.stdout, result.stdout
        assert "is not a plain table name" in result.stderr
    assert not list(tmp_path.rglob("PWNED*"))


@pytest.mark.parametrize("args", [
    ["sql", "--dialect", "mysql", "--shadow-url", "mysql+nosuchdriver://x/y"],
    ["status", "--url", "postgresql+nosuchdriver://x/y"],
    ["status", "--url", "oracle://a"],
])
def test_an_unusable_database_url_is_a_clear_error(tmp_path, args):
    project = write_project(tmp_path / "project", [CREATE_T])
    result = run_distill(args, project)
    assert result.returncode in (1, 2) and not result.stdout
    assert result.stderr.startswith("distill: error: ") and len(result.stderr.splitlines()) == 1


def _with_line(tmp_path: Path, old: str, new: str) -> Path:
    project = write_project(tmp_path / "project", [
        CREATE_T, {"revision": "b2", "down": "a1", "body": """
def upgrade():
    op.execute("SELECT 1")

def downgrade():
    op.execute("SELECT 1")
"""}], distill_toml='dialects = ["postgresql", "sqlite"]\n')
    script = project / "migrations" / "versions" / "002_b2.py"
    assert old in script.read_text()
    script.write_text(script.read_text().replace(old, new))
    return project


@pytest.mark.parametrize("command", [["sql", "--dialect", "postgresql"], ["plan"], ["check"],
                                     ["build", "--dialect", "sqlite", "--out", "OUT"]])
def test_a_newline_in_a_revision_id_is_refused_by_every_command(tmp_path, command):
    project = _with_line(tmp_path, "revision = 'b2'", 'revision = "b2\\nDROP TABLE important;\\n"')
    before = _tree(tmp_path)
    result = run_distill([str(tmp_path / "out") if part == "OUT" else part for part in command], project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DROP TABLE important" not in result.stdout
    assert result.stderr.startswith("distill: error: the revision id in migrations/versions/002_b2.py "
                                    "'b2 DROP TABLE important; ' cannot be part of a file name"), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert _tree(tmp_path) == before


@pytest.mark.parametrize("line", ['branch_labels = ("x\\nDROP TABLE important;",)'])
def test_a_newline_in_a_branch_label_is_refused(tmp_path, line):
    # (a depends_on must name a revision id or a branch label, both checked: Alembic refuses others)
    project = _with_line(tmp_path, line.split(" =")[0] + " = None", line)
    before = _tree(tmp_path)
    result = run_distill(["sql", "--dialect", "postgresql"], project)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "DROP TABLE important" not in result.stdout
    assert result.stderr.startswith(f"distill: error: the {line.split(' =')[0]} value "), result.stderr
    assert "in migrations/versions/002_b2.py (revision b2) holds a control character" in result.stderr
    assert _tree(tmp_path) == before
