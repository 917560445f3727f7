"""Helpers for tests: render through distill's API, migrate online with Alembic, compare."""

from __future__ import annotations

import os

from alembic import command

from distill import dialects
from distill.config import Settings
from distill.history.plan import make_plan
from distill.history.scripts import History
from distill.offline.single_script import sql_script
from distill.rehearsal.schema_diff import differences
from distill.rehearsal.snapshot import snapshot


def render_sql(history: History, dialect: str, from_spec: str, to_spec: str, *, down=False,
               standalone=False, style="sqlparse", **options) -> str:
    """What ``distill sql`` prints (guarded; formatted with sqlparse unless ``style="none"``)."""
    plan = make_plan(history, from_spec, to_spec, down=down)
    text, _, _ = sql_script(history, plan, dialects.get(dialect), style=style, standalone=standalone,
                         **options)
    return text


def online(settings: Settings, url: str, verb: str, *targets: str) -> None:
    """Run Alembic online (the reference) against ``url``."""
    config = settings.alembic_config()
    config.set_main_option("sqlalchemy.url", url)
    for target in targets:
        getattr(command, verb)(config, target)


def assert_same_database(reference_url: str, candidate_url: str) -> None:
    diffs = differences(snapshot(reference_url), snapshot(candidate_url))
    assert not diffs, "offline SQL and online Alembic differ:\n" + "\n".join(diffs[:40])


def read_terminal(controller: int) -> bytes:
    """Everything written to a pseudo-terminal whose other end was closed: read from its
    controller until the end (or the EIO Linux gives then)."""
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    return shown
