"""Modules imported when first used, so that ``distill --help`` and ``--version`` start in a
tenth of a second: the command-line modules name ``api`` and the rest this way, and only a
command that runs imports Alembic, SQLAlchemy, sqlparse and mako."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module ``name``; imports it on the first attribute read."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attribute)
