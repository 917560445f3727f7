"""The reproducibility check never changes the Python the revisions run in: its second rendering
moves the clock below Python (libfaketime), so a revision importing pandas (a C extension that
subclasses datetime) or defining a datetime subclass with its own metaclass renders in it as
anywhere, while a revision that writes today's date into its SQL is still found. When the check
cannot run, that is said ("reproducibility not checked: why"), never a failed command; it can be
turned off (--no-reproducibility-check, reproducibility_check = false: in the manifest); and a
setup hook initialises the application before the revisions load, in every process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

PANDAS = {"revision": "b2", "down": "a1", "message": "pandas", "imports": "import pandas as pd",
          "body": '''
def upgrade():
    op.execute(f"INSERT INTO t (id) VALUES ({pd.Timestamp('2024-01-02').dayofyear})")

def downgrade():
    op.execute("DELETE FROM t WHERE id = 2")
'''}
METACLASS = {"revision": "c3", "down": "b2", "message": "stamp type", "imports": '''import datetime


class StampMeta(type):
    pass


class Stamp(datetime.datetime, metaclass=StampMeta):
    pass
''', "body": '''
def upgrade():
    op.execute(f"INSERT INTO t (id) VALUES ({Stamp(2024, 1, 3).day})")

def downgrade():
    op.execute("DELETE FROM t WHERE id = 3")
'''}
TODAY = {"revision": "d4", "down": "c3", "message": "today", "imports": "import datetime",
         "body": '''
def upgrade():
    op.execute(f"INSERT INTO t (id) VALUES ({datetime.date.today():%Y%m%d})")

def downgrade():
    op.execute("DELETE FROM t WHERE id > 1000")
'''}
SQLITE = 'dialects = ["sqlite", "postgresql"]\n'


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return write_project(tmp_path_factory.mktemp("repro"), [CREATE_T, PANDAS, METACLASS, TODAY],
                         distill_toml=SQLITE)


def _check(project: Path, *args: str, env: dict[str, str] | None = None) -> dict:
    result = run_distill(["check", "--json", *args], project, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _unstable(report: dict) -> dict[tuple[str, str], list[str]]:
    return {(f["revision"], f["direction"]): f["message"] for f in report["not_reproducible"]}


def test_pandas_and_a_datetime_subclass_render_again_and_today_s_date_is_found(project):
    report = _check(project)
    assert report["reproducibility"] == {"checked": True, "notes": []}
    unstable = _unstable(report)
    assert list(unstable) == [("d4", "upgrade")], unstable  # b2 and c3 rendered again, the same
    assert unstable["d4", "upgrade"].startswith("renders differently each time; first differing line")
    assert [f["dialects"] for f in report["not_reproducible"]] == [["postgresql", "sqlite"]]
    from distill.offline import clock

    assert clock.find_libfaketime() is not None, "libfaketime is needed here (Debian's faketime)"


def test_a_bundle_of_them_rebuilds_byte_for_byte(project, tmp_path):
    result = run_distill(["build", "--to", "c3", "--out", str(tmp_path / "b")], project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert "reproducibility_check" not in manifest["options"]
    assert not any("not_reproducible" in step["up"] for entry in manifest["dialects"].values()
                   for step in entry["steps"])
    verified = run_distill(["verify", str(tmp_path / "b"), "--rebuild"], project)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_without_libfaketime_the_check_runs_and_says_the_clock_did_not_move(project, tmp_path):
    env = {"DISTILL_LIBFAKETIME": str(tmp_path / "missing.so")}
    result = run_distill(["check", "--dialect", "sqlite"], project, env=env)
    assert result.returncode == 0, result.stderr
    assert (f"REPRODUCIBILITY: the reproducibility check rendered a second time under another hash seed, "
            f"but did not move the clock forward (libfaketime was not found (looked in {tmp_path}/missing.so); "
            "install Debian's faketime package (apt-get install faketime))") in result.stdout
    assert "NOT REPRODUCIBLE: 0" in result.stdout  # today's date: the same twice
    built = run_distill(["build", "--dialect", "sqlite", "--out", str(tmp_path / "b")], project, env=env)
    assert built.returncode == 0, built.stderr
    assert "did not move the clock forward (libfaketime was not found" in built.stderr


def test_a_second_rendering_that_cannot_load_the_history_is_not_checked_not_failed(project, tmp_path):
    """The revision fails to import only under the hash seed the second rendering gets (the
    first's plus one): every step is 'reproducibility not checked', the commands succeed."""
    root = write_project(tmp_path / "p", [CREATE_T, {**METACLASS, "revision": "b2", "down": "a1", "imports": (
        METACLASS["imports"] + 'import os\nif os.environ.get("PYTHONHASHSEED") == "8":\n'
        '    raise RuntimeError("not twice")\n')}], distill_toml=SQLITE)
    report = _check(root, env={"PYTHONHASHSEED": "7"})
    unstable = _unstable(report)
    assert set(unstable) == {("a1", "upgrade"), ("a1", "downgrade"), ("b2", "upgrade"), ("b2", "downgrade")}
    for message in unstable.values():
        assert message.startswith("reproducibility not checked: the second rendering could not load the "
                                  "history: cannot load revision b2: its script migrations/versions/002_b2.py "
                                  "fails to import at line 15: RuntimeError: not twice."), message
    built = run_distill(["build", "--dialect", "sqlite", "--out", str(tmp_path / "b")], root,
                        env={"PYTHONHASHSEED": "7"})
    assert built.returncode == 0, built.stderr
    steps = json.loads((tmp_path / "b" / "manifest.json").read_text())["dialects"]["sqlite"]["steps"]
    assert steps[1]["up"]["not_reproducible"][0].startswith("reproducibility not checked: ")


@pytest.mark.parametrize("how", ["flag", "config"])
def test_the_check_turned_off_is_recorded_and_the_bundle_rebuilds(project, tmp_path, how):
    root = project
    args = ["--no-reproducibility-check"] if how == "flag" else []
    if how == "config":
        root = write_project(tmp_path / "p", [CREATE_T, PANDAS, METACLASS, TODAY],
                             distill_toml=SQLITE + "reproducibility_check = false\n")
    report = _check(root, *args)
    assert report["not_reproducible"] == []
    assert report["reproducibility"]["checked"] is False
    text = run_distill(["check", *args], root)
    assert "REPRODUCIBILITY NOT CHECKED: the check is turned off" in text.stdout
    result = run_distill(["build", *args, "--out", str(tmp_path / "b")], root)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["options"]["reproducibility_check"] is False
    verified = run_distill(["verify", str(tmp_path / "b"), "--rebuild"], root)
    assert verified.returncode == 0, verified.stdout + verified.stderr


APP = '''
import contextvars

READY = False
CURRENT_APP = contextvars.ContextVar("current_app")


def setup():
    global READY
    READY = True
    CURRENT_APP.set("the app")
'''
NEEDS_APP = {"revision": "b2", "down": "a1", "message": "needs the app", "imports": '''import myapp

assert myapp.READY and myapp.CURRENT_APP.get(None) == "the app", "no application context"
''', "body": '''
def upgrade():
    assert myapp.CURRENT_APP.get(None) == "the app", "no application context while rendering"
    op.execute("INSERT INTO t (id) VALUES (2)")

def downgrade():
    assert myapp.CURRENT_APP.get(None) == "the app", "no application context while rendering"
    op.execute("DELETE FROM t WHERE id = 2")
'''}


def _app_project(root: Path, setup: str | None) -> Path:
    root = write_project(root, [CREATE_T, NEEDS_APP],
                         distill_toml=SQLITE + (f'setup = "{setup}"\n' if setup else ""))
    (root / "myapp.py").write_text(APP)
    return root


def test_a_setup_hook_runs_before_revisions_load_in_every_process(tmp_path):
    root = _app_project(tmp_path / "p", "myapp:setup")
    env = {"DISTILL_JOBS": "2"}  # check's jobs run in forked workers
    report = _check(root, env=env)
    assert report["ok"] and report["not_reproducible"] == [], report
    result = run_distill(["build", "--out", str(tmp_path / "b")], root, env=env)
    assert result.returncode == 0, result.stderr
    verified = run_distill(["verify", str(tmp_path / "b"), "--rebuild"], root, env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    sql = run_distill(["sql", "--dialect", "sqlite"], root)
    assert sql.returncode == 0 and "VALUES (2);" in sql.stdout, sql.stderr


def test_without_the_hook_the_history_does_not_load(tmp_path):
    result = run_distill(["check"], _app_project(tmp_path / "p", None))
    assert result.returncode == 1
    assert "AssertionError: no application context" in result.stderr


@pytest.mark.parametrize(("setup", "why"), [
    ("myapp:missing", "AttributeError: module 'myapp' has no attribute 'missing'"),
    ("nosuchapp:setup", "ModuleNotFoundError: No module named 'nosuchapp'"),
])
def test_a_failing_setup_hook_is_one_paragraph(tmp_path, setup, why):
    result = run_distill(["build", "--out", str(tmp_path / "b")], _app_project(tmp_path / "p", setup))
    assert result.returncode == 1
    assert result.stderr == (f"distill: error: distill.toml: the setup hook {setup} (setup in [tool.distill]) "
                             f"failed: {why}. Fix the hook or the setting; it is called before the revision "
                             "scripts load, in every process distill uses.\n")
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("setup", ["myapp", "myapp:setup()", "my app:setup", "myapp:setup\\nx", "a..b:c"])
def test_a_setup_hook_that_is_no_module_and_function_is_refused(tmp_path, setup):
    result = run_distill(["check"], _app_project(tmp_path / "p", setup))
    assert result.returncode == 1
    assert result.stderr.startswith("distill: error: distill.toml: setup must name a function as "
                                    '"package.module:function", not '), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_second_rendering_that_dies_while_rendering_is_not_checked_not_failed(tmp_path):
    """The child process ends in the middle of a rendering (a revision kills its own process
    under the second rendering's hash seed only: os._exit is refused while rendering, see
    test_exits): its steps are 'reproducibility not checked'."""
    root = write_project(tmp_path / "p", [CREATE_T, {"revision": "b2", "down": "a1",
                                                     "imports": "import os\nimport signal",
                                                     "body": '''
def upgrade():
    if os.environ.get("PYTHONHASHSEED") == "8":
        os.kill(os.getpid(), signal.SIGKILL)
    op.execute("INSERT INTO t (id) VALUES (2)")

def downgrade():
    op.execute("DELETE FROM t WHERE id = 2")
'''}], distill_toml=SQLITE)
    report = _check(root, env={"PYTHONHASHSEED": "7"})
    assert report["not_reproducible"], report
    assert {f["message"] for f in report["not_reproducible"]} == {
        "reproducibility not checked: the second rendering ended (exit status -9)"}
    built = run_distill(["build", "--out", str(tmp_path / "b")], root, env={"PYTHONHASHSEED": "7"})
    assert built.returncode == 0, built.stderr


def test_an_api_caller_whose_scripts_changed_gets_no_false_difference(tmp_path):
    """One process, two checks through the API with a script edited between them: the second
    rendering loads the scripts again for the second Project (it kept the first load, and
    reported the edited revision as rendering differently each time)."""
    import time

    from distill import api
    project = write_project(tmp_path / "p", [CREATE_T])
    first = api.check(api.Project(project), dialect_names="sqlite", cache=False).to_json()
    assert first["reproducibility"]["checked"] and first["not_reproducible"] == []
    script = next(Path(project, "migrations", "versions").glob("*_a1.py"))
    script.write_text(script.read_text().replace("def upgrade():", "def upgrade():\n    op.execute('SELECT 1')"))
    time.sleep(2.1)  # older than two seconds: certain to be read as it is
    second = api.check(api.Project(project), dialect_names="sqlite", cache=False).to_json()
    assert second["reproducibility"]["checked"] and second["not_reproducible"] == []


def test_the_second_rendering_ends_running_the_exit_handlers_revisions_registered(tmp_path):
    """An API caller's process ends: it closes the second rendering's input, and that process
    ends after its exit handlers ran (here one a revision registers when it loads, as a library
    may to remove its temporary files)."""
    import subprocess
    import sys

    from runner import REPO
    marks = tmp_path / "marks"
    marks.mkdir()
    root = write_project(tmp_path / "p", [CREATE_T, {"revision": "b2", "down": "a1", "imports": "import atexit\nimport os",
                                                     "body": '''
atexit.register(lambda: open(os.path.join(os.environ["MARKS"], str(os.getpid())), "w").close())

def upgrade():
    op.execute("INSERT INTO t (id) VALUES (2)")

def downgrade():
    op.execute("DELETE FROM t WHERE id = 2")
'''}], distill_toml=SQLITE)
    program = ("import sys\nfrom distill import api\n"
               "report = api.check(api.Project(sys.argv[1]), cache=False).to_json()\n"
               "assert report['reproducibility']['checked'] and not report['not_reproducible'], report\n")
    done = subprocess.run([sys.executable, "-c", program, str(root)], env={**__import__("os").environ,
                          "MARKS": str(marks), "PYTHONPATH": str(REPO / "src")}, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(list(marks.iterdir())) == 2  # this process's, the second rendering's
