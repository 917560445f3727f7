"""Connections to shadow databases and to the databases they are copied from."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import NullPool

from ..errors import DistillError
from ..names import one_line
from .clients import UNUSABLE_URL


class ShadowError(DistillError):
    """The shadow database cannot be made, reached or used."""


def _sqlite_transactions(engine: sa.engine.Engine) -> None:
    # pysqlite's own transaction handling leaves DDL outside the transaction: take it over
    @event.listens_for(engine, "connect")
    def no_implicit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def begin(conn: sa.engine.Connection) -> None:
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.exec_driver_sql("BEGIN")


def shadow_engine(url: sa.URL, what: str, *, autocommit: bool = False) -> sa.engine.Engine:
    """An engine for ``url`` with the driver distill uses for its dialect (not yet connected)."""
    from .clients import driver_url  # the driver rehearse uses for this dialect

    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    try:
        engine = sa.create_engine(driver_url(url), poolclass=NullPool, **options)
    except UNUSABLE_URL as exc:
        raise ShadowError(f"cannot use {what}: {one_line(str(exc))[:300]}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_transactions(engine)
    return engine


@contextlib.contextmanager
def connected(url: sa.URL, what: str, *, autocommit: bool = False) -> Iterator[sa.engine.Connection]:
    """A connection to ``url`` (``what`` names it in errors), closed afterwards."""
    engine = shadow_engine(url, what, autocommit=autocommit)
    try:
        connection = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise ShadowError(f"cannot connect to {what}: {one_line(str(exc.orig).strip())[:300]}") from None
    try:
        yield connection
    finally:
        connection.close()
        engine.dispose()


def server_version(connection: sa.engine.Connection) -> str:
    info = connection.dialect.server_version_info or ()
    return ".".join(str(part) for part in info)
