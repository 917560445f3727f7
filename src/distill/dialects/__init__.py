"""Dialects: every fact about a target database, read from its data file in ``dialects/``.

``available`` only lists the data files; the rest (``get``, the model) is imported when first
named, so that the command line can offer the dialect names without loading anything else.
"""

from __future__ import annotations

import importlib
from typing import Any

from .names import available

_WHERE = {"get": "loader", "parse_list": "loader", **{name: "model" for name in (
    "Catalog", "Client", "Dialect", "FormatProfile", "GuardTemplates", "LexerRules", "ReadRules", "Rule",
    "Server", "StandInForm", "version_key")}}

__all__ = ["available", *sorted(_WHERE)]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value
    return value
