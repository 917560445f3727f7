"""The session's servers lent to distill's throwaway shadow (``--shadow``, ``status --drift``) in
an in-process run, instead of a new temporary server per run (initdb or mariadb-install-db and a
start: seconds each).

distill makes its throwaway database on the server it is given (``CREATE DATABASE
distill_shadow``) and leaves it to the server's removal; here the server stays, so the database is
dropped when distill stops the "server", and one use at a time holds the server (a lock file: the
forked workers of one run may shadow mysql and mariadb at once, both on the MariaDB server). The
SQL is rendered against the same PostgreSQL 15 and MariaDB binaries either way. Tests marked
``own_shadow_servers`` let distill start its own, as a user's run does.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from distill.shadow.clients import driver_url

DROP = {"postgresql": 'DROP DATABASE IF EXISTS "distill_shadow" WITH (FORCE)',
        "mysql": "DROP DATABASE IF EXISTS `distill_shadow`"}


class Lent:
    """What distill's shadow sees of a server (``title``, ``url()``, ``stop()``, a context manager)."""

    def __init__(self, server, lock: Path) -> None:
        self._server = server
        self.title = server.title
        self._lock = lock.open("w")
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self._drop()  # one left by a run that was killed

    def url(self, database: str) -> sa.URL:
        return self._server.url(database)

    def _drop(self) -> None:
        admin = self._server.url("")
        engine = sa.create_engine(driver_url(admin), poolclass=sa.pool.NullPool,
                                  isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(DROP[admin.get_backend_name()])
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self._lock.closed:
            return
        try:
            self._drop()
        finally:
            self._lock.close()  # releases the lock

    def __enter__(self) -> Lent:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


FIXTURES = {"postgresql-server": ("postgres_server",), "mariadb-server": ("mariadb_server",)}


def lenders(get_server: Callable[[str], object], lock_dir: Path) -> dict[str, Callable[[], Lent]]:
    """distill's ``SERVERS`` entries, each lending the session server ``get_server`` gives."""
    return {
        # (a cache of initialised data directories, if given, does not concern a lent server)
        "postgresql-server": lambda *_: Lent(get_server("postgres_server"), lock_dir / "postgresql.lock"),
        "mariadb-server": lambda *_: Lent(get_server("mariadb_server"), lock_dir / "mariadb.lock"),
    }
