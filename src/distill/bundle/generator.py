"""The versions of what generates the SQL: recorded in every bundle, compared by verify --rebuild."""

from __future__ import annotations

import sys
from importlib import metadata

from .. import __version__


def generator_versions() -> dict[str, str]:
    """distill, alembic, sqlalchemy, sqlparse and Python (major.minor: patch releases do not
    change the output, and a release must rebuild identically on another machine)."""
    return {
        "distill": __version__,
        "alembic": metadata.version("alembic"),
        "sqlalchemy": metadata.version("sqlalchemy"),
        "sqlparse": metadata.version("sqlparse"),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
