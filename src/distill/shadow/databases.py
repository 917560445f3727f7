"""The shadow databases distill renders against: a throwaway one it makes itself, or one a URL
names, never left changed.

* throwaway: a temp SQLite file (the dialect's ``[shadow] throwaway = "file"``), or a database on
  a temporary local server (``"postgresql-server"``, ``"mariadb-server"``), removed after;
* a URL on a dialect whose DDL rolls back (PostgreSQL, SQLite): used inside one transaction that
  is rolled back;
* a URL on MySQL/MariaDB (DDL commits): the named database's tables and rows are copied into a
  scratch database on the same server, the rendering runs there, and it is dropped.

What a bundle records of its shadow (``record``) never holds a host, user or password.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from ..dialects import Dialect
from ..dialects import get as get_dialect
from ..errors import DistillError
from ..names import one_line
from ..rehearsal.clients import UNUSABLE_URL, first_line
from .servers import SERVERS, ServerUnavailable


class ShadowError(DistillError):
    """The shadow database cannot be made, reached or used."""


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
    # commits and begins where the output does (a shadow distill made); None: one transaction,
    # rolled back at the end
    transactions: FollowedTransactions | None = None

    def heads(self, version_table_sql: str) -> tuple[str, ...]:
        """The revisions the shadow's version table holds (none when it has no such table)."""
        try:
            with self.connection.begin_nested():
                rows = self.connection.exec_driver_sql(f"SELECT version_num FROM {version_table_sql}")
                return tuple(sorted(str(row[0]) for row in rows))
        except sa.exc.DBAPIError:
            return ()


class FollowedTransactions:
    """A throwaway shadow's transactions, following the output's: ``commit()`` where it commits
    (then statements run outside any transaction, as in an autocommit_block()), ``begin()`` where
    it begins."""

    def __init__(self, connection: sa.engine.Connection) -> None:
        self.connection = connection
        self.default_isolation = connection.get_isolation_level()
        self.current: sa.engine.Transaction | None = connection.begin()

    def commit(self) -> None:
        if self.current is not None and self.current.is_active:
            self.current.commit()
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


def _sqlite_transactions(engine: sa.engine.Engine) -> None:
    # pysqlite's own transaction handling leaves DDL outside the transaction: take it over
    @event.listens_for(engine, "connect")
    def no_implicit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(conn: sa.engine.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN")


def _engine(url: sa.URL, *, autocommit: bool = False) -> sa.engine.Engine:
    from ..rehearsal.clients import driver_url  # the driver rehearse uses for this dialect

    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = sa.create_engine(driver_url(url), poolclass=NullPool, **options)
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    return engine


def _server_version(connection: sa.engine.Connection) -> str:
    info = connection.dialect.server_version_info or ()
    return ".".join(str(part) for part in info)


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
    except sa.exc.ArgumentError:
        raise ShadowError("--shadow-url is not a database URL (dialect://user:password@host/database)") \
            from None
    backend = url.get_backend_name()
    expected = {"mariadb": "mysql"}.get(dialect.name, dialect.name)
    if {"mariadb": "mysql"}.get(backend, backend) != expected:
        raise ShadowError(f"--shadow-url is a {backend} database, but the SQL is for {dialect.name}")
    opener = _rolled_back if dialect.shadow.rolls_back_ddl else _scratch_copy
    with opener(url, dialect, tuple(sorted(spec.at))) as shadow:
        shadow.stand_in = stand_in_behind(shadow.connection, dialect)
        yield shadow


@contextlib.contextmanager
def _connected(url: sa.URL, what: str, *, autocommit: bool = False) -> Iterator[sa.engine.Connection]:
    try:
        engine = _engine(url, autocommit=autocommit)
    except UNUSABLE_URL as exc:
        raise ShadowError(f"cannot use {what}: {one_line(str(exc))[:300]}") from None
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise ShadowError(f"cannot connect to {what}: {one_line(str(exc.orig).strip())[:300]}") from None
    try:
        yield connection
    finally:
        connection.close()
        engine.dispose()


@contextlib.contextmanager
def _in_transaction(url: sa.URL, what: str) -> Iterator[sa.engine.Connection]:
    """A connection inside one transaction, rolled back at the end."""
    with _connected(url, what) as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            if transaction.is_active:  # an ORM session may have ended it already
                transaction.rollback()


@contextlib.contextmanager
def throwaway_database(dialect: Dialect) -> Iterator[tuple[sa.URL, str]]:
    """An empty database of ``dialect`` that distill makes and removes: (its URL, how the SQL
    comments name it). A temp SQLite file, or a database on a temporary local server."""
    if dialect.shadow.throwaway == "file":
        with tempfile.TemporaryDirectory(prefix="distill-shadow-") as directory:
            yield (sa.engine.make_url(f"sqlite:///{Path(directory) / 'shadow.db'}"),
                   f"a throwaway {dialect.title} database")
        return
    server_kind = SERVERS.get(dialect.shadow.throwaway)
    if server_kind is None:
        raise ShadowError(f"distill cannot make a throwaway {dialect.title} shadow database; "
                          f"{_GIVE_URL}")
    try:
        server = server_kind()
    except ServerUnavailable as exc:
        raise ShadowError(f"distill cannot start a throwaway {dialect.title} shadow server here "
                          f"({exc}); {_GIVE_URL}") from None
    with server:
        name = "distill_shadow"
        with _connected(server.url(""), "the throwaway shadow server", autocommit=True) as admin:
            admin.exec_driver_sql(dialect.server.create_database.format(name=dialect.quote_identifier(name)))
        described = f"a throwaway {server.title} database" + (
            "" if server.title == dialect.title else f" (standing in for {dialect.title})")
        yield server.url(name), described


def stand_in_behind(connection: sa.engine.Connection, dialect: Dialect) -> str:
    """The server software behind ``connection`` when it is not ``dialect``'s own: MariaDB behind
    MySQL's dialect (the throwaway MySQL shadow, or a --shadow-url naming a MariaDB server)."""
    mariadb = getattr(connection.dialect, "is_mariadb", False)
    return get_dialect("mariadb").title if mariadb and dialect.name != "mariadb" else ""


@contextlib.contextmanager
def _throwaway(dialect: Dialect) -> Iterator[ShadowDatabase]:
    with throwaway_database(dialect) as (url, described), _throwaway_on(dialect, url, described) as shadow:
        shadow.stand_in = stand_in_behind(shadow.connection, dialect)
        yield shadow


_GIVE_URL = ("give one with --shadow-url URL (an empty scratch database, or a restored copy of "
             "production when a revision's SQL depends on its rows; it is left unchanged)")


@contextlib.contextmanager
def _throwaway_on(dialect: Dialect, url: sa.URL, described: str) -> Iterator[ShadowDatabase]:
    with _connected(url, "the throwaway shadow") as connection:
        # distill's own database: it commits where the revision commits
        transactions = FollowedTransactions(connection)
        yield ShadowDatabase(connection, described, {
            "kind": "throwaway", "server_version": _server_version(connection), "held_data": False,
        }, at=(), verified=True, transactions=transactions)


@contextlib.contextmanager
def _rolled_back(url: sa.URL, dialect: Dialect, at: tuple[str, ...]) -> Iterator[ShadowDatabase]:
    with _in_transaction(url, "the --shadow-url database") as connection:
        yield ShadowDatabase(connection, f"the --shadow-url {dialect.title} database", {
            "kind": "url", "server_version": _server_version(connection), "held_data": _held_rows(connection),
        }, at=at)


@contextlib.contextmanager
def _scratch_copy(url: sa.URL, dialect: Dialect, at: tuple[str, ...]) -> Iterator[ShadowDatabase]:
    source = url.database
    if not source:
        raise ShadowError("--shadow-url names no database")
    scratch = f"distill_shadow_{secrets.token_hex(6)}"
    quote = dialect.quote_identifier
    with _connected(url, "the --shadow-url database", autocommit=True) as admin:
        held = _held_rows(admin)
        version = _server_version(admin)
        try:
            admin.exec_driver_sql(dialect.server.create_database.format(name=quote(scratch)))
        except sa.exc.DBAPIError as exc:
            raise ShadowError(f"cannot create a scratch database next to the --shadow-url database "
                              f"(DDL commits on {dialect.title}, so distill copies it): "
                              f"{first_line(exc)}") from None
        try:
            _copy_tables(admin, source, scratch, quote)
            with _in_transaction(url.set(database=scratch), "the scratch copy") as connection:
                yield ShadowDatabase(connection, f"a copy of the --shadow-url {dialect.title} database", {
                    "kind": "url", "server_version": version, "held_data": held}, at=at)
        finally:
            try:
                admin.exec_driver_sql(dialect.server.drop_database.format(name=quote(scratch)))
            except sa.exc.DBAPIError as exc:
                raise ShadowError(f"distill could not drop its scratch database {scratch} on the "
                                  f"--shadow-url server ({first_line(exc)}): "
                                  f"drop it by hand") from None


def _copy_tables(admin: sa.engine.Connection, source: str, scratch: str, quote) -> None:
    """Every base table of ``source`` with its rows into ``scratch`` (CREATE TABLE ... LIKE keeps
    columns, keys and indexes; foreign keys are left out: the copy is filled table by table)."""
    names = sa.inspect(admin).get_table_names(schema=source)
    for name in names:
        copy, original = f"{quote(scratch)}.{quote(name)}", f"{quote(source)}.{quote(name)}"
        admin.exec_driver_sql(f"CREATE TABLE {copy} LIKE {original}")
        admin.exec_driver_sql(f"INSERT INTO {copy} SELECT * FROM {original}")
