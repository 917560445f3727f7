"""Why a revision cannot be rendered offline, in plain words, with the usual fix.

Offline, ``op.get_bind()`` is a mock: ``execute()`` returns None, ``inspect()`` raises, there is no
engine URL; SQLite batch mode without ``copy_from`` needs to reflect a live table; and a
``downgrade()`` that raises cannot be rendered at all.
"""

from __future__ import annotations

import linecache
import traceback
from pathlib import Path

from sqlalchemy.exc import NoInspectionAvailable

from ..dialects import Dialect
from ..errors import OfflineRenderError
from ..history.plan import DOWN, Plan
from ..history.scripts import History

_RESULT_METHODS = ("fetchall", "fetchone", "fetchmany", "first", "scalar", "scalars", "all",
                   "one", "mappings", "scalar_one", "one_or_none", "rowcount", "keys")
GUARD_FIX = (
    "Usual fix: in the revision, guard the database access with "
    "`if context.is_offline_mode(): ...` (from alembic import context) and emit the change with "
    "op.execute() in SQL that needs no answer from the database."
)


def _cause(exc: Exception, direction: str, raised_in_revision: bool) -> tuple[str, str]:
    """(cause in plain words, usual fix) for an exception raised while rendering a revision."""
    text = str(exc)
    name = type(exc).__name__
    if isinstance(exc, AttributeError) and "NoneType" in text and any(
        f"'{m}'" in text for m in _RESULT_METHODS
    ):
        return (
            "it reads the result of a query run through op.get_bind(), but offline there is no "
            f"database and execute() returns None ({name}: {text})",
            GUARD_FIX,
        )
    if isinstance(exc, NoInspectionAvailable) or "inspect" in text.lower() and "mock" in text.lower():
        return (
            f"it inspects the live database (sqlalchemy.inspect(op.get_bind())), which offline "
            f"mode cannot do ({name}: {text})",
            GUARD_FIX,
        )
    if "batch mode" in text or "live database connection" in text:
        return (
            "it uses SQLite batch mode without copy_from, which needs a live connection to "
            f"reflect the table ({text})",
            "Usual fix: pass copy_from=sa.Table(...) with the table's current definition to "
            "op.batch_alter_table(), so the table is recreated from it instead of reflected.",
        )
    if "engine" in text or "url" in text.lower() and isinstance(exc, AttributeError):
        return (
            f"it uses the database connection's engine or URL, which offline mode does not "
            f"have ({name}: {text})",
            GUARD_FIX,
        )
    if direction == DOWN and raised_in_revision:
        return (
            f"its downgrade() raises {name}: {text or '(no message)'}; the revision declares "
            "itself irreversible",
            "Usual fix: do not downgrade across this revision; restore from a backup taken "
            "before it, or write a downgrade.",
        )
    return (
        f"rendering it raised {name}: {text or '(no message)'}",
        "If the revision needs the database, " + GUARD_FIX[len("Usual fix: "):].replace(
            "in the revision, guard", "guard", 1),
    )


def offline_error(exc: Exception, history: History, plan: Plan, step_index: int | None,
                  dialect: Dialect) -> OfflineRenderError:
    """The OfflineRenderError for ``exc``, naming the revision, its file and line, and the fix."""
    frames = traceback.extract_tb(exc.__traceback__)
    if step_index is None:  # env.py itself failed, before or between the steps
        env_frames = [f for f in frames if Path(f.filename).name == "env.py"]
        where = (
            f"{history.relpath(env_frames[-1].filename)}, line {env_frames[-1].lineno}"
            if env_frames else "env.py"
        )
        return OfflineRenderError(
            f"cannot render offline for {dialect.name}: the project's environment ({where}) "
            f"raised {type(exc).__name__}: {exc}. If env.py needs a database URL or settings that "
            "are not available here, run with --standalone (env.py is not executed; the version "
            "table options come from [tool.distill])."
        )
    step = plan.steps[step_index]
    script_path = Path(history.get(step.revision).path).resolve()
    in_script = [f for f in frames if Path(f.filename).resolve() == script_path]
    location = step.script_path
    if in_script:
        frame = in_script[-1]
        source = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
        location += f", line {frame.lineno}" + (f" (`{source}`)" if source else "")
    raised_in_revision = bool(frames) and Path(frames[-1].filename).resolve() == script_path
    cause, fix = _cause(exc, step.direction, raised_in_revision)
    return OfflineRenderError(
        f"cannot render revision {step.revision} ({step.message}) offline for {dialect.name} "
        f"({step.direction}): {location}: {cause}. {fix}",
        revision=step.revision, location=location, cause=cause, fix=fix,
    )
