"""What reaches a terminal or a report: a revision message, a branch label, a manifest, a
database's version row, a typed value can hold escape sequences (OSC 52 writes the clipboard),
8-bit C1 controls (0x9b is a CSI) and bidirectional controls (U+202E); every command shows them
as escapes (``\\u001b``, ``\\u009b``, ``\\u202e``) and never writes them raw. The SQL of ``distill
sql`` is SQL: piped, it is unchanged; on a terminal, it is refused when it holds them."""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from helpers import read_terminal
from projects import run_distill, write_project
from test_attacks import _resum

HOSTILE = "\x1b]52;c;aGk=\x07\x9b31m\u202e\x1bP1$r\x1b\\\u2066"
SHOWN = "\\u001b]52;c;aGk=\\u0007\\u009b31m\\u202e"
# what a terminal obeys: C0 but newline and tab, C1, bidirectional controls
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _project(root: Path, sql: str = "SELECT 1") -> Path:
    return write_project(root, [
        {"revision": "a1", "message": "create t " + HOSTILE, "body": '''
            def upgrade():
                op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

            def downgrade():
                op.drop_table("t")
        '''},
        {"revision": "b2", "down": "a1", "message": "labelled " + HOSTILE, "body": f'''
            branch_labels = ("x",)
            def upgrade():
                op.execute({sql!r})

            def downgrade():
                pass
        '''}], distill_toml='[tool.distill]\ndialects = ["sqlite"]\nreproducibility_check = false\n')


def _clean(result: subprocess.CompletedProcess) -> str:
    text = result.stdout + result.stderr
    assert not RAW.search(text), [m.group() for m in RAW.finditer(text)]
    return text


def test_plan_check_and_sql_show_a_hostile_message_and_label(tmp_path):
    project = _project(tmp_path)
    for args in (["plan"], ["plan", "--json"], ["check"], ["check", "--json"], ["check", "--fail-on", "all"]):
        result = run_distill(args, project)
        assert result.returncode in (0, 1) and SHOWN in _clean(result), (args, result.stdout)
    _clean(run_distill(["check", "--format", "github", "--fail-on", "all"], project))
    sql = run_distill(["sql", "--dialect", "sqlite"], project)
    assert sql.returncode == 0 and "SELECT 1" in _clean(sql)
    built = run_distill(["build", "--out", tmp_path / "b"], project)  # the runbook and SQL comments: one line
    assert built.returncode == 0, built.stderr
    for name in ("README.md", "sqlite/upgrade.sql", "sqlite/downgrade.sql"):
        assert not RAW.search((tmp_path / "b" / name).read_text()), name
    script = project / "migrations" / "versions" / "002_b2.py"  # a hostile label: refused, shown inert
    script.write_text(script.read_text().replace('("x",)', repr(("x" + HOSTILE,))))
    refused = run_distill(["plan"], project)
    assert refused.returncode == 1 and "the branch_labels value 'x" in _clean(refused), refused.stderr


def test_an_error_paragraph_and_a_usage_error_show_what_was_typed(tmp_path):
    project = _project(tmp_path)
    error = run_distill(["plan", "--to", "zz" + HOSTILE], project)
    assert error.returncode != 0 and "zz" in _clean(error)
    usage = run_distill(["sql", "--dialect", "my" + HOSTILE], project)
    assert usage.returncode == 2 and "my" in _clean(usage)


def _received(tmp_path: Path, project: Path) -> tuple[Path, Path]:
    """A bundle and a copy whose author put hostile text in its manifest and runbook (and made the
    sums agree again)."""
    assert run_distill(["build", "--out", tmp_path / "old"], project).returncode == 0
    new = tmp_path / "new"
    shutil.copytree(tmp_path / "old", new)
    manifest = json.loads((new / "manifest.json").read_text())
    manifest["project"] = "p" + HOSTILE
    manifest["steps"][0]["message"] = "m" + HOSTILE
    (new / "manifest.json").write_text(json.dumps(manifest))
    (new / "README.md").write_text((new / "README.md").read_text() + "\nread me " + HOSTILE + "\n")
    _resum(new)
    return tmp_path / "old", new


def test_verify_diff_and_status_of_a_hostile_bundle(tmp_path):
    project = _project(tmp_path / "p")
    old, new = _received(tmp_path, project)
    verify = run_distill(["verify", new], project)
    # the edited manifest and runbook no longer match the files (verify compares them): NOT VERIFIED,
    # and what it quotes of them is shown, not acted on
    assert verify.returncode == 1 and "NOT VERIFIED" in verify.stdout
    _clean(verify)
    for args in (["diff", old, new], ["diff", "--format", "json", old, new]):
        result = run_distill(args, project)
        assert result.returncode == 1 and "\\u202e" in _clean(result), args
    _clean(run_distill(["diff", "--format", "html", old, new], project))  # (it leaves out the runbook)
    assert json.loads(run_distill(["diff", "--format", "json", old, new], project).stdout)["runbook"][-1] \
        == "+read me " + HOSTILE  # JSON's own escapes: the same text once parsed
    for output_format in ("text", "json", "html"):
        report = tmp_path / f"report.{output_format}"
        run_distill(["diff", "--format", output_format, "-o", report, old, new], project)
        assert not RAW.search(report.read_text())
    database = tmp_path / "db.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES (?)", ("v" + HOSTILE,))
    for args in (["status", "--url", f"sqlite:///{database}", new],
                 ["status", "--url", f"sqlite:///{database}", "--json", new]):
        result = run_distill(args, project)
        assert result.returncode == 1 and "v" in _clean(result), args


def _stdout_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(args, cwd=cwd, stdout=terminal, stderr=subprocess.PIPE, timeout=300, text=True)
        os.close(terminal)
        shown = read_terminal(controller)
    finally:
        os.close(controller)
    return done.returncode, shown.decode(errors="replace"), done.stderr


def test_sql_is_unchanged_when_piped_and_refused_on_a_terminal_when_it_holds_controls(tmp_path):
    statement = "SELECT '" + HOSTILE + "'"
    project = _project(tmp_path, statement)
    piped = run_distill(["sql", "--dialect", "sqlite", "--format", "none"], project)
    assert piped.returncode == 0 and statement in piped.stdout  # SQL: its literal as the revision wrote it
    code, shown, err = _stdout_on_a_terminal(
        [sys.executable, "-m", "distill", "sql", "--dialect", "sqlite", "--format", "none"], project)
    assert code == 1 and shown == "" and "write it with -o FILE" in err, (shown, err)
    clean = _project(tmp_path / "clean")
    code, shown, err = _stdout_on_a_terminal([sys.executable, "-m", "distill", "sql", "--dialect", "sqlite"], clean)
    assert code == 0 and "SELECT 1" in shown and not RAW.search(shown.replace("\r", "")), err


def test_the_command_line_prints_only_through_the_sanitiser():
    """One way out: a new ``click.echo`` or ``print`` in distill's source would skip it. The
    exceptions write no text of anyone else's: the progress line, the completion script, and the
    SQL (checked above)."""
    source = Path(__file__).resolve().parents[1] / "src" / "distill"
    allowed = {("cli.py", "sys.stdout.write(text)"), ("progress.py", "sys.stderr.write("),
               ("cli_completion.py", "click.echo(script.source())"),
               ("api.py", "print(api.plan(project).to_json())")}  # (an example in its docstring)
    found = set()
    for path in source.rglob("*.py"):
        if path.name == "terminal.py":
            continue
        for line in path.read_text().splitlines():
            code = line.split("#")[0].strip()
            if re.search(r"\bclick\.(echo|secho)\(|^print\(|\bsys\.std(out|err)\.write\(", code) and not any(
                    name == path.name and snippet in code for name, snippet in allowed):
                found.add((path.name, code))
    assert not found, found


def test_a_hostile_revision_id_and_a_drift_line(tmp_path):
    project = write_project(tmp_path / "p", [
        {"revision": "a1" + HOSTILE, "message": "m", "body": "def upgrade():\n    pass\n"},
        {"revision": "b2", "down": "a1" + HOSTILE, "message": "n", "body": "def upgrade():\n    pass\n"}])
    for command in (["plan"], ["check", "--dialect", "sqlite"], ["sql", "--dialect", "sqlite"],
                    ["build", "--dialect", "sqlite", "--out", tmp_path / "b"]):
        refused = run_distill(command, project)  # refused when the history loads, the id shown inert
        assert refused.returncode == 1 and not refused.stdout, refused.stdout
        assert "cannot be part of a file name" in _clean(refused), refused.stderr
    drifted = _project(tmp_path / "q")
    database = tmp_path / "d.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        connection.execute("INSERT INTO alembic_version VALUES ('a1')")
        connection.execute(f'CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, "x{HOSTILE}" INTEGER)')
    status = run_distill(["status", "--url", f"sqlite:///{database}", "--drift"], drifted)
    assert status.returncode == 1 and "DRIFT: 1" in _clean(status), status.stdout


def test_the_coloured_diff_on_a_terminal_keeps_only_its_own_colours(tmp_path):
    """On a terminal the text diff is coloured (click keeps ``ESC [ ... m`` there): a received
    runbook's own colour code (conceal: ``ESC [ 8 m``) is shown, distill's red and green stay."""
    project = _project(tmp_path / "p")
    old, new = _received(tmp_path, project)
    (new / "README.md").write_text((new / "README.md").read_text() + "hidden \x1b[8mtext\n")
    _resum(new)
    code, shown, err = _stdout_on_a_terminal([sys.executable, "-m", "distill", "diff", str(old), str(new)], project)
    assert code == 1 and "hidden \\u001b[8mtext" in shown and "\\u202e" in shown, err
    assert set(re.findall("\x1b\\[[0-9;]*m", shown)) <= {"\x1b[31m", "\x1b[32m", "\x1b[1m", "\x1b[0m"}, shown
    assert not RAW.search(re.sub("\x1b\\[[0-9;]*m|\r", "", shown))
