"""The shadow databases distill renders against: always one distill made itself, never left
behind.

* ``--shadow``: a throwaway one, a temp SQLite file (the dialect's ``[shadow] throwaway =
  "file"``), or a database on a temporary local server (``"postgresql-server"``,
  ``"mariadb-server"``), removed after;
* ``--shadow-url``: a copy of the database the URL names, made the same way (copies.py: the named
  database is only read, read-only), removed after. Revision code never runs on the named
  database.

Either way the shadow commits where the output commits. What a bundle records of its shadow
(``record``) never holds a host, user or password.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..dialects import Dialect
from ..dialects import get as get_dialect
from .connections import ShadowError, connected, server_version, shadow_engine
from .copies import copied, started_server
from .servers import SERVERS, started_early

__all__ = ["ShadowDatabase", "ShadowError", "ShadowSpec", "open_shadow", "throwaway_database"]


@dataclass(frozen=True)
class ShadowSpec:
    """Render against a shadow: throwaway (``url`` None) or the database ``url`` names."""

    url: str | None = None
    at: tuple[str, ...] = ()  # where a --shadow-url database must be: the range's starting revisions

    @property
    def kind(self) -> str:
        return "url" if self.url else "throwaway"


@dataclass
class ShadowDatabase:
    """An open shadow: one connection inside distill's own transaction(s)."""

    connection: sa.engine.Connection
    description: str  # how the SQL comments name it: no host, user or password
    record: dict[str, Any]  # what the manifest says about it
    at: tuple[str, ...] | None  # its revisions, as far as distill knows (None: read it first)
    verified: bool = False  # `at` was read from its version table
    # the server software standing in for the dialect's own ("MariaDB" for MySQL); "" when it is
    # the dialect's own
    stand_in: str = ""
    # commits and begins where the output does (every shadow is one distill made)
    transactions: FollowedTransactions | None = None

    def heads(self, version_table_sql: str) -> tuple[str, ...]:
        """The revisions the shadow's version table holds (none when it has no such table)."""
        try:
            with self.connection.begin_nested():
                rows = self.connection.exec_driver_sql(f"SELECT version_num FROM {version_table_sql}")
                return tuple(sorted(str(row[0]) for row in rows))
        except sa.exc.DBAPIError:
            return ()

    def stamp(self, name: str, schema: str | None, sql: str, create: str, heads: tuple[str, ...]) -> None:
        """Make the version table hold ``heads``, the rows a rendering's bookkeeping updates: a
        step rendered on its own starts from its own down revisions, whatever else the shadow
        holds (another branch; a revision it depends on), and would otherwise update no row or
        collide with one. A missing table is made first (``create``: as the rendering writes
        it): a downgrade of another root to base drops it (Alembic 1.13 does; 1.20 does not). Run in the
        shadow's transaction, or outside any after the output committed."""
        if not heads:
            return
        if not sa.inspect(self.connection).has_table(name, schema=schema):
            self.connection.exec_driver_sql(create)
        found = self.connection.exec_driver_sql(f"SELECT version_num FROM {sql}")
        if tuple(sorted(str(row[0]) for row in found)) == heads:
            return
        self.connection.exec_driver_sql(f"DELETE FROM {sql}")
        insert = sa.text(f"INSERT INTO {sql} (version_num) VALUES (:head)")
        for head in heads:
            self.connection.execute(insert, {"head": head})

    def drop_version_table(self, name: str, schema: str | None, sql: str, *, empty: bool) -> None:
        """A rendering from base creates the version table, so one already there goes: empty at
        base after a downgrade to it (Alembic's offline downgrade to base leaves it; ``empty``:
        distill has the shadow at base, and a row there is an error), or holding another root's
        line (whose rows ``stamp`` writes again where a plan needs them)."""
        if not sa.inspect(self.connection).has_table(name, schema=schema):
            return
        if empty and self.connection.exec_driver_sql(f"SELECT count(*) FROM {sql}").scalar():
            raise ShadowError(f"the shadow's {name} is not empty, but distill had it at base")
        self.connection.exec_driver_sql(f"DROP TABLE {sql}")


class FollowedTransactions:
    """A shadow's transactions, following the output's: ``commit()`` where it commits
    (then statements run outside any transaction, as in an autocommit_block()), ``begin()`` where
    it begins."""

    def __init__(self, connection: sa.engine.Connection) -> None:
        self.connection = connection
        self.default_isolation = connection.get_isolation_level()
        self.current: sa.engine.Transaction | None = connection.begin()

    def commit(self) -> None:
        # the revision may have committed distill's transaction itself (bind.commit()): then the
        # one SQLAlchemy began after it
        current = self.connection.get_transaction()
        if current is not None and current.is_active:
            current.commit()
        self.current = None
        self.connection.execution_options(isolation_level="AUTOCOMMIT")

    def begin(self) -> None:
        if self.current is not None:
            return  # already inside a transaction
        autobegun = self.connection.get_transaction()  # SQLAlchemy 2 begins one even in AUTOCOMMIT
        if autobegun is not None:
            autobegun.commit()
        self.connection.execution_options(isolation_level=self.default_isolation)
        self.current = self.connection.begin()


def _held_rows(connection: sa.engine.Connection) -> bool:
    """True when any table but a version table holds a row."""
    inspector = sa.inspect(connection)
    for name in inspector.get_table_names():
        if name.startswith("alembic_version"):
            continue
        table = sa.table(name)
        if connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first():
            return True
    return False


@contextlib.contextmanager
def open_shadow(dialect: Dialect, spec: ShadowSpec) -> Iterator[ShadowDatabase]:
    """The shadow ``spec`` names for ``dialect`` (a URL's must be at ``spec.at``: checked against
    its version table once a rendering knows which table that is); left unchanged or removed."""
    if spec.url is None:
        with _throwaway(dialect) as shadow:
            yield shadow
        return
    try:
        url = sa.engine.make_url(spec.url)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise ShadowError("--shadow-url is not a database URL (dialect://user:password@host/database)") \
            from None
    backend = url.get_backend_name()
    expected = {"mariadb": "mysql"}.get(dialect.name, dialect.name)
    if {"mariadb": "mysql"}.get(backend, backend) != expected:
        raise ShadowError(f"--shadow-url is a {backend} database, but the SQL is for {dialect.name}")
    shadow_engine(url, "the --shadow-url database").dispose()  # a URL distill cannot use: before any copy
    with copied(dialect, url) as (copy, described, version), \
            _throwaway_on(dialect, copy, described) as shadow:
        shadow.record = {"kind": "url", "server_version": version, "held_data": _held_rows(shadow.connection)}
        shadow.at, shadow.verified = tuple(sorted(spec.at)), False
        yield shadow


def servers_ahead(dialects: list[Dialect],
                  cache: Path | None = None) -> contextlib.AbstractContextManager[None]:
    """The throwaway servers the shadows of ``dialects`` run on, starting now, while distill does
    what needs none (``servers.started_early``; ``cache``: where their initialised data directories
    are kept); the dialects of a file shadow need none."""
    return started_early([d.shadow.throwaway for d in dialects if d.shadow.throwaway in SERVERS], cache)


@contextlib.contextmanager
def throwaway_database(dialect: Dialect) -> Iterator[tuple[sa.URL, str]]:
    """An empty database of ``dialect`` that distill makes and removes: (its URL, how the SQL
    comments name it). A temp SQLite file, or a database on a temporary local server."""
    if dialect.shadow.throwaway == "file":
        with tempfile.TemporaryDirectory(prefix="distill-shadow-") as directory:
            yield (sa.engine.make_url(f"sqlite:///{Path(directory) / 'shadow.db'}"),
                   f"a throwaway {dialect.title} database")
        return
    with started_server(dialect, _GIVE_URL) as server:
        name = "distill_shadow"
        with connected(server.url(""), "the throwaway shadow server", autocommit=True) as admin:
            admin.exec_driver_sql(dialect.server.create_database.format(name=dialect.quote_identifier(name)))
        described = f"a throwaway {server.title} database" + (
            "" if server.title == dialect.title else f" (standing in for {dialect.title})")
        yield server.url(name), described


def stand_in_behind(connection: sa.engine.Connection, dialect: Dialect) -> str:
    """The server software behind ``connection`` when it is not ``dialect``'s own: MariaDB behind
    MySQL's dialect (the throwaway MySQL shadow, or the copy of a --shadow-url, both on MariaDB)."""
    mariadb = getattr(connection.dialect, "is_mariadb", False)
    return get_dialect("mariadb").title if mariadb and dialect.name != "mariadb" else ""


@contextlib.contextmanager
def _throwaway(dialect: Dialect) -> Iterator[ShadowDatabase]:
    with throwaway_database(dialect) as (url, described), _throwaway_on(dialect, url, described) as shadow:
        yield shadow


_GIVE_URL = ("install them: every shadow is on a server distill starts (--shadow-url too: it copies "
             "the named database into one)")


@contextlib.contextmanager
def _throwaway_on(dialect: Dialect, url: sa.URL, described: str) -> Iterator[ShadowDatabase]:
    with connected(url, "the throwaway shadow") as connection:
        # distill's own database: it commits where the revision commits
        transactions = FollowedTransactions(connection)
        yield ShadowDatabase(connection, described, {
            "kind": "throwaway", "server_version": server_version(connection), "held_data": False,
        }, at=(), verified=True, transactions=transactions, stand_in=stand_in_behind(connection, dialect))
