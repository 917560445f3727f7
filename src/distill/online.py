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
from typing import Any

import sqlalchemy as sa
from alembic.runtime.environment import EnvironmentContext

from .history import History


def migrate(history: History, url: sa.URL, verb: str, target: str, *, standalone: bool = False) -> None:
    """``alembic upgrade|downgrade target`` against ``url``, online."""
    script = history.script
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            config = history.settings.alembic_config()
            config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False)
                                   .replace("%", "%%"))
            config.attributes["connection"] = connection

            def steps(heads, context):
                if verb == "upgrade":
                    return script._upgrade_revs(target, heads)
                return script._downgrade_revs(target, heads)

            env = EnvironmentContext(config, script, fn=steps, destination_rev=target, as_sql=False)
            original = env.configure

            def configure(**kw: Any) -> None:
                logging.getLogger("alembic").setLevel(logging.WARNING)  # after env.py's fileConfig
                kw.pop("url", None)
                kw.pop("dialect_name", None)
                kw["connection"] = connection
                original(**kw)

            # what revisions print (notes for offline SQL) is not the rehearsal's output
            with env, contextlib.redirect_stdout(io.StringIO()):
                if standalone:
                    options = history.settings.standalone
                    configure(version_table=options.version_table,
                              version_table_schema=options.version_table_schema,
                              version_table_pk=options.version_table_pk,
                              transaction_per_migration=options.transaction_per_migration)
                    with env.begin_transaction():
                        env.run_migrations()
                else:
                    env.configure = configure
                    script.run_env()
            if connection.in_transaction():
                connection.commit()
    finally:
        engine.dispose()
