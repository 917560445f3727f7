"""The error for a revision that cannot be rendered (offline, or against a shadow database):
which revision, the file and line of the operation that failed (inside a batch block: the
operation, not the ``with``), the cause and its fix (``causes``)."""

from __future__ import annotations

import linecache
import traceback
from pathlib import Path

from .. import alembic_compat as compat
from ..dialects import Dialect
from ..errors import OfflineRenderError, Terminated
from ..history.plan import Plan
from ..history.scripts import History
from ..shadow import ShadowDatabase
from .capture import NulCharacter
from .causes import Failure, cause_of, describe

_DISTILL_DIR = Path(__file__).resolve().parent.parent
# raised from distill's code on the revision's behalf: the revision's doing, not a bug in distill
_ON_BEHALF = (NulCharacter, SystemExit, compat.ForkRefused, compat.ResultUsed)


def render_failure(exc: BaseException, history: History, plan: Plan, step_index: int | None,
                   dialect: Dialect, *, shadow: ShadowDatabase | None = None) -> OfflineRenderError | None:
    """The error to report for ``exc``, raised while rendering; None for what must go on as it
    is: distill's own exit (SIGTERM), or a bug in distill (its traceback is kept)."""
    if isinstance(exc, Terminated) or (_raised_by_distill(exc) and not isinstance(exc, _ON_BEHALF)):
        return None
    return offline_error(exc, history, plan, step_index, dialect, shadow=shadow)


def _raised_by_distill(exc: BaseException) -> bool:
    """True when the innermost frame is distill's own code (not the example it ships)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return False
    path = Path(frames[-1].filename).resolve()
    return path.is_relative_to(_DISTILL_DIR) and not path.is_relative_to(_DISTILL_DIR / "_data")


def offline_error(exc: BaseException, history: History, plan: Plan, step_index: int | None,
                  dialect: Dialect, *, shadow: ShadowDatabase | None = None) -> OfflineRenderError:
    """The OfflineRenderError for ``exc``, naming the revision, its file and line, and the fix.
    ``shadow``: the shadow database it rendered against (None: offline)."""
    how = "offline" if shadow is None else f"against {shadow.description}"
    frames = traceback.extract_tb(exc.__traceback__)
    if step_index is None:  # env.py itself failed, before or between the steps
        env_frames = [f for f in frames if Path(f.filename).name == "env.py"]
        where = (
            f"{history.relpath(env_frames[-1].filename)}, line {env_frames[-1].lineno}"
            if env_frames else "env.py"
        )
        return OfflineRenderError(
            f"cannot render {how} for {dialect.name}: the project's environment ({where}) "
            f"raised {describe(exc)}. If env.py needs a database URL or settings that "
            "are not available here, run with --standalone (env.py is not executed; the version "
            "table options come from [tool.distill])."
        )
    step = plan.steps[step_index]
    script_path = Path(history.get(step.revision).path).resolve()
    operation = compat.failed_operation(exc.__traceback__)
    lines = [(f.filename, f.lineno, f.line) for f in frames if Path(f.filename).resolve() == script_path]
    if operation.origin and Path(operation.origin[0]).resolve() == script_path:
        lines.append((*operation.origin, None))  # the operation inside a batch block
    used_at = getattr(exc, "used_at", None)  # a result used in a helper the revision called
    if not lines and used_at and Path(used_at[0]).resolve() == script_path:
        lines.append((*used_at, None))
    location = step.script_path
    if lines:
        filename, lineno, source = lines[-1]
        source = (source or linecache.getline(filename, lineno)).strip()
        location += f", line {lineno}" + (f" (`{source}`)" if source else "")
    raised_in_revision = bool(frames) and Path(frames[-1].filename).resolve() == script_path
    cause = cause_of(Failure(exc, operation, dialect, step.direction, raised_in_revision, shadow))
    return OfflineRenderError(
        f"cannot render revision {step.label} {how} for {dialect.name} ({step.direction}): "
        f"{location}: {cause.text}. {cause.fix}",
        revision=step.revision, location=location, cause=cause.text, fix=cause.fix,
    )
