"""Scratch databases for a rehearsal: temporary SQLite files, or databases with unique names that
distill creates on a server and drops afterwards (the server URL's own database is never
written to). How to create and drop one comes from the dialect's data file (``[server]``)."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ..errors import DistillError
from ..shadow.clients import dialect_of, driver_url, first_line


class Scratch:
    """Creates scratch databases, and drops every one it created when closed. With ``copies``
    (``rehearse --data-from``), each is instead a new copy of the named database, on the server
    distill started for them (removed with it)."""

    def __init__(self, url: sa.URL | None, copies: Any = None) -> None:
        self.copies = copies
        self.url = url
        self.created: list[str] = []
        self.tag = uuid.uuid4().hex[:8]
        self.tmp = Path(tempfile.mkdtemp(prefix="distill-rehearse-"))
        self.admin = None
        self.dialect = dialect_of(url) if url is not None else None
        if url is not None:
            self.admin = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
            try:
                with self.admin.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
            except sa.exc.DBAPIError as exc:
                self.admin.dispose()
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise DistillError(f"cannot reach {url.render_as_string(hide_password=True)}: "
                                   f"{first_line(exc)}") from None

    def create(self) -> sa.URL:
        """A new database: empty, or a copy of the --data-from database."""
        if self.copies is not None:
            return driver_url(self.copies.another())  # the driver distill uses for the dialect
        name = f"distill_rehearse_{self.tag}_{len(self.created)}"
        if self.url is None:
            self.created.append(name)
            return make_url(f"sqlite:///{self.tmp / (name + '.sqlite')}")
        statement = self.dialect.server.create_database.format(name=self.dialect.quote_identifier(name))
        try:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(statement)
        except sa.exc.DBAPIError as exc:
            raise DistillError(
                "rehearse creates its own scratch databases and drops them afterwards, but "
                f"CREATE DATABASE failed on {self.url.render_as_string(hide_password=True)}: "
                f"{first_line(exc)}. Grant that privilege, or rehearse on SQLite."
            ) from None
        self.created.append(name)
        return self.url.set(database=name)

    def close(self) -> None:
        """Drop every database this scratch created (only those), and its temp files."""
        if self.admin is not None:
            with self.admin.connect() as conn:
                for name in self.created:
                    conn.exec_driver_sql(self.dialect.server.drop_database.format(
                        name=self.dialect.quote_identifier(name)))
            self.admin.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)
