"""Errors a user can act on. Each renders as one paragraph: what, where (file, revision), why, fix."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

_Result = TypeVar("_Result")


class Terminated(SystemExit):
    """Raised by distill's SIGTERM handler (exit 143): never taken for a revision's own exit."""


class DistillError(Exception):
    """Base of every error distill reports to the user instead of a traceback."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(DistillError):
    """The distill or alembic configuration is missing or invalid."""


class NoProjectError(ConfigError):
    """No configuration where distill runs: it could not run (exit 2)."""

    exit_code = 2


class RevisionError(DistillError):
    """A revision spec is unknown, ambiguous, or names several heads where one is needed."""


class RangeError(DistillError):
    """The requested range cannot be walked in the requested direction."""


class ScriptLoadError(DistillError):
    """A revision script (or env.py) fails to import."""


class OfflineRenderError(DistillError):
    """A revision cannot be rendered to SQL without a database connection."""

    def __init__(self, message: str, *, revision: str | None = None, location: str = "",
                 cause: str = "", fix: str = "") -> None:
        super().__init__(message)
        self.revision = revision
        self.location = location
        self.cause = cause
        self.fix = fix


class CouldNotRun(DistillError):
    """verify, diff and rehearse: the check itself could not run (exit 2, not 1)."""

    exit_code = 2


class UntestedAlembic(DistillError):
    """Alembic internals that distill patches changed or are gone: rendering could be wrong, so
    distill stops before it starts (exit 2, like CouldNotRun)."""

    exit_code = 2


class UnsafeArchive(DistillError):
    """An archive entry that could write outside the extraction directory, or is not a file."""


def could_not_run(function: Callable[..., _Result]) -> Callable[..., _Result]:
    """verify, diff and rehearse: an error that keeps the check from running is CouldNotRun (exit
    2), not a "no" (exit 1). To verify, a crafted archive is an answer (not verified), so it
    passes; to diff or rehearse, it is one more reason they cannot run."""
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> _Result:
        try:
            return function(*args, **kwargs)
        except CouldNotRun:
            raise
        except UnsafeArchive as exc:
            if function.__name__ == "verify":
                raise
            raise CouldNotRun(exc.message) from None
        except DistillError as exc:
            raise CouldNotRun(exc.message) from None
    return wrapper
