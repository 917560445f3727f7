"""Locate the data shipped with distill: dialect files, templates and the embedded example.

In a wheel they sit inside the package (``distill/_data/dialects`` ...); in a source checkout they
sit at the top of the repository, two levels above this file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mako.template import Template

_PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED = ("dialects", "templates", "examples")


def data_dir(name: str) -> Path:
    """Return the directory of shipped data ``name`` ("dialects", "templates" or "examples")."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"distill is installed without its {name!r} data directory")


@cache
def template(name: str, *, one_line: bool = False) -> Template:
    """The Mako template ``templates/<name>``, compiled once (undefined names are errors);
    ``one_line``: every value it interpolates has its control characters made spaces."""
    from mako.template import Template  # only for a command that writes with it (start-up)

    path = data_dir("templates") / name
    if one_line:  # every ${...} made one line: nothing interpolated can start a line of its own
        return Template(path.read_text(encoding="utf-8"), strict_undefined=True,
                        imports=["from distill.names import one_line"], default_filters=["one_line"])
    return Template(path.read_text(encoding="utf-8"), strict_undefined=True)
