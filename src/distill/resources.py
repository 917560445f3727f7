"""Locate the data shipped with distill: dialect files, templates and the embedded example.

In a wheel they sit inside the package (``distill/dialects`` ...); in a source checkout they sit at
the top of the repository, two levels above this file.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the directory of shipped data ``name`` ("dialects", "templates" or "examples")."""
    for candidate in (_PACKAGE_DIR / name, _PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"distill is installed without its {name!r} data directory")
