"""Turning statements into the text of a SQL script for the dialect's client.

Order: the client's stop-on-error command, the guard (before any other statement), the session
settings, then the statements, each followed by a blank line as Alembic writes them; where the
dialect takes a lock against a second applier, the settings come first and the lock and guard
where the lock can be held (``script_text``). An annotation comment sits right above the
statement it is about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..dialects import Dialect
from .delimiters import client_ready
from .findings import about_the_step
from .guards import ApplierLock
from .model import ANNOTATION, CHECK, GUARD, SQL, Statement
from .timeouts import NO_TIMEOUTS, Timeouts, timeout_lines


def _bare(statement: Statement) -> str:
    """A SQL statement's text without its terminator, upper case ("" for anything else)."""
    return statement.text.strip().rstrip(";").strip().upper() if statement.kind == SQL else ""


def _is_begin(statement: Statement) -> bool:
    return _bare(statement) in ("BEGIN", "START TRANSACTION")


def _with_record(statements: list[Statement], record: Sequence[Statement]) -> list[Statement]:
    """``record`` after the last statement: inside the file's last transaction, when it ends one."""
    if not record:
        return statements
    last = next((i for i in range(len(statements) - 1, -1, -1) if statements[i].kind == SQL), None)
    at = last if last is not None and _is_commit(statements[last]) else len(statements)
    return statements[:at] + list(record) + statements[at:]


def _is_commit(statement: Statement) -> bool:
    return _bare(statement) == "COMMIT"


def _release_commits(lock: ApplierLock | None) -> bool:
    """Whether ``lock``'s release is the file's COMMIT (SQLite's wrap)."""
    return lock is not None and lock.release is not None and _is_commit(Statement(SQL, lock.release.text))


def _checked_before_commits(statements: list[Statement], dialect: Dialect,
                            lock: ApplierLock | None) -> list[Statement]:
    """The dialect's ``before_commit`` statements before each COMMIT of ``statements`` (SQLite:
    stop, nothing committed, when the file would leave rows violating a foreign key); at the end
    of a file that commits nowhere (no transaction: --no-guard), so the check still runs."""
    if not dialect.before_commit:
        return statements
    checks = [Statement(GUARD, text) for text in dialect.before_commit]
    result: list[Statement] = []
    for statement in statements:
        if _is_commit(statement):
            result += checks
        result.append(statement)
    if len(result) == len(statements) and not _release_commits(lock):
        result += checks
    return result


def script_text(statements: Iterable[Statement], dialect: Dialect, *,
                guard: Sequence[Statement] = (), timeouts: Timeouts = NO_TIMEOUTS,
                lock: ApplierLock | None = None, record: Sequence[Statement] = ()) -> str:
    """The whole text of a script: stop-on-error, session settings (with ``timeouts``), the
    applier ``lock`` where the dialect takes it, the guard, then ``statements``.

    Without a lock the guard comes first of all; with one, the timeouts come before it (they
    bound the wait for the lock), and the guard right after it: at the top ("top"), after the
    file's first BEGIN ("after_begin"; without a BEGIN there is nothing to hold it: no lock), or
    inside the one transaction the lock begins around the whole file ("wrap"; not where the
    statements bring their own BEGIN). A lock held for the ``whole_file`` is taken before all of
    that and released at the end. The ``record`` of the applied file comes after the last
    statement, before the file's final COMMIT."""
    statements = _with_record(list(statements), record)
    if lock is not None and (lock.place == "after_begin") != any(_is_begin(s) for s in statements):
        lock = None
    statements = client_ready(_checked_before_commits(statements, dialect, lock), dialect)
    begin = next((i for i, s in enumerate(statements) if _is_begin(s)), None)
    blocks: list[str] = []
    if dialect.guard.stop_on_error:
        blocks.append("\n".join([dialect.comment_line(f"{dialect.client.program}: stop at the first error"),
                                 *dialect.guard.stop_on_error]))
    guard_blocks = _guard_blocks(dialect, guard, lock)
    if lock is None:
        blocks += guard_blocks
    if dialect.preamble:
        blocks.append("\n".join([dialect.comment_line(f"{dialect.client.program} session settings"),
                                 *dialect.preamble]))
    if timeouts:
        blocks.append("\n".join(timeout_lines(dialect, timeouts)))
    whole_file = lock.whole_file if lock is not None else None
    if whole_file is not None:
        blocks.append("\n".join([dialect.comment_line("lock: held to the end of the file, whatever it "
                                                      "commits on the way"), whole_file[0].text]))
    if lock is not None and lock.place != "after_begin":
        blocks += guard_blocks
    blocks += _statement_blocks(statements, lock, begin, guard_blocks, dialect.before_commit)
    if dialect.postamble and blocks:
        blocks.append("\n".join([dialect.comment_line(f"{dialect.client.program}: end of the file"),
                                 *dialect.postamble]))
    return "\n\n".join(blocks) + "\n" if blocks else ""


def _statement_blocks(statements: list[Statement], lock: ApplierLock | None, begin: int | None,
                      guard_blocks: list[str], before_commit: Sequence[str] = ()) -> list[str]:
    """One block per statement (annotations joined to the statement below them); the lock and
    guard after the BEGIN ("after_begin"; the lock again after each later BEGIN of a file that holds
    a lock for its whole length); the lock's release right after the last SQL statement
    (and the check that belongs to it), so that a stop after it (a point of no return) does not
    undo what the file did (the release of a lock held for the whole file goes there too). A
    release that commits has ``before_commit`` before it."""
    last_sql = max((i for i, s in enumerate(statements) if s.kind in (SQL, CHECK)), default=None)
    releases = [] if lock is None else [lock.release.text] if lock.release is not None else []
    if _release_commits(lock):
        releases = [*before_commit, *releases]
    if lock is not None and lock.whole_file is not None:
        releases.append(lock.whole_file[1].text)
    release = "\n\n".join(releases) or None
    blocks: list[str] = []
    pending: list[str] = []
    for index, statement in enumerate(statements):
        if statement.kind == ANNOTATION and not about_the_step(statement):
            pending.append(statement.text)
            continue
        blocks.append("\n".join([*pending, statement.text]))
        pending = []
        if lock is not None and lock.place == "after_begin" and index == begin:
            blocks += guard_blocks
        elif lock is not None and lock.whole_file is not None and lock.place == "after_begin" \
                and _is_begin(statement):
            blocks.append(lock.take.text)
        if release is not None and index == last_sql:
            blocks.append(release)
            release = None
    blocks.extend(pending)
    if release is not None and (blocks or guard_blocks):
        blocks.append(release)
    return blocks


def _guard_blocks(dialect: Dialect, guard: Sequence[Statement], lock: ApplierLock | None) -> list[str]:
    """The lock (with its comment) and the guard, one block per statement."""
    blocks = []
    if lock is not None:
        blocks.append("\n".join([dialect.comment_line(dialect.guard.lock_comment), lock.take.text]))
    if guard:
        blocks.append("\n".join([dialect.comment_line("guard: stop unless the database is at the "
                                                      "expected revision"), guard[0].text]))
        blocks.extend(g.text for g in guard[1:])
    return blocks
