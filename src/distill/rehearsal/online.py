"""Online Alembic, the reference a rehearsal compares with: migrate a scratch database.

The project's env.py runs (unless standalone), with ``context.configure`` forced onto distill's
own connection to the scratch database, ``sqlalchemy.url`` set to it and the connection also in
``config.attributes["connection"]`` (Alembic's cookbook pattern). An env.py that builds its own
engine from elsewhere still connects there first: rehearse never passes it another URL.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic.runtime.environment import EnvironmentContext

from .. import alembic_compat as compat
from ..history.scripts import History


def migrate(history: History, url: sa.URL, verb: str, target: str, *,
            standalone: bool = False) -> tuple[str, str | None]:
    """``alembic upgrade|downgrade target`` against ``url``, online; the version table it used
    (name, schema), as env.py configured it."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            table = _run(history, connection, url, verb, target, standalone)
            if connection.in_transaction():
                connection.commit()
            return table
    finally:
        engine.dispose()


def _run(history: History, connection: sa.Connection, url: sa.URL, verb: str, target: str,
         standalone: bool) -> tuple[str, str | None]:
    script = history.script
    config = history.settings.alembic_config()
    config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["connection"] = connection
    env = EnvironmentContext(config, script, as_sql=False, destination_rev=target,
                             fn=lambda heads, context: compat.online_steps(script, verb, target, heads))

    def configure(original: Callable[..., None], **kw: Any) -> None:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # after env.py's fileConfig
        kw.pop("url", None)
        kw.pop("dialect_name", None)
        original(**{**kw, "connection": connection})

    # what revisions print (notes for offline SQL) is not the rehearsal's output
    with env, contextlib.redirect_stdout(io.StringIO()):
        if standalone:
            configure(env.configure, **history.settings.standalone_options())
            with env.begin_transaction():
                env.run_migrations()
        else:
            compat.run_env(env, script, configure)
        table = compat.version_table_of(env.get_context())
        return table.name, table.schema
