"""The render cache (issue 32): the same bytes with and without it, a fresh rendering whenever an
input changes, never read by verify --rebuild, corrupt entries ignored and replaced."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from projects import CREATE_T, write_project
from runner import REPO, run_distill

from distill.cache import fast, keys, store
from distill.offline import produce

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate_history import generate  # noqa: E402

HELPER = 'TABLE = "u"\n'

REVISIONS = [
    CREATE_T,
    {"revision": "b2", "down": "a1", "message": "uses a helper", "imports": "import cachehelper\n",
     "body": '''
        def upgrade():
            op.create_table(cachehelper.TABLE, sa.Column("id", sa.Integer, primary_key=True))

        def downgrade():
            op.drop_table(cachehelper.TABLE)
     '''},
    {"revision": "c3", "down": "b2", "message": "reads a data file", "imports": "import pathlib\n",
     "body": '''
        def upgrade():
            op.execute((pathlib.Path(__file__).parents[2] / "c3.sql").read_text())

        def downgrade():
            op.execute("DELETE FROM t")
     '''},
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = write_project(tmp_path / "p", REVISIONS, distill_toml='[tool.distill]\ndialects = ["postgresql", "sqlite"]\n')
    (root / "cachehelper.py").write_text(HELPER)
    (root / "c3.sql").write_text("INSERT INTO t (id) VALUES (1)")
    return root


@pytest.fixture
def rendered(monkeypatch) -> list[tuple[str, str, tuple[str, ...]]]:
    """Every rendering distill makes in this process (one worker: DISTILL_JOBS=1):
    (dialect, direction, revisions)."""
    seen: list[tuple[str, str, tuple[str, ...]]] = []
    original = produce.render

    def counting(history, plan, dialect, **kw):
        seen.append((dialect.name, plan.direction, tuple(s.revision for s in plan.steps)))
        return original(history, plan, dialect, **kw)

    monkeypatch.setattr(produce, "render", counting)
    monkeypatch.setenv("DISTILL_JOBS", "1")
    return seen


def _check(root: Path, *extra: str) -> str:
    result = run_distill(["check", "--json", *extra], cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _revisions(seen: list) -> set[str]:
    return {revision for _, _, revisions in seen for revision in revisions}


def _files(cache: Path) -> list[Path]:
    root = cache / "distill" / "renderings-1"
    return [p for p in root.glob("??/*") if p.is_file()] if root.is_dir() else []


def _entries(cache: Path) -> list[Path]:
    """The cache's renderings and check logs (not its whole results, nor the scripts' code or
    imports)."""
    return [p for p in _files(cache) if not p.read_bytes().startswith(
        (b"DISTILL-RESULT", b"DISTILL-COMPILED", b"DISTILL-SCRIPT-IMPORTS"))]


def _results(cache: Path) -> list[Path]:
    """The cache's whole results (of check, of a build)."""
    return [p for p in _files(cache) if p.read_bytes().startswith(b"DISTILL-RESULT")]


def test_check_uses_the_cache_and_says_the_same(project: Path, rendered: list) -> None:
    cold = _check(project)
    assert _revisions(rendered) == {"a1", "b2", "c3"}
    # 3 steps x 2 dialects x up/down; what check found per step and dialect is in the whole result
    assert len(_entries(Path(os.environ["XDG_CACHE_HOME"]))) == 12
    assert len(_results(Path(os.environ["XDG_CACHE_HOME"]))) == 1
    rendered.clear()
    assert _check(project) == cold
    assert rendered == []  # nothing rendered again
    assert _check(project, "--no-cache") == cold
    assert len(rendered) == 12


@pytest.mark.parametrize("change", ["script", "data file"])
def test_a_changed_input_of_one_step_renders_that_step_again(project: Path, rendered: list, change: str) -> None:
    cold = _check(project)
    rendered.clear()
    if change == "script":
        path = next((project / "migrations" / "versions").glob("*_a1.py"))
        path.write_text(path.read_text().replace('"t"', '"t0"'))
    else:
        (project / "c3.sql").write_text("DROP TABLE t")  # a destructive finding now
    again = _check(project)
    if change == "script":
        assert _revisions(rendered) == {"a1"}
    else:  # and what rendered after it in the same process (a module may keep what it read)
        assert {("postgresql", "upgrade", ("c3",)), ("sqlite", "upgrade", ("c3",))} <= set(rendered)
        assert ("postgresql", "upgrade", ("a1",)) not in rendered
    assert again != cold
    rendered.clear()
    assert _check(project, "--no-cache") == again


def _edit_env(root: Path) -> None:
    path = root / "migrations" / "env.py"
    path.write_text(path.read_text().replace('literal_binds=True,', 'literal_binds=True, version_table="v",'))


def _edit_config(root: Path) -> None:
    path = root / "distill.toml"
    path.write_text(path.read_text() + 'version_table = "v2"\n')


def _edit_helper(root: Path) -> None:
    (root / "cachehelper.py").write_text('TABLE = "w"\n')


def _edit_ini(root: Path) -> None:
    path = root / "alembic.ini"
    path.write_text(path.read_text() + "version_table_hint = x\n")


@pytest.mark.parametrize("edit", [_edit_env, _edit_config, _edit_helper, _edit_ini])
def test_a_changed_shared_input_renders_again(project: Path, rendered: list, edit) -> None:
    options = ["--standalone"] if edit is _edit_config else []  # distill's version_table: standalone
    _check(project, *options)
    rendered.clear()
    edit(project)
    again = _check(project, *options)
    assert "b2" in _revisions(rendered)
    rendered.clear()
    assert _check(project, *options, "--no-cache") == again


def test_a_version_the_environment_an_option_and_the_dialect_files_are_in_the_key(
        project: Path, rendered: list, monkeypatch, tmp_path: Path) -> None:
    _check(project)
    rendered.clear()
    original = keys.versions
    monkeypatch.setattr(keys, "versions", lambda: {**original(), "alembic": "99.0"})
    _check(project)
    assert len(rendered) == 12
    rendered.clear()
    monkeypatch.setenv("CACHE_TEST_VARIABLE", "1")  # env.py may read any variable
    _check(project)
    assert len(rendered) == 12
    rendered.clear()
    _check(project, "--standalone")
    assert len(rendered) == 12
    rendered.clear()
    copied = tmp_path / "dialects"
    shutil.copytree(REPO / "dialects", copied)
    monkeypatch.setattr(keys, "data_dir", lambda name: copied)
    _check(project)
    assert rendered == []  # the same files: the same key
    (copied / "sqlite.toml").write_text((copied / "sqlite.toml").read_text() + "\n# changed\n")
    _check(project)
    assert len(rendered) == 12


def test_bundles_are_the_same_bytes_and_verify_rebuild_never_reads_the_cache(tmp_path: Path, rendered) -> None:
    root = generate(tmp_path / "gen", 12, "varied")
    trees = []
    for name, extra in (("cold", []), ("warm", []), ("none", ["--no-cache"])):
        result = run_distill(["build", "--out", tmp_path / name, "--name", "r1", *extra], cwd=root)
        assert result.returncode == 0, result.stderr
        trees.append({p.relative_to(tmp_path / name): p.read_bytes()
                      for p in sorted((tmp_path / name).rglob("*")) if p.is_file()})
    assert trees[0] == trees[1] == trees[2]
    # every entry poisoned with a valid entry of its own key: a build reading them changes
    cache = Path(os.environ["XDG_CACHE_HOME"])
    for path in _entries(cache):
        key = path.parent.name + path.name
        entry = store.decode(path.read_bytes(), key)
        text = json.loads(path.read_bytes().split(b"\n", 2)[2])
        for _, statements in text["segments"]:
            for statement in statements:
                statement[1] = statement[1].replace("CREATE TABLE", "CREATE TABLE poisoned")
        assert entry is not None
        payload = json.dumps(text, sort_keys=True, ensure_ascii=False).encode()
        path.write_bytes(b"DISTILL-RENDER-CACHE 1\n" + keys.watch.digest_bytes(payload).encode() + b"\n" + payload)
    # and the build kept whole, poisoned the same way, re-framed with a valid digest
    [result] = _results(cache)
    key = result.parent.name + result.name
    header, files = fast._decode(result.read_bytes(), key)
    files = {name: data.replace(b"CREATE TABLE", b"CREATE TABLE poisoned") for name, data in files.items()}
    result.unlink()
    fast.keep(cache / "distill", key, header["content"], header["deps"], header["listings"], files, header["index"])
    assert _results(cache)
    # and the first script's code object, valid for its bytes: a rebuild taking it would differ
    first = sorted((root / "migrations" / "versions").glob("*.py"))[0].resolve()
    code = _compiled(cache)
    code.write_bytes(_poisoned(code, first, first.read_text() + "\n\ndef upgrade():\n    op.execute(\"SELECT 'poisoned'\")\n"))
    poisoned = run_distill(["build", "--out", tmp_path / "poisoned", "--name", "r1"], cwd=root)
    assert poisoned.returncode == 0
    assert "poisoned" in (tmp_path / "poisoned" / "postgresql" / "upgrade.sql").read_text()
    verified = run_distill(["verify", tmp_path / "cold", "--rebuild"], cwd=root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert run_distill(["verify", tmp_path / "poisoned", "--rebuild"], cwd=root).returncode != 0


def test_corrupt_or_foreign_entries_are_ignored_and_rewritten(project: Path, rendered: list) -> None:
    cold = _check(project)
    [result] = _results(Path(os.environ["XDG_CACHE_HOME"]))
    result.write_bytes(result.read_bytes()[:-3])  # a torn result: ignored (the renderings are read)
    entries = sorted(p for p in _entries(Path(os.environ["XDG_CACHE_HOME"]))
                     if p.read_bytes().startswith(b"DISTILL-RENDER-CACHE"))
    entries[0].write_bytes(entries[0].read_bytes()[:-5])  # truncated
    entries[1].write_bytes(entries[2].read_bytes())  # another key's entry
    rendered.clear()
    assert _check(project) == cold
    assert len(rendered) == 2
    assert store.decode(entries[0].read_bytes(), entries[0].parent.name + entries[0].name) is not None
    assert store.decode(entries[1].read_bytes(), entries[1].parent.name + entries[1].name) is not None


def test_what_is_not_reproducible_or_prints_is_never_kept(tmp_path: Path, rendered: list) -> None:
    root = write_project(tmp_path / "p", [CREATE_T, {
        "revision": "d4", "down": "a1", "message": "random", "imports": "import uuid\n", "body": '''
        def upgrade():
            op.execute(f"INSERT INTO t (id) SELECT 1 WHERE '{uuid.uuid4()}' <> ''")

        def downgrade():
            print("deleting")
            op.execute("DELETE FROM t")
    '''}], distill_toml='[tool.distill]\ndialects = ["sqlite"]\n')
    first = json.loads(_check(root))
    assert first["not_reproducible"]
    # no whole result can be kept: what check found for a1 is kept in an entry of its own
    assert not _results(Path(os.environ["XDG_CACHE_HOME"]))
    assert [p for p in _entries(Path(os.environ["XDG_CACHE_HOME"]))
            if p.read_bytes().startswith(b"DISTILL-CHECK-LOG")]
    rendered.clear()
    _check(root)
    assert ("sqlite", "upgrade", ("d4",)) in rendered and ("sqlite", "downgrade", ("d4",)) in rendered
    assert ("sqlite", "upgrade", ("a1",)) not in rendered


def test_least_recently_used_entries_go_past_the_cap(tmp_path: Path) -> None:
    cache = store.Store(tmp_path)
    for number in range(10):
        path = cache.path(f"{number:02d}" + "0" * 38)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + number, 1000 + number))
    cache.evict(limit=500)
    left = sorted(p.parent.name for p in tmp_path.glob("renderings-1/??/*"))
    assert left == ["06", "07", "08", "09"]  # 400 bytes: the four used last


def test_the_cache_directory(tmp_path: Path, monkeypatch, project: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert store.default_directory() == tmp_path / "xdg" / "distill"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # not absolute: ignored, as the spec says
    assert store.default_directory() == Path.home() / ".cache" / "distill"
    (project / "distill.toml").write_text('[tool.distill]\ndialects = ["sqlite"]\ncache_dir = "here"\n')
    _check(project)
    assert len(list((project / "here").glob("renderings-1/??/*"))) == 6 + 1 + 1 + 1  # + result, code, imports
    (project / "distill.toml").write_text('[tool.distill]\ncache_dir = 3\n')
    result = run_distill(["check"], cwd=project)
    assert result.returncode != 0 and "cache_dir must be a directory path" in result.stderr


def test_two_processes_share_one_cache(project: Path) -> None:
    """Two distill processes filling the same cache at once: both say what a run without the
    cache says, and a third run reads what they kept."""
    import subprocess

    command = [sys.executable, "-m", "distill", "check", "--json"]
    runs = [subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    expected = _check(project, "--no-cache")
    assert outputs == [expected, expected]
    assert len(_entries(Path(os.environ["XDG_CACHE_HOME"]))) == 12
    assert not list(Path(os.environ["XDG_CACHE_HOME"]).glob("distill/renderings-1/tmp/*"))
    assert run_distill(["check", "--json"], cwd=project, process=True).stdout == expected


def test_a_history_loaded_on_two_cores_is_cached(tmp_path: Path, monkeypatch) -> None:
    """Loading compiles half the scripts in a child that hands them over in a temporary file: no
    side effect of the history, so its renderings are kept."""
    from distill.history import parallel_compile

    monkeypatch.setattr(parallel_compile, "MIN_FILES", 4)
    monkeypatch.setenv("DISTILL_JOBS", "2")
    root = generate(tmp_path / "gen", 8, "linear")
    first = run_distill(["check", "--json", "--dialect", "sqlite"], cwd=root)
    assert first.returncode == 0, first.stderr
    assert len(_entries(Path(os.environ["XDG_CACHE_HOME"]))) == 16


def test_the_example_says_the_same_with_and_without_the_cache(tmp_path: Path, rendered: list) -> None:
    """The bookshop example (findings of every kind): check cold, warm (renderings and findings
    from the cache) and without it; its releases rebuilt from a warm cache, byte for byte."""
    runs = [run_distill(["--example", "check", "--json", *extra]) for extra in ([], [], ["--no-cache"])]
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout and runs[0].returncode == runs[1].returncode
    assert rendered.count(rendered[0]) == 2  # the first step: rendered cold, then only without the cache
    for name in ("cold", "warm"):
        result = run_distill(["release", "--all", "--releases-dir", tmp_path / name])
        assert result.returncode == 0, result.stderr
    for bundle in sorted((REPO / "releases").iterdir()):
        if bundle.is_dir():
            for path in sorted(p for p in bundle.rglob("*") if p.is_file()):
                relative = path.relative_to(REPO / "releases")
                assert (tmp_path / "warm" / relative).read_bytes() == path.read_bytes(), relative


def test_the_import_watch_holds_only_while_distill_watches(tmp_path, monkeypatch):
    """The loader is replaced inside ``watching()`` only (issue 28: stdlib patches hold while
    distill loads or renders), and a module imported inside is noted with the bytes it ran from."""
    import importlib.machinery
    import sys

    from distill.compat import watch

    original = importlib.machinery.SourceFileLoader.exec_module
    module = tmp_path / "watched_helper_mod.py"
    module.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with watch.watching():
        assert importlib.machinery.SourceFileLoader.exec_module is not original
        with watch.watching():  # re-entrant: the outer one restores
            pass
        assert importlib.machinery.SourceFileLoader.exec_module is not original
        import watched_helper_mod  # noqa: F401
    assert importlib.machinery.SourceFileLoader.exec_module is original
    assert watch.executed(str(module)) == watch.digest_bytes(b"VALUE = 1\n")
    sys.modules.pop("watched_helper_mod")


# -- inputs an attacker's review found missing from the key: each gave the old SQL from the cache --


def _sql(root: Path, *extra: str) -> str:
    result = run_distill(["sql", "--dialect", "postgresql", *extra], cwd=root)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _build_sql(root: Path, out: Path, *extra: str, process: bool = False) -> str:
    shutil.rmtree(out, ignore_errors=True)
    result = run_distill(["build", "--dialect", "postgresql", "--out", str(out), *extra], cwd=root,
                         process=process)
    assert result.returncode == 0, result.stderr
    return (out / "postgresql" / "upgrade.sql").read_text()


HOOKED = [CREATE_T, {"revision": "b2", "down": "a1", "message": "registers a compiler hook",
                     "imports": "from sqlalchemy.ext.compiler import compiles\n"
                                "from sqlalchemy.schema import CreateTable\n", "body": '''
        @compiles(CreateTable, "postgresql")
        def _marked(element, compiler, **kw):
            return "/* HOOK-V1 */ " + compiler.visit_create_table(element, **kw)

        def upgrade():
            pass

        def downgrade():
            pass
     '''}]


def test_a_script_outside_the_range_whose_top_level_changes_renders_again(tmp_path: Path) -> None:
    """Alembic executes every script to load the history: b2's top level registers a compiler hook
    that changes how a1 renders, though the range stops at a1. (In processes of their own: the
    hook is process-wide, and would stay in this one for the tests after it.)"""
    root = write_project(tmp_path / "p", HOOKED)
    assert "HOOK-V1" in _build_sql(root, tmp_path / "b", "--to", "a1", process=True)
    script = next((root / "migrations" / "versions").glob("*b2*.py"))
    script.write_text(script.read_text().replace("HOOK-V1", "HOOK-V2"))
    assert "HOOK-V2" in _build_sql(root, tmp_path / "b", "--to", "a1", process=True)


LISTED = [{"revision": "a1", "message": "runs every file of sql/", "imports": "import os\nimport pathlib\n",
           "body": '''
        def upgrade():
            folder = pathlib.Path(__file__).parents[2] / "sql"
            for name in sorted(os.listdir(folder)):
                op.execute((folder / name).read_text())

        def downgrade():
            pass
     '''}]


def test_a_rendering_that_lists_a_folder_is_not_kept(tmp_path: Path) -> None:
    """What a folder holds is an input no file digest holds: a file added to it must reach the SQL."""
    root = write_project(tmp_path / "p", LISTED)
    (root / "sql").mkdir()
    (root / "sql" / "01.sql").write_text("SELECT 'one'")
    assert "SELECT 'two'" not in _build_sql(root, tmp_path / "b")
    (root / "sql" / "02.sql").write_text("SELECT 'two'")
    assert "SELECT 'two'" in _build_sql(root, tmp_path / "b")


def test_a_module_installed_beside_the_libraries_is_in_the_key(tmp_path: Path, monkeypatch) -> None:
    """A loose module in site-packages (no distribution version names it) that a revision
    imports: changing it must render again."""
    from distill.compat import watch

    site = tmp_path / "site"
    site.mkdir()
    (site / "ddlhelper_site.py").write_text('MARK = "LIB-V1"\n')
    monkeypatch.setattr(watch, "SITE_PACKAGES", (*watch.SITE_PACKAGES, os.path.join(str(site), "")))
    monkeypatch.syspath_prepend(str(site))
    watch.in_site_packages.cache_clear()
    revision = {"revision": "a1", "message": "uses an installed helper", "imports": "import ddlhelper_site\n",
                "body": '''
        def upgrade():
            op.execute(f"SELECT '{ddlhelper_site.MARK}'")

        def downgrade():
            pass
     '''}
    root = write_project(tmp_path / "p", [revision])
    try:
        assert "LIB-V1" in _build_sql(root, tmp_path / "b")
        (site / "ddlhelper_site.py").write_text('MARK = "LIB-V2"\n')
        os.utime(site / "ddlhelper_site.py", ns=(1, 1))  # another size and time, as an install writes
        assert "LIB-V2" in _build_sql(root, tmp_path / "b")
    finally:
        sys.modules.pop("ddlhelper_site", None)
        watch.in_site_packages.cache_clear()


def test_a_project_under_the_installation_prefix_is_keyed(tmp_path: Path) -> None:
    """A container image's project in /usr/local/app is under sys.prefix, not the standard
    library: its modules and data files are inputs."""
    from distill.compat import watch

    assert not watch.is_standard_library(os.path.join(sys.prefix, "app", "helper.py"))
    assert watch.is_standard_library(os.__file__)


def test_a_project_link_into_dev_or_the_standard_library_is_theirs(tmp_path: Path) -> None:
    """A file is judged by its folder first, then resolved where it is a symbolic link: a
    project's link to /dev/zero is no file a rendering's entry digests (it was read to the end)."""
    from distill.compat import watch

    (tmp_path / "zeros.bin").symlink_to("/dev/zero")
    (tmp_path / "os_copy.py").symlink_to(os.__file__)
    (tmp_path / "plain.py").write_text("X = 1\n")
    assert watch.is_standard_library(str(tmp_path / "zeros.bin"))
    assert watch.is_standard_library(str(tmp_path / "os_copy.py"))
    assert not watch.is_standard_library(str(tmp_path / "plain.py"))


NEW_SCRIPT = '''"""added later"""
revision = "d4"
down_revision = "c3"
branch_labels = None
depends_on = None
from alembic import op


def upgrade():
    op.execute("UPDATE t SET id = id")


def downgrade():
    op.execute("UPDATE t SET id = id")
'''


@pytest.fixture
def loads(monkeypatch) -> list[int]:
    """One item per revision history distill loads in this process."""
    from distill.history import scripts

    seen: list[int] = []
    original = scripts.History.__init__

    def counting(self, settings, **kw) -> None:
        seen.append(1)
        original(self, settings, **kw)

    monkeypatch.setattr(scripts.History, "__init__", counting)
    return seen


def test_nothing_changed_nothing_loads(project: Path, rendered: list, loads: list, tmp_path: Path) -> None:
    """A check or a build whose inputs are as before neither loads a script nor renders; a
    script added to the versions folder (its listing changed) is seen."""
    cold = _check(project)
    built = run_distill(["build", "--out", tmp_path / "cold", "--name", "r1"], cwd=project)
    assert built.returncode == 0, built.stderr
    loads.clear()
    rendered.clear()
    assert _check(project) == cold
    warm = run_distill(["build", "--out", tmp_path / "warm", "--name", "r1"], cwd=project)
    assert warm.returncode == 0, warm.stderr
    assert loads == [] and rendered == []
    assert _tree(tmp_path / "warm") == _tree(tmp_path / "cold")
    (project / "migrations" / "versions" / "d4_added.py").write_text(NEW_SCRIPT)
    again = _check(project)
    assert loads == [1] and '"d4"' in again
    assert "d4" in {revision for _, _, (revision,) in rendered}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_result_naming_a_file_outside_is_ignored(project: Path, tmp_path: Path) -> None:
    """A whole result is written back only under plain relative names: one that names a file
    outside the bundle (a valid digest: a hostile cache) is not used, and nothing is written there."""
    run_distill(["build", "--out", tmp_path / "cold", "--name", "r1"], cwd=project)
    cache = Path(os.environ["XDG_CACHE_HOME"])
    [result] = _results(cache)
    key = result.parent.name + result.name
    header, files = fast._decode(result.read_bytes(), key)
    result.unlink()
    files["../../escaped.txt"] = b"outside"
    fast.keep(cache / "distill", key, header["content"], header["deps"], header["listings"], files, header["index"])
    warm = run_distill(["build", "--out", tmp_path / "warm", "--name", "r1"], cwd=project)
    assert warm.returncode == 0, warm.stderr
    assert not list(tmp_path.rglob("escaped.txt"))
    assert _tree(tmp_path / "warm") == _tree(tmp_path / "cold")


def test_keeping_entries_measures_the_cache_only_after_enough_was_written(tmp_path: Path, monkeypatch) -> None:
    """Past the cap, entries go when a run has kept 1 % of the cap since the last measure; a
    run that keeps less does not walk the cache."""
    monkeypatch.setattr(store, "MAX_BYTES", 100_000)
    cache = store.Store(tmp_path)
    for number in range(150):  # 150 x 1,000 bytes, kept one by one
        temporary = cache.write_temporary(b"x" * 1000)
        cache.promote({f"{number:04d}" + "0" * 36: temporary}, ())
    assert sum(p.stat().st_size for p in tmp_path.glob("renderings-1/??/*")) <= 100_000
    walks = []
    monkeypatch.setattr(store.Store, "evict", lambda self, limit=None: walks.append(limit))
    (tmp_path / "renderings-1" / "written").write_bytes(b"")
    cache.promote({"ff" + "0" * 38: cache.write_temporary(b"y" * 500)}, ())  # 0.5 % of the cap
    assert walks == []
    cache.promote({"fe" + "0" * 38: cache.write_temporary(b"y" * 600)}, ())  # 1.1 % in all
    assert walks == [None]
    walks.clear()
    (tmp_path / "renderings-1" / "written").write_bytes(b"")
    for _ in range(3):  # one entry replaced again and again (the kept code): the cache does not grow
        cache.promote({"fe" + "0" * 38: cache.write_temporary(b"z" * 600)}, ())
    cache.promote({"fd" + "0" * 38: cache.write_temporary(b"y" * 500)}, ())
    assert walks == []


@pytest.mark.parametrize(("helper", "everything"), [
    ('TABLE = "w"\n', False),  # only binds a name: confined to b2, which imports it
    ('TABLE = str("w")\n', True),  # a call at its top level: it could do anything, keyed for all
])
def test_an_edited_helper_renders_again_the_revisions_that_import_it(project: Path, rendered: list, helper: str,
                                                                      everything: bool) -> None:
    _check(project)
    rendered.clear()
    (project / "cachehelper.py").write_text(helper)
    again = _check(project)
    assert _revisions(rendered) == ({"a1", "b2", "c3"} if everything else {"b2"})
    rendered.clear()
    assert _check(project, "--no-cache") == again


def _imports_entry(cache: Path) -> tuple[Path, str, dict]:
    """The kept entry of what the scripts import: (its file, its key, its table)."""
    from distill.cache.known_imports import _MAGIC
    [entry] = [p for p in _files(cache) if p.read_bytes().startswith(_MAGIC)]
    key = entry.parent.name + entry.name
    found = store.unframed(_MAGIC, entry.read_bytes(), key)
    assert found is not None
    return entry, key, found["table"]


def test_what_the_scripts_import_is_kept_for_their_bytes_and_read_only_intact(project: Path,
                                                                             rendered: list) -> None:
    """The next run takes what a script imports from the cache instead of reading it again, for
    the very bytes it was read from: a kept line saying b2's top level is not plain is believed
    (the helper it imports is then keyed for every step), an entry whose digest does not match
    is not (only b2, which imports the helper, renders again)."""
    from distill.cache.known_imports import _MAGIC
    cache = Path(os.environ["XDG_CACHE_HOME"])
    _check(project)
    entry, key, table = _imports_entry(cache)
    b2 = next((project / "migrations" / "versions").glob("*_b2.py"))
    digest = keys.watch.digest_bytes(b2.read_bytes())
    imports = ["alembic", "alembic.op", "cachehelper", "sqlalchemy"]
    assert table[digest] == [True, imports]  # a plain top level; what it imports
    table[digest] = [False, imports]
    entry.write_bytes(store.framed(_MAGIC, {"key": key, "table": table}))
    rendered.clear()
    (project / "cachehelper.py").write_text('TABLE = "w"\n')
    _check(project)
    assert _revisions(rendered) == {"a1", "b2", "c3"}  # read
    entry.write_bytes(entry.read_bytes().replace(b"false", b"true", 1))  # its digest no longer matches
    (project / "cachehelper.py").write_text('TABLE = "v"\n')
    rendered.clear()
    _check(project)
    assert _revisions(rendered) == {"b2"}  # ignored: read again from the script, and kept again
    assert _imports_entry(cache)[2][digest] == [True, imports]


def test_a_helper_imported_under_another_spelling_of_its_name_is_found(project: Path, rendered: list) -> None:
    """Python reads identifiers NFKC-normalised: ``import ｃachehelper`` (a fullwidth c) imports
    cachehelper. A script with bytes outside ASCII is parsed, not searched for the name."""
    versions = project / "migrations" / "versions"
    b2, c3 = next(versions.glob("*_b2.py")), next(versions.glob("*_c3.py"))
    b2.write_text(b2.read_text(encoding="utf-8").replace("cachehelper", "\uff43achehelper"), encoding="utf-8")
    c3.write_text(c3.read_text().replace("import pathlib\n", "import pathlib\n\nimport cachehelper  # noqa\n"))
    _check(project)
    rendered.clear()
    (project / "cachehelper.py").write_text('TABLE = "w"\n')
    again = _check(project)
    assert _revisions(rendered) == {"b2", "c3"}  # c3 names it plainly; b2 only as Python reads it
    assert _check(project, "--no-cache") == again


def test_what_the_scripts_import_is_read_again_by_another_distill(project: Path, monkeypatch) -> None:
    """The code that reads what scripts import is in the kept entry's key (another distill may
    read them otherwise): another reading code keeps another entry."""
    from distill.cache import known_imports
    cache = Path(os.environ["XDG_CACHE_HOME"])
    _check(project)
    monkeypatch.setattr(known_imports, "reading_code", lambda: "another")
    (project / "cachehelper.py").write_text('TABLE = "w"\n')
    _check(project)
    from distill.cache.known_imports import _MAGIC
    assert len([p for p in _files(cache) if p.read_bytes().startswith(_MAGIC)]) == 2


def test_a_helper_env_py_imports_is_keyed_for_every_step(project: Path, rendered: list) -> None:
    """env.py runs for every rendering: what it imports can reach any step."""
    env = project / "migrations" / "env.py"
    env.write_text("import cachehelper  # noqa: F401\n" + env.read_text())
    _check(project)
    rendered.clear()
    (project / "cachehelper.py").write_text('TABLE = "w"\n')
    _check(project)
    assert _revisions(rendered) == {"a1", "b2", "c3"}


def test_which_modules_are_confined(tmp_path: Path) -> None:
    from distill.cache import confined

    plain = tmp_path / "plain.py"
    plain.write_text('"""doc"""\nimport os\nX: int = 1\nY = (1, "a")\n\n\ndef f(a=1):\n    return g(a)\n')
    assert confined._pure(str(plain), keys.watch.file_digest(str(plain)), {})
    for text in ("import geoalchemy2\n", "from some_plugin import types\n", "X = f()\n", "@decorator\ndef f():\n    pass\n", "class C:\n    pass\n",
                 "def f(a=g()):\n    pass\n", "if X:\n    Y = 1\n", "X = [y for y in z]\n", "X = lambda: 1\n"):
        plain.write_text(text)
        assert not confined._pure(str(plain), keys.watch.file_digest(str(plain)), {}), text
    plain.write_text('X = 1\n')
    assert not confined._pure(str(plain), "another digest", {})  # not the bytes executed: not certain


def _uses(name: str, revision: str, down: str | None, imports: str, table: str) -> dict:
    """A revision creating the table named by the expression ``table`` (which reads a helper)."""
    return {"revision": revision, "down": down, "message": name, "imports": imports, "body": f'''
        def upgrade():
            op.create_table({table}, sa.Column("id", sa.Integer, primary_key=True))

        def downgrade():
            op.drop_table({table})
     '''}


def _helper_project(tmp_path: Path, revisions: list[dict], files: dict[str, str], toml: str = "") -> Path:
    root = write_project(tmp_path / "h", revisions,
                         distill_toml='[tool.distill]\ndialects = ["sqlite"]\n' + toml)
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def _edited_renders_again(root: Path, rendered: list, path: str, text: str) -> set[str]:
    """Check, edit ``path``, check again: the revisions rendered again (and the second check says
    what a check without the cache says)."""
    _check(root)
    rendered.clear()
    (root / path).write_text(text)
    again = _check(root)
    seen = _revisions(rendered)
    rendered.clear()
    assert _check(root, "--no-cache") == again
    return seen


def test_a_helper_reached_through_a_module_imported_while_rendering_is_keyed(tmp_path: Path,
                                                                              rendered: list) -> None:
    """b2 imports ops_extra inside upgrade() (not loaded with the history), which imports consts,
    which a1 imports at its top: an edit of consts renders b2 again too."""
    root = _helper_project(tmp_path, [
        _uses("a", "a1", None, "import consts\n", 'consts.NAME + "_a"'),
        {"revision": "b2", "down": "a1", "message": "b", "body": '''
            def upgrade():
                from ops_extra import table
                op.create_table(table(), sa.Column("id", sa.Integer, primary_key=True))

            def downgrade():
                from ops_extra import table
                op.drop_table(table())
         '''}], {"consts.py": 'NAME = "u"\n', "ops_extra.py": 'from consts import NAME\n\n\ndef table():\n'
                                                               '    return NAME + "_b"\n'})
    assert _edited_renders_again(root, rendered, "consts.py", 'NAME = "w"\n') == {"a1", "b2"}


def test_a_helper_a_setup_hook_imports_is_keyed_for_every_step(tmp_path: Path, rendered: list) -> None:
    root = _helper_project(tmp_path, [
        CREATE_T, _uses("b", "b2", "a1", "import consts\n", 'consts.NAME')],
        {"consts.py": 'NAME = "u"\n', "hookmod.py": "import consts\n\n\ndef setup():\n    return consts.NAME\n"},
        toml='setup = "hookmod:setup"\n')
    assert _edited_renders_again(root, rendered, "consts.py", 'NAME = "w"\n') == {"a1", "b2"}


def test_importing_a_package_reaches_its_loaded_modules(tmp_path: Path, rendered: list) -> None:
    """a1 imports the package and reads ``helperpkg.sub`` (loaded by b2): an edit of sub renders both."""
    root = _helper_project(tmp_path, [
        _uses("a", "a1", None, "import helperpkg\n", 'helperpkg.sub.NAME + "_a"'),
        _uses("b", "b2", "a1", "import helperpkg.sub\n", 'helperpkg.sub.NAME + "_b"')],
        {"helperpkg/__init__.py": "", "helperpkg/sub.py": 'NAME = "u"\n'})
    assert _edited_renders_again(root, rendered, "helperpkg/sub.py", 'NAME = "w"\n') == {"a1", "b2"}


def test_a_module_added_where_an_import_looks_is_seen(tmp_path: Path, rendered: list) -> None:
    """A helper falls back when a module is missing; adding the module changes the SQL: the whole
    result kept before is not served."""
    root = _helper_project(tmp_path, [_uses("a", "a1", None, "import fallback\n", "fallback.NAME")],
                           {"fallback.py": 'try:\n    from extra_name import NAME\nexcept ImportError:\n'
                                           '    NAME = "u"\n'})
    first = _check(root)
    (root / "extra_name.py").write_text('NAME = "w"\n')
    again = _check(root)
    assert again != first and again == _check(root, "--no-cache")


def _compiled(cache: Path) -> Path:
    [entry] = [p for p in _files(cache) if p.read_bytes().startswith(b"DISTILL-COMPILED")]
    return entry


_CODE_MAGIC = b"DISTILL-COMPILED-SCRIPTS 1\n"


def _code_table(entry: Path) -> tuple[str, dict]:
    import marshal
    return marshal.loads(entry.read_bytes()[len(_CODE_MAGIC) + 32:])


def _poisoned(entry: Path, script: Path, text: str) -> bytes:
    """``entry`` with a valid code object of ``text`` for ``script``'s current bytes."""
    import hashlib
    import marshal

    from distill.cache.compiled import source_digest
    key, table = _code_table(entry)
    table[str(script)] = (source_digest(script.read_bytes()),
                          marshal.dumps(compile(text, str(script), "exec", dont_inherit=True)))
    payload = marshal.dumps((key, table))
    return _CODE_MAGIC + hashlib.blake2b(payload, digest_size=32).digest() + payload


def test_the_scripts_code_is_taken_only_for_the_bytes_it_was_compiled_from(project: Path, tmp_path: Path,
                                                                             monkeypatch) -> None:
    """The cache keeps each script's code object, as a .pyc would: taken for the very bytes it
    was compiled from (a poisoned one, valid for those bytes, shows it is read), never by
    --no-cache, never once the script changed; a torn entry is ignored and written again."""
    cold = _check(project, "--no-reproducibility-check")  # the same report in every run below
    entry = _compiled(Path(os.environ["XDG_CACHE_HOME"]))
    script = next((project / "migrations" / "versions").glob("*_a1.py")).resolve()
    poisoned = _poisoned(entry, script, script.read_text().replace('"t"', '"poisoned"'))  # dropped: a finding
    fresh = tmp_path / "fresh"  # only the code objects: every step renders again
    monkeypatch.setenv("XDG_CACHE_HOME", str(fresh))
    (fresh / "distill" / entry.parent.parent.name / entry.parent.name).mkdir(parents=True)
    (fresh / "distill" / entry.parent.parent.name / entry.parent.name / entry.name).write_bytes(poisoned)
    assert "drops table poisoned" in _check(project, "--no-reproducibility-check")
    shutil.rmtree(fresh)
    for name in ("again", "nocache", "edited"):
        (fresh / "distill" / entry.parent.parent.name / entry.parent.name).mkdir(parents=True)
        kept = fresh / "distill" / entry.parent.parent.name / entry.parent.name / entry.name
        kept.write_bytes(poisoned)
        if name == "nocache":
            assert _check(project, "--no-cache", "--no-reproducibility-check") == cold
        elif name == "edited":
            script.write_text(script.read_text() + "\n# edited\n")
            assert _check(project, "--no-reproducibility-check") == cold
            from distill.cache.compiled import source_digest
            assert _code_table(kept)[1][str(script)][0] == source_digest(script.read_bytes())  # written again
        else:
            kept.write_bytes(poisoned[:-7])  # torn: ignored, compiled, written again
            assert _check(project, "--no-reproducibility-check") == cold
            assert kept.read_bytes() != poisoned[:-7] and kept.read_bytes().startswith(b"DISTILL-COMPILED")
        shutil.rmtree(fresh)


DEBUG_ONLY = [{"revision": "a1", "message": "a statement only without -O", "body": '''
    def upgrade():
        if __debug__:
            op.execute("SELECT 'debug'")
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}]


def test_python_optimize_is_in_the_keys_and_the_kept_code(tmp_path: Path) -> None:
    """python -O compiles a revision without its `if __debug__:` blocks (and asserts): a run with
    -O after a run without takes neither the bundle, the renderings nor the compiled code that
    run kept (-O is no environment variable: it is keyed as the interpreter's flags)."""
    import subprocess
    project = write_project(tmp_path / "p", DEBUG_ONLY)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    out = {}
    for name, flags in (("plain", []), ("plain-again", []), ("optimized", ["-O"])):
        subprocess.run([sys.executable, *flags, "-m", "distill", "build", "--out", str(tmp_path / name),
                        "--name", "r1", "--dialect", "sqlite"], cwd=project, env=env, check=True,
                       capture_output=True)
        out[name] = (tmp_path / name / "sqlite" / "upgrade.sql").read_text()
    assert "SELECT 'debug'" in out["plain"] and out["plain-again"] == out["plain"]
    assert "SELECT 'debug'" not in out["optimized"] and "CREATE TABLE t" in out["optimized"]


def test_the_kept_code_is_keyed_on_the_interpreter_flags(tmp_path: Path) -> None:
    """-X int_max_str_digits decides whether a long integer literal compiles: code kept by a run
    with the limit off is not taken by a run with it on, which fails as --no-cache fails."""
    import subprocess
    literal = {"revision": "a1", "body": f'''
        BIG = {"7" * 5000}

        def upgrade():
            op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

        def downgrade():
            op.drop_table("t")
    '''}
    project = write_project(tmp_path / "p", [literal])
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def check(*flags: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *flags, "-m", "distill", "check", "--dialect", "sqlite",
                               "--no-reproducibility-check"],
                              cwd=project, env=env, capture_output=True, text=True)

    assert check("-X", "int_max_str_digits=0").returncode == 0
    limited = check()
    assert limited.returncode != 0 and "Exceeds the limit" in limited.stderr
    entry = _compiled(tmp_path / "cache")
    os.utime(entry, (1, 1))
    assert check("-X", "int_max_str_digits=0").returncode == 0
    assert entry.stat().st_mtime > 1  # used: touched (least recently used entries go first)


def test_a_whole_result_depends_on_what_decides_alembic_s_compatibility(project: Path, loads: list,
                                                                       monkeypatch, tmp_path: Path) -> None:
    """A whole result is found before Alembic is imported or checked: the files whose bytes
    decide the compatibility check (the patched originals' sources, the versions' files) are
    among its dependencies, so an Alembic edited in place (the same version number) is checked
    again; and the warning printed when the result was made is printed again when it is found."""
    import distill.alembic_compat as compat
    from distill.alembic_compat import fingerprints
    library = tmp_path / "migration.py"
    library.write_text("# as installed\n")
    monkeypatch.setattr(fingerprints, "library_sources", lambda: [str(library)])
    monkeypatch.setattr(compat, "compatibility_warning", lambda: "distill: warning: alembic 9.9 was not tested")
    first = run_distill(["check"], cwd=project)
    assert first.returncode == 0 and "alembic 9.9 was not tested" in first.stderr
    loads.clear()
    found = run_distill(["check"], cwd=project)
    assert loads == [] and found.stdout == first.stdout  # found whole, the warning said again
    assert "distill: warning: alembic 9.9 was not tested" in found.stderr
    sarif = [run_distill(["check", "--format", "sarif"], cwd=project) for _ in range(2)]  # loads the history
    assert [run.stderr.count("alembic 9.9 was not tested") for run in sarif] == [1, 1]  # said once each
    library.write_text("# patched in place\n")
    loads.clear()
    again = run_distill(["check"], cwd=project)
    assert loads == [1] and again.stdout == first.stdout  # loaded, checked again


def test_no_shadow_given_as_false_to_the_api_is_no_shadow(project: Path) -> None:
    from distill import api
    report = api.check(api.Project(project), shadow=False, dialect_names="sqlite")
    assert report.ok and report.reproducibility["checked"]


def test_a_library_file_changed_after_the_compatibility_check_keeps_no_whole_result(tmp_path: Path,
                                                                                   monkeypatch) -> None:
    """The bytes a whole result lists for Alembic's sources are those the verdict was read from:
    a file reinstalled between the check and the keeping makes the key uncertain (None)."""
    from distill.alembic_compat import fingerprints
    library = tmp_path / "migration.py"
    library.write_text("# as installed\n")
    monkeypatch.setattr(fingerprints, "library_sources", lambda: [str(library)])
    monkeypatch.setattr(fingerprints, "_found", {})
    monkeypatch.setattr(fingerprints, "_verdict_read", {})
    fingerprints.changed_originals()  # the verdict, read now
    assert fingerprints.checked_sources() == {str(library): keys.watch.file_digest(str(library))}
    library.write_text("# reinstalled during the run\n")
    assert fingerprints.checked_sources() is None
