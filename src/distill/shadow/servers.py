"""Temporary local database servers: PostgreSQL or MariaDB started from the installed server
binaries in a temp directory, listening only on their own socket there (no network), with trusted
local login, stopped and removed afterwards. The throwaway shadow of a server dialect runs on one;
the test suite starts its servers the same way.

As root, the servers run as their own system users (``postgres``, ``mysql``): both refuse root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

from ..errors import DistillError
from . import templates

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
START_TIMEOUT = 60  # seconds a server gets to accept connections


class ServerUnavailable(DistillError):
    """A local server cannot be started here (binaries missing, or it failed to start)."""


def _run(command: list[str], *, user: str | None = None) -> None:
    if user and IS_ROOT:
        command = ["runuser", "-u", user, "--", *command]
    try:
        result = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    except OSError as exc:  # runuser or the program itself missing, not executable
        raise ServerUnavailable(f"cannot run {Path(command[0]).name}: {exc.strerror or exc}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()
        # the first error names the cause; the last line is often only "[ERROR] Aborting"
        errors = [line for line in output if "ERROR" in line or "FATAL" in line]
        cause = "; ".join(dict.fromkeys(errors[:1] + output[-1:])) if output else "no output"
        raise ServerUnavailable(f"{Path(command[0]).name} failed: {cause}")


def _own_directory(prefix: str, user: str) -> Path:
    """A fresh temp directory the server's user owns (mode 0700: the socket is only ours)."""
    if IS_ROOT:
        try:
            shutil.chown(directory := Path(tempfile.mkdtemp(prefix=prefix)), user, user)
        except LookupError:
            shutil.rmtree(directory, ignore_errors=True)
            raise ServerUnavailable(f"running as root, and there is no '{user}' user to run the "
                                    f"server as") from None
        return directory
    return Path(tempfile.mkdtemp(prefix=prefix))


class LocalServer:
    """A running local server; ``stop()`` ends it and removes its directory."""

    directory: Path
    title: str  # the server software, as the SQL comments name it
    admin_database = ""  # the database an administrative connection opens
    spare_databases: tuple[str, ...] = ()  # made by the server's set-up; a copy may replace them

    def tool(self, *names: str) -> str | None:
        """The first of the client programs ``names`` found (the server's own first)."""
        return next((found for name in names if (found := shutil.which(name))), None)

    def url(self, database: str) -> sa.URL:
        """The URL of ``database`` on this server as its superuser (the dialect's own driver is
        picked by whoever connects)."""
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class LocalPostgres(LocalServer):
    """PostgreSQL: initdb, then pg_ctl start on a socket in the server's directory."""

    title = "PostgreSQL"
    port = "5432"  # the socket file lives in our own directory: no clash with other servers
    admin_database = "template1"
    spare_databases = ("postgres",)

    def __init__(self, cache: Path | None = None) -> None:
        """``cache``: where the freshly initialised data directory is kept for the next start
        (templates.py); None: initdb every time."""
        self.bindir = _postgres_bindir()
        self.directory = _own_directory("distill-pg-", "postgres")
        initdb = [str(self.bindir / "initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync"]
        name = templates.template_name("postgresql", [initdb[0], str(self.bindir / "postgres")], initdb)
        try:
            _started_from(self.directory / "data", cache, name,
                          lambda data: _run([*initdb, "-D", str(data)], user="postgres"), self._start)
        except BaseException:  # Ctrl-C or SIGTERM half-way too: nothing of the server stays
            self.stop()
            raise

    def _start(self, data: Path) -> None:
        _run([str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.directory / "log"),
              "-w", "-t", str(START_TIMEOUT), "-o",
              f"-k {self.directory} -p {self.port} -c listen_addresses='' -c fsync=off", "start"],
             user="postgres")

    def tool(self, *names: str) -> str | None:
        # pg_dump must not be older than the server it dumps: the one beside these binaries
        own = next((self.bindir / name for name in names if (self.bindir / name).exists()), None)
        return str(own) if own else super().tool(*names)

    def url(self, database: str) -> sa.URL:
        return sa.engine.URL.create("postgresql", username="postgres", database=database,
                                    query={"host": str(self.directory), "port": self.port})

    def stop(self) -> None:
        pg_ctl = [str(self.bindir / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "immediate", "stop"]
        if (self.directory / "data" / "postmaster.pid").exists():
            subprocess.run(["runuser", "-u", "postgres", "--", *pg_ctl] if IS_ROOT else pg_ctl,
                           capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(self.directory, ignore_errors=True)


def _started_from(data: Path, cache: Path | None, name: str, init: Callable[[Path], None],
                  start: Callable[[Path], None]) -> None:
    """``data`` initialised (from the kept template ``name`` if there is one) and the server
    started on it; a copied template that does not start goes, and ``data`` is made afresh."""
    if not templates.initialised(data, cache, name, init):
        start(data)
        return
    try:
        start(data)
    except ServerUnavailable:
        templates.forget(cache, name)
        shutil.rmtree(data, ignore_errors=True)
        templates.initialised(data, cache, name, init)  # afresh, and kept again
        start(data)


def _postgres_bindir() -> Path:
    candidates = []
    if shutil.which("pg_config"):
        found = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        candidates += [Path(found)] if found else []
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ServerUnavailable("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")


class LocalMariaDB(LocalServer):
    """MariaDB: mariadb-install-db, then mariadbd with networking off, on a socket in its directory."""

    title = "MariaDB"

    def __init__(self, cache: Path | None = None) -> None:
        """``cache``: where the freshly installed data directory is kept for the next start
        (templates.py); None: mariadb-install-db every time."""
        mariadbd = shutil.which("mariadbd") or next(
            (p for p in ("/usr/sbin/mariadbd",) if Path(p).exists()), None)
        install = shutil.which("mariadb-install-db")
        if not (mariadbd and install):
            raise ServerUnavailable("the MariaDB server binaries (mariadbd, mariadb-install-db) are "
                                    "not installed")
        self.mariadbd, self.process = mariadbd, None
        self.directory = _own_directory("distill-maria-", "mysql")
        self.socket = self.directory / "mysqld.sock"
        # a small redo log: the data directory (and its kept copy) is 26 MB instead of 114 MB
        options = ["--no-defaults", "--innodb-log-file-size=16M", *(["--user=mysql"] if IS_ROOT else [])]
        self.options = options
        setup = [install, *options, "--auth-root-authentication-method=normal", "--skip-test-db"]
        name = templates.template_name("mariadb", [install, mariadbd], setup)
        try:
            _started_from(self.directory / "data", cache, name,
                          lambda data: _run([*setup, f"--datadir={data}"]), self._start)
        except BaseException:  # Ctrl-C or SIGTERM half-way too: nothing of the server stays
            self.stop()
            raise

    def _start(self, data: Path) -> None:
        self._end_process()  # one that did not come up on a copied template
        self.process = _started(
            [self.mariadbd, *self.options, f"--datadir={data}", f"--socket={self.socket}",
             "--skip-networking", f"--pid-file={self.directory / 'pid'}", f"--tmpdir={self.directory}",
             f"--log-error={self.directory / 'err.log'}", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_unicode_ci", "--innodb-buffer-pool-size=64M",
             "--innodb-flush-log-at-trx-commit=0"],
        )
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.socket.exists():
                try:
                    engine = sa.create_engine(self._driver_url(self.url("")), poolclass=sa.pool.NullPool)
                    with engine.connect():
                        return
                except sa.exc.DBAPIError:
                    pass
            if self.process is None or self.process.poll() is not None:
                break
            time.sleep(0.02)  # it is up within a few tenths of a second
        log = self.directory / "err.log"
        last = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise ServerUnavailable(f"mariadbd did not start{': ' + last[0] if last else ''}")

    @staticmethod
    def _driver_url(url: sa.URL) -> sa.URL:
        from .clients import driver_url  # the driver rehearse uses for this dialect

        return driver_url(url)

    def url(self, database: str) -> sa.URL:
        return sa.engine.URL.create("mysql", username="root", host="localhost", database=database,
                                    query={"unix_socket": str(self.socket), "charset": "utf8mb4"})

    def _end_process(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop(self) -> None:
        self._end_process()
        shutil.rmtree(self.directory, ignore_errors=True)


def _started(command: list[str]) -> subprocess.Popen:
    try:
        return subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except OSError as exc:
        raise ServerUnavailable(f"cannot run {Path(command[0]).name}: {exc.strerror or exc}") from None


# the dialect files' ``[shadow] throwaway`` values that name a local server
SERVERS: dict[str, type[LocalServer]] = {"postgresql-server": LocalPostgres, "mariadb-server": LocalMariaDB}


class _Starting:
    """One server of ``kind`` starting on a thread of its own."""

    def __init__(self, kind: str, cache: Path | None) -> None:
        self.server: LocalServer | None = None
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._start, args=(kind, cache), name=f"distill {kind}",
                                       daemon=True)
        self.thread.start()

    def _start(self, kind: str, cache: Path | None) -> None:
        try:
            self.server = SERVERS[kind](cache) if cache is not None else SERVERS[kind]()
        except Exception as exc:  # noqa: BLE001 - raised where the server is taken, as a start there raises it
            self.error = exc

    def finish(self) -> LocalServer:
        self.thread.join()
        if self.error is not None:
            raise self.error
        assert self.server is not None
        return self.server


_EARLY: dict[str, list[_Starting]] = {}


@contextlib.contextmanager
def started_early(kinds: list[str], cache: Path | None = None) -> Iterator[None]:
    """One server per entry of ``kinds`` (``SERVERS`` keys) starting now, each on its own thread:
    initdb or mariadb-install-db and the server are other processes, so they run while distill
    loads the history and renders what needs no server (``cache``: where their initialised data
    directories are kept, templates.py). ``take()`` hands them out; those not taken are stopped on
    the way out (after their start finished: Ctrl-C included)."""
    for kind in kinds:
        _EARLY.setdefault(kind, []).append(_Starting(kind, cache))
    try:
        yield
    finally:
        _stop_untaken()


def _stop_untaken() -> None:
    """Stop every server started early and not taken, once its start finished. A second Ctrl-C
    or SIGTERM on the way (the first one brought distill here) does not cut this short: each
    stop is tried again until all are done, and the signal is raised after."""
    waiting = [s for starting in _EARLY.values() for s in starting]
    interrupted: BaseException | None = None
    while waiting:
        try:
            waiting[0].thread.join()
            if waiting[0].server is not None:
                waiting[0].server.stop()  # stops and removes again safely if cut short before
            waiting.pop(0)
        except BaseException as exc:  # noqa: BLE001 - raised below, once nothing is left running
            interrupted = interrupted or exc
    _EARLY.clear()
    if interrupted is not None:
        raise interrupted


def take(kind: str) -> LocalServer:
    """A server of ``kind``: the first of those started early to be up, else one started now.
    Raises ServerUnavailable. (The first to be up, not the first started: a server whose start
    waits on another one's stop, as a lent test server does, is not waited for first.)"""
    waiting = _EARLY.get(kind)
    if not waiting:
        return SERVERS[kind]()
    while True:
        for starting in waiting:
            if not starting.thread.is_alive():
                waiting.remove(starting)
                return starting.finish()
        waiting[0].thread.join(0.02)
