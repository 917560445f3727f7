"""Revisions that exit, fork, kill their process or use the result of an offline statement: every
command ends non-zero within seconds with one paragraph naming the revision, nothing hangs, no
process is left behind; SIGTERM always stops distill; a killed distill takes its workers and its
second rendering with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import render_sql
from projects import CREATE_T, write_project

from distill.config import load
from distill.history.scripts import History

LIMIT = 30  # seconds any of these commands may take (each takes 1-3 s)
EXITS = "it exits the program while distill renders it"
DIED = "ended without its result (killed by SIGKILL) while rendering revision b2"
USED = "uses the result of a statement at line"

# name -> (imports, upgrade body, what the error says); the revision is b2, after CREATE_T's a1
REVISIONS = {
    "sysexit": ("import sys", "def upgrade():\n    sys.exit(0)\n", EXITS),
    "osexit": ("import os", "def upgrade():\n    os._exit(0)\n", EXITS),
    "raises": ("", "def upgrade():\n    raise SystemExit\n", EXITS),
    "forks": ("import os", "os.fork()\n\ndef upgrade():\n    op.execute('SELECT 1')\n",
              "fails to import at line 10: ForkRefused: os.fork() is refused"),
    "kills": ("import os, signal", "def upgrade():\n    os.kill(os.getpid(), signal.SIGKILL)\n", DIED),
    "rowcount": ("", "def upgrade():\n    bind = op.get_bind()\n    while True:\n"
                     "        r = bind.execute(sa.text('UPDATE t SET id = id LIMIT 1000'))\n"
                     "        if r.rowcount == 0:\n            break\n", f"{USED} 13 (its .rowcount)"),
    "truthy": ("", "def upgrade():\n    r = op.get_bind().execute(sa.text('SELECT 1 FROM t'))\n"
                   "    if r:\n        op.execute('DELETE FROM t')\n", f"{USED} 11 (its truth value)"),
    "swallowed": ("", "def upgrade():\n    r = op.get_bind().execute(sa.text('DELETE FROM t'))\n    try:\n"
                      "        n = r.rowcount\n    except Exception:\n        n = 0\n",
                  f"{USED} 11 (its .rowcount)"),
}
COMMANDS = {"sql": ["sql", "--dialect", "sqlite"], "check": ["check"], "build": ["build", "--out", "out/b"],
            "release": ["release", "1.0"]}


def _project(root: Path, name: str) -> Path:
    imports, body, _ = REVISIONS[name]
    return write_project(root / name, [CREATE_T, {"revision": "b2", "down": "a1", "imports": imports,
                                                  "body": body + "\ndef downgrade():\n    pass\n"}],
                         distill_toml='dialects = ["sqlite", "postgresql"]\n[releases]\n"1.0" = "b2"\n')


@pytest.fixture(scope="module")
def projects(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("exits")
    for name in REVISIONS:
        _project(root, name)
    return root


def _group_alive(group: int) -> list[int]:
    """Processes (not zombies) of the process group ``group``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(stat.parent.name))
    return found


def _distill(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """``distill ARGS`` in a session of its own; (its outcome, seconds taken). Whatever happens,
    nothing of it is left running."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "distill", *args], cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "DISTILL_JOBS": "2"})
    try:
        out, err = process.communicate(timeout=LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise AssertionError(f"distill {' '.join(args)} still ran after {LIMIT} s") from None
    finally:
        time.sleep(0.2)
        left = _group_alive(process.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    assert not left, f"distill {' '.join(args)} left processes behind: {left}"
    return subprocess.CompletedProcess(args, process.returncode, out, err), time.monotonic() - started


CASES = [(name, command) for name in ("sysexit", "osexit", "raises", "forks", "kills") for command in COMMANDS] + [
    (name, command) for name in ("rowcount", "truthy", "swallowed") for command in ("sql", "check")]


@pytest.mark.parametrize(("name", "command"), CASES)
def test_every_command_ends_with_one_paragraph_naming_the_revision(projects, name, command):
    result, seconds = _distill(COMMANDS[command], projects / name)
    says = REVISIONS[name][2]
    assert "Traceback" not in result.stdout + result.stderr
    assert seconds < LIMIT
    assert not [p for folder in ("out", "releases") for p in (projects / name / folder).rglob("*") if p.is_file()]
    if name == "kills" and command == "sql":  # one job runs in distill's own process: it is killed
        assert result.returncode == -signal.SIGKILL
        return
    assert result.returncode == 1, (result.returncode, result.stderr)
    if command == "check" and name not in ("forks", "kills"):  # a report: the revision cannot render
        problems = json.loads(_distill(["check", "--json"], projects / name)[0].stdout)["cannot_render"]
        assert [(p["revision"], p["direction"]) for p in problems] == [("b2", "upgrade")]
        assert says in problems[0]["cause"] and sorted(problems[0]["dialects"]) == ["postgresql", "sqlite"]
        return
    message = result.stderr.strip()
    assert message.startswith("distill: error: ") and "\n" not in message, message
    assert says in message and "b2" in message and "002_b2.py" in message, message
    if name in ("rowcount", "truthy", "swallowed"):
        assert "--shadow" in message and "context.is_offline_mode()" in message


def test_the_api_raises_distills_error_never_system_exit(projects):
    """In a child process: without the fix, os._exit() would end the interpreter running it."""
    script = ("import sys\nfrom pathlib import Path\nfrom distill import api\nfrom distill.errors import OfflineRenderError\n"
              "for name in ('sysexit', 'osexit', 'raises'):\n"
              "    try:\n        api.sql(api.Project(Path(sys.argv[1]) / name), dialect='sqlite')\n"
              "    except OfflineRenderError as exc:\n        print(name, exc.revision)\n")
    result = subprocess.run([sys.executable, "-c", script, str(projects)], capture_output=True, text=True,
                            timeout=LIMIT)
    assert result.stdout.split("\n") == ["sysexit b2", "osexit b2", "raises b2", ""], result.stderr[-2000:]


def test_a_result_nobody_uses_changes_nothing(tmp_path):
    outputs = []
    for name, call in (("bind", "op.get_bind().execute"), ("op", "op.execute")):
        root = write_project(tmp_path / name, [CREATE_T, {"revision": "b2", "down": "a1", "body": (
            f"def upgrade():\n    {call}(sa.text('UPDATE t SET id = id'))\n\ndef downgrade():\n    pass\n")}])
        outputs.append(render_sql(History(load(root)), "sqlite", "base", "heads", style="none"))
    assert outputs[0] == outputs[1] and "UPDATE t SET id = id;" in outputs[0]


def test_a_value_without_a_literal_form_claims_nothing_about_online_alembic(tmp_path):
    root = write_project(tmp_path, [CREATE_T, {"revision": "b2", "down": "a1", "imports": "import datetime",
                                               "body": "def upgrade():\n    t = sa.table('t', sa.column('d'))\n"
                                                       "    op.execute(t.insert().values(d=datetime.date(2020, 1, 2)))\n"
                                                       "\ndef downgrade():\n    pass\n"}])
    for extra in ([], ["--shadow"]):
        result, _ = _distill(["sql", "--dialect", "sqlite", *extra], root)
        assert result.returncode == 1 and "same way" not in result.stderr, result.stderr
        assert "column d has no type (sa.column() without one), so the date value it is given has no literal " \
               'form' in result.stderr and 'Give the column its type (sa.column("d", sa.<Type>))' in result.stderr


def _sleeper(tmp_path: Path) -> Path:
    return write_project(tmp_path, [CREATE_T, {"revision": "b2", "down": "a1", "imports": "import time", "body":
                                               "def upgrade():\n    time.sleep(60)\n\ndef downgrade():\n    pass\n"}],
                         distill_toml='dialects = ["sqlite", "postgresql"]\n')


@pytest.mark.parametrize("command", [["sql", "--dialect", "sqlite"], ["build", "--out", "out/b"]])
def test_sigterm_stops_distill_and_everything_it_started(tmp_path, command):
    """While a revision sleeps: in distill's own process (sql) and in its workers (build, whose
    second rendering sleeps too). SIGTERM is distill's, not the revision's exit."""
    project = _sleeper(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "distill", *command], cwd=project, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                               env={**os.environ, "DISTILL_JOBS": "2"})
    try:
        wanted = 1 if command[0] == "sql" else 4  # distill, its two workers, the second rendering
        deadline = time.monotonic() + LIMIT
        while len(_group_alive(process.pid)) < wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # well inside the revision's sleep
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=5)
        time.sleep(1)
        assert process.returncode == 143 and "exits the program" not in err and "Traceback" not in err, err
        assert _group_alive(process.pid) == []
    finally:
        for pid in _group_alive(process.pid):
            os.kill(pid, signal.SIGKILL)


def _rendering_everywhere(group: int) -> bool:
    """distill, at least one worker and the second rendering are alive in ``group``."""
    alive = _group_alive(group)
    commands = [Path(f"/proc/{pid}/cmdline").read_bytes() if Path(f"/proc/{pid}/cmdline").exists() else b""
                for pid in alive]
    return len(alive) >= 3 and any(b"second_rendering" in command for command in commands)


def test_a_killed_distill_leaves_no_worker_and_no_second_rendering(tmp_path):
    """While its workers and its second rendering run a revision that sleeps: without a death
    signal, the second rendering slept on for a minute."""
    build = subprocess.Popen([sys.executable, "-m", "distill", "build", "--out", "out/b"], cwd=_sleeper(tmp_path),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                             env={**os.environ, "DISTILL_JOBS": "2"})
    try:
        deadline = time.monotonic() + LIMIT
        while not _rendering_everywhere(build.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        # distill, a worker (a worker whose jobs were all downgrades may be done already) and the
        # second rendering, sleeping in the revision
        assert _rendering_everywhere(build.pid), _group_alive(build.pid)
        time.sleep(1.5)  # well inside the revision's sleep
        os.kill(build.pid, signal.SIGKILL)  # distill alone: what it started must follow it
        build.wait()
        time.sleep(1.0)
        assert _group_alive(build.pid) == []
    finally:
        for pid in _group_alive(build.pid):
            os.kill(pid, signal.SIGKILL)


def test_a_thread_a_revision_leaves_running_does_not_hang_build_or_check(tmp_path):
    """A worker exits only after its non-daemon threads: with every result sent, distill waited
    for it for ever (found in review). It now gives a worker 2 s, then ends it."""
    project = write_project(tmp_path / "p", [CREATE_T, {"revision": "b2", "down": "a1",
                                                        "imports": "import threading\nimport time", "body": '''
def upgrade():
    threading.Thread(target=lambda: time.sleep(3600)).start()
    op.execute("INSERT INTO t (id) VALUES (1)")

def downgrade():
    op.execute("DELETE FROM t WHERE id = 1")
'''}], distill_toml='dialects = ["sqlite", "postgresql"]\n')
    for args in (["build", "--out", "out/b"], ["check"]):
        result, _ = _distill(args, project)
        assert result.returncode == 0, result.stderr
    assert (project / "out" / "b" / "manifest.json").is_file()
