"""The copy a ``--shadow-url`` rendering runs on (and the copies ``rehearse --data-from`` applies
the bundle to). Revision code never runs on the database the URL names: distill copies it, reading
it only read-only, into a database it made itself, and renders (or rehearses) there.

* SQLite: the file, opened read-only (``mode=ro``), copied with SQLite's backup API into a temp
  file.
* A server dialect: its properties (encoding and locale; default character set and collation)
  read in a read-only transaction, its schema and rows dumped by the dialect's dump program (a
  consistent read-only snapshot), restored with the dialect's client into a database of the same
  name and properties on a throwaway local server (shadow/servers.py). Only that database is
  copied: a name qualified with another database of the named server fails in the copy.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import sqlalchemy as sa

from ..dialects import Dialect
from ..names import one_line
from .clients import client_command, tool_command
from .connections import ShadowError, connected, server_version
from .servers import SERVERS, LocalServer, ServerUnavailable, take

NEVER_ON_THE_URL = "distill never renders on the --shadow-url database itself"
SHADOW_URL = "--shadow-url"  # the option that named the database, as the errors say it
_PROPERTY = re.compile(r"[\w.@ -]+")  # an encoding, locale, character set or collation name


@contextlib.contextmanager
def started_server(dialect: Dialect, why: str) -> Iterator[LocalServer]:
    """A throwaway local server for ``dialect`` (``why``: what the error says to do without one)."""
    if dialect.shadow.throwaway not in SERVERS:
        raise ShadowError(f"distill cannot make a throwaway {dialect.title} shadow database; {why}")
    try:
        server = take(dialect.shadow.throwaway)
    except ServerUnavailable as exc:
        raise ShadowError(f"distill cannot start a throwaway {dialect.title} shadow server here "
                          f"({exc}); {why}") from None
    with server:
        yield server


class Copies:
    """Copies of one named database, on the throwaway server (or as temp files) distill made:
    ``first`` made on entry, ``another()`` makes one more, all removed on exit."""

    def __init__(self, dialect: Dialect, url: sa.URL, option: str) -> None:
        self.dialect, self.url, self.option = dialect, url, option
        self.described = f"a copy of the {option} {dialect.title} database"
        self.server: LocalServer | None = None
        self.directory: Path | None = None
        self.properties: list[str] = []
        self.version = ""
        self.made = 0

    def another(self) -> sa.URL:
        """A new copy: of the named database first, then of that first copy (distill's own, which
        must then stay as it was made: hand out the later ones)."""
        self.made += 1
        if self.directory is not None:  # SQLite: the file, copied again from the first copy
            copy = self.directory / f"copy{self.made}.db"
            first = sa.engine.make_url(f"sqlite:///{self.directory / 'copy1.db'}")
            source = self.url if self.made == 1 else first
            self.version = _sqlite_copy(source, copy, self.option)
            return sa.engine.make_url(f"sqlite:///{copy}")
        assert self.server is not None and self.url.database
        name = self.url.database if self.made == 1 else f"{self.url.database}_copy{self.made}"
        dialect, quoted = self.dialect, self.dialect.quote_identifier(name)
        with connected(self.server.url(self.server.admin_database), "the throwaway shadow server",
                       autocommit=True) as admin:
            if name in self.server.spare_databases:
                admin.exec_driver_sql(dialect.server.drop_database.format(name=quoted))
            try:
                admin.exec_driver_sql(dialect.shadow.copy_database.format(*self.properties, name=quoted))
            except sa.exc.DBAPIError as exc:
                raise ShadowError(f"cannot make the copy of the {self.option} database with its "
                                  f"properties ({', '.join(self.properties)}) on the throwaway "
                                  f"{self.server.title} server: {_said(str(exc.orig))}; "
                                  f"{_never(self.option)}") from None
        source = self.url if self.made == 1 else self.server.url(self.url.database)
        _dump_into(dialect, source, self.server, self.server.url(name), self.option)
        return self.server.url(name)


@contextlib.contextmanager
def copies_of(dialect: Dialect, url: sa.URL, option: str = SHADOW_URL) -> Iterator[tuple[Copies, sa.URL]]:
    """Copies of the database ``url`` names (``option``: how the command line named it): the
    copier and its first copy, all removed afterwards."""
    copies = Copies(dialect, url, option)
    if dialect.shadow.throwaway == "file":
        with tempfile.TemporaryDirectory(prefix="distill-shadow-") as directory:
            copies.directory = Path(directory)
            yield copies, copies.another()
        return
    if not url.database:
        raise ShadowError(f"{option} names no database")
    with started_server(dialect, _never(option)) as server:
        copies.properties, copies.version = _properties(dialect, url, option)
        copies.server = server
        if server.title != dialect.title:
            copies.described += f" (on {server.title}, standing in for {dialect.title})"
        yield copies, copies.another()


@contextlib.contextmanager
def copied(dialect: Dialect, url: sa.URL) -> Iterator[tuple[sa.URL, str, str]]:
    """A copy of the database ``url`` names: (its URL, how the SQL comments name it, the named
    server's version), removed afterwards."""
    with copies_of(dialect, url) as (copies, first):
        yield first, copies.described, copies.version


def _never(option: str) -> str:
    return NEVER_ON_THE_URL if option == SHADOW_URL else \
        f"distill never applies anything to the {option} database itself"


def _said(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return one_line(lines[-1] if lines else "no output")[:300]


def _sqlite_copy(url: sa.URL, copy: Path, option: str) -> str:
    if not url.database or url.database == ":memory:":
        raise ShadowError(f"{option} names no SQLite file")
    source = Path(url.database)
    if not source.is_file():
        raise ShadowError(f"{option} names no SQLite file: {one_line(str(source))[:300]} does not exist")
    try:
        with contextlib.closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as read, \
                contextlib.closing(sqlite3.connect(copy)) as written:
            read.backup(written)
            return sqlite3.sqlite_version
    except sqlite3.Error as exc:
        raise ShadowError(f"cannot copy the {option} SQLite file (opened read-only): {_said(str(exc))}") \
            from None


def _properties(dialect: Dialect, url: sa.URL, option: str) -> tuple[list[str], str]:
    """The named database's properties as string literals, and its server's version, read in a
    read-only transaction that is rolled back."""
    with connected(url, f"the {option} database") as connection:
        transaction = connection.begin()  # (SQLAlchemy 1.4's Connection has no rollback() of its own)
        try:
            connection.exec_driver_sql(dialect.shadow.read_only)
            row = connection.exec_driver_sql(dialect.shadow.source_query).first()
        except sa.exc.DBAPIError as exc:
            raise ShadowError(f"cannot read the {option} database: {_said(str(exc.orig))}") from None
        finally:
            transaction.rollback()
        version = server_version(connection)
    values = [str(value) for value in row or ()]
    if not values or not all(_PROPERTY.fullmatch(value) for value in values):
        raise ShadowError(f"cannot read the {option} database's properties (found {values!r:.200})")
    return [f"'{value}'" for value in values], version


def _dump_into(dialect: Dialect, url: sa.URL, server: LocalServer, copy_url: sa.URL, option: str) -> None:
    """The named database's schema and rows, dumped by the dialect's dump program and piped into
    the client connected to the copy."""
    names = (dialect.shadow.dump[0], *dialect.shadow.dump_alternatives)
    program = server.tool(*names)
    if program is None:
        raise ShadowError(f"{' or '.join(names)} is not installed: distill copies the {option} "
                          f"database with it; {_never(option)}")
    dump_argv, dump_env = tool_command(dialect, url, program, dialect.shadow.dump[1:])
    restore_argv, restore_env = client_command(dialect, copy_url)
    with tempfile.TemporaryFile() as dump_errors, tempfile.TemporaryFile() as restore_errors:
        dump = subprocess.Popen(dump_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=dump_errors, env={**os.environ, **dump_env})
        processes = [dump]
        try:
            try:
                processes.append(subprocess.Popen(restore_argv, stdin=dump.stdout, stdout=subprocess.DEVNULL,
                                                  stderr=restore_errors, env={**os.environ, **restore_env}))
            except OSError as exc:
                raise ShadowError(f"cannot run {Path(restore_argv[0]).name}: {exc.strerror or exc}") from None
            finally:
                dump.stdout.close()
            restored, dumped = processes[1].wait(), dump.wait()
        finally:  # an error or Ctrl-C: neither program outlives distill
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if dumped not in (0, -signal.SIGPIPE) or (dumped != 0 and restored == 0):
            raise ShadowError(f"{Path(program).name} could not dump the {option} database: "
                              f"{_read(dump_errors)}; {_never(option)}")
        if restored != 0:
            raise ShadowError(f"the copy of the {option} database could not be restored on the "
                              f"throwaway {server.title} server: {_read(restore_errors)}")


def _read(errors: IO[bytes]) -> str:
    errors.seek(0)
    return _said(errors.read().decode("utf-8", errors="replace"))
