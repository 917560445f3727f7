"""Dialect knowledge, read from the data files in ``dialects/``: one TOML file per dialect.

Nothing else in distill hard-codes what a dialect's terminator, separator, client or lexical rules
are; code asks a :class:`Dialect` instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from . import _toml
from .errors import ConfigError
from .resources import data_dir


@dataclass(frozen=True)
class LexerRules:
    """How string literals, identifiers and comments are written in this dialect."""

    backslash_escapes: bool
    escape_string_prefix: bool
    dollar_quotes: bool
    double_quote: str  # "identifier" or "string"
    backtick_identifiers: bool
    bracket_identifiers: bool
    hash_comments: bool
    nested_block_comments: bool
    folds_unquoted_identifiers: bool


@dataclass(frozen=True)
class FormatProfile:
    """How distill's formatter treats this dialect's statements."""

    reindent: bool
    keyword_case: str  # "upper" or "keep"
    indent_width: int
    keep_layout: tuple[str, ...]  # statement openings whose layout is kept
    max_statement_bytes: int


@dataclass(frozen=True)
class Rule:
    """A finding about a statement: destructive, or a lock risk (see dialects/_common.toml)."""

    kind: str  # "destructive" or "lock_risk"
    pattern: re.Pattern[str]
    message: str
    on: str  # "full" or "top" (parenthesised parts elided)


@dataclass(frozen=True)
class GuardTemplates:
    """SQL that stops a script: on a version-table mismatch (check) or always (fail)."""

    stop_on_error: tuple[str, ...]  # client commands at the very top of every file
    check: str
    check_revisions: str  # a second check statement, for dialects that need one ("" if none)
    base_prepare: str  # from base, a statement before check_revisions ("" if none)
    fail: str


@dataclass(frozen=True)
class Dialect:
    """One target database: how its SQL is written and how its scripts are applied."""

    name: str
    title: str
    sqlalchemy_dialect: str
    lexer: LexerRules
    terminator: str
    batch_separator: str
    comment: str
    compound_statements: str  # "as-is" or "delimiter"
    carriage_return: str  # inside literals: "as-is", "backslash-escape" or "concatenate"
    carriage_return_expression: str  # with "concatenate": the expression for one CR
    version_table_create: str  # template: {create} {rest} {table_in_literal} {create_in_literal}
    delimiter_candidates: tuple[str, ...]
    preamble: tuple[str, ...]
    format: FormatProfile
    guard: GuardTemplates
    rules: tuple[Rule, ...]
    client_program: str
    client_package: str
    client_apply: str

    def comment_line(self, text: str) -> str:
        """``text`` as a one-line SQL comment."""
        return f"{self.comment} {text}".rstrip() if text else self.comment


def _rules(raw: dict) -> list[Rule]:
    return [
        Rule(kind, re.compile(rule["pattern"], re.IGNORECASE), rule["message"], rule.get("on", "full"))
        for kind in ("destructive", "lock_risk")
        for rule in raw.get(kind, [])
    ]


def _parse(name: str, raw: dict) -> Dialect:
    common = _toml.loads((data_dir("dialects") / "_common.toml").read_text(encoding="utf-8"))
    try:
        script, client = raw["script"], raw["client"]
        return Dialect(
            name=raw["name"],
            title=raw["title"],
            sqlalchemy_dialect=raw["sqlalchemy_dialect"],
            lexer=LexerRules(**raw["lexer"]),
            terminator=script["terminator"],
            batch_separator=script["batch_separator"],
            comment=script["comment"],
            compound_statements=script["compound_statements"],
            carriage_return=script["carriage_return"],
            carriage_return_expression=script.get("carriage_return_expression", ""),
            version_table_create=script["version_table_create"].strip(),
            delimiter_candidates=tuple(script.get("delimiter_candidates", ())),
            preamble=tuple(script["preamble"]),
            format=FormatProfile(**{**raw["format"], "keep_layout": tuple(raw["format"]["keep_layout"])}),
            guard=GuardTemplates(
                stop_on_error=tuple(raw["guard"]["stop_on_error"]),
                check=raw["guard"]["check"].strip(),
                check_revisions=raw["guard"].get("check_revisions", "").strip(),
                base_prepare=raw["guard"].get("base_prepare", "").strip(),
                fail=raw["guard"]["fail"].strip(),
            ),
            rules=tuple(_rules(common) + _rules(raw)),
            client_program=client["program"],
            client_package=client["package"],
            client_apply=client["apply"],
        )
    except (KeyError, TypeError, re.error) as exc:
        raise ConfigError(f"dialects/{name}.toml is invalid: missing or unexpected key {exc}") from exc


@cache
def available() -> tuple[str, ...]:
    """Names of every dialect distill has a data file for, sorted."""
    return tuple(sorted(p.stem for p in data_dir("dialects").glob("*.toml") if not p.stem.startswith("_")))


@cache
def get(name: str) -> Dialect:
    """The dialect called ``name``; a ConfigError listing the known ones otherwise."""
    if name not in available():
        raise ConfigError(
            f"unknown dialect {name!r}: distill knows {', '.join(available())}"
        )
    path = data_dir("dialects") / f"{name}.toml"
    return _parse(name, _toml.loads(path.read_text(encoding="utf-8")))


def parse_list(spec: str | list[str] | tuple[str, ...]) -> tuple[Dialect, ...]:
    """Dialects from a comma-separated string or a list, in the order given, without repeats."""
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    seen: dict[str, Dialect] = {}
    for raw in names:
        name = raw.strip()
        if name and name not in seen:
            seen[name] = get(name)
    if not seen:
        raise ConfigError("no dialect given")
    return tuple(seen.values())
