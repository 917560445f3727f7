"""Dialects: every fact about a target database, read from its data file in ``dialects/``."""

from .loader import available, get, parse_list
from .model import Catalog, Client, Dialect, FormatProfile, GuardTemplates, LexerRules, Rule, Server

__all__ = ["Catalog", "Client", "Dialect", "FormatProfile", "GuardTemplates", "LexerRules", "Rule",
           "Server", "available", "get", "parse_list"]
