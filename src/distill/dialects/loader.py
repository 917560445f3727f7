"""Reading the dialect data files: ``dialects/<name>.toml``, one per dialect.

A file may say ``extends = "<other>"``: it then holds only what differs from that dialect
(MariaDB from MySQL), tables merged key by key; a value or array it gives (an array of rule
tables included) replaces the other's whole. ``_common.toml`` holds the rules every dialect
shares. How a dialect writes, formats, guards, applies and inspects SQL is asked of a
:class:`Dialect`, not written in code.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from .. import tomlfile
from ..errors import ConfigError
from ..names import did_you_mean
from ..resources import data_dir
from .model import (
    RULE_FACTS,
    RULE_KINDS,
    Catalog,
    Client,
    Dialect,
    FormatProfile,
    GuardTemplates,
    LexerRules,
    ReadRules,
    RecordSQL,
    Rule,
    Server,
    Shadow,
    StandInForm,
    TimeoutSettings,
    version_key,
)
from .names import available

_MAX_EXTENDS = 4  # a chain longer than this is a loop


def _rules(raw: dict, forms: dict[str, str], features: dict[str, str]) -> list[Rule]:
    """The rules of one file; a rule's ``form`` names a pattern of ``[grammar.forms]``, its
    ``when`` / ``unless`` one of RULE_FACTS, its ``has`` / ``lacks`` a feature of the dialect's
    ``[server_version.features]`` (another name: a KeyError, the file is invalid)."""
    for rule in (rule for kind in RULE_KINDS for rule in raw.get(kind, [])):
        for fact in (rule.get("when", ""), rule.get("unless", "")):
            if fact and fact not in RULE_FACTS:
                raise KeyError(f"{fact!r} (when/unless: one of {', '.join(RULE_FACTS)})")
        for feature in (rule.get("has", ""), rule.get("lacks", "")):
            if feature and feature not in features:
                raise KeyError(f"{feature!r} (has/lacks: a feature of [server_version.features])")
    return [
        Rule(kind, re.compile(rule.get("pattern") or forms[rule["form"]], re.IGNORECASE), rule["message"],
             rule.get("on", "full"), rule.get("when", ""), rule.get("unless", ""),
             rule.get("has", ""), rule.get("lacks", ""))
        for kind in RULE_KINDS
        for rule in raw.get(kind, [])
    ]


def _version(text: str) -> str:
    """``text``, a version of numbers ("8.0.12"); a ValueError (the file is invalid) otherwise."""
    version_key(text)
    return text


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top: tables merged key by key, anything else replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _read(name: str) -> dict[str, Any]:
    return tomlfile.loads((data_dir("dialects") / f"{name}.toml").read_text(encoding="utf-8"))


def _raw(name: str) -> dict[str, Any]:
    """The data of ``name`` with what it extends filled in."""
    chain = [_read(name)]
    while "extends" in chain[-1]:
        parent = chain[-1]["extends"]
        if len(chain) > _MAX_EXTENDS or parent not in available():
            raise ConfigError(f"dialects/{name}.toml extends {parent!r}, which is not a dialect "
                              "(or the chain of extends loops)")
        chain.append(_read(parent))
    raw: dict[str, Any] = {}
    for data in reversed(chain):
        raw = _merged(raw, {k: v for k, v in data.items() if k != "extends"})
    return raw


def _guard(raw: dict) -> GuardTemplates:
    return GuardTemplates(
        stop_on_error=tuple(raw["stop_on_error"]),
        check=raw["check"].strip(),
        check_revisions=raw.get("check_revisions", "").strip(),
        base_prepare=raw.get("base_prepare", "").strip(),
        fail=raw["fail"].strip(),
        schema_default=raw.get("schema_default", ""),
        schema_literal=raw.get("schema_literal", "'{schema}'"),
        construct=raw["construct"],
        documented_by=tuple(raw["documented_by"]),
        version_row_check=raw.get("version_row_check", "").strip(),
        lock=raw.get("lock", "").strip(),
        lock_place=raw.get("lock_place", ""),
        lock_release=raw.get("lock_release", "").strip(),
        **({"lock_comment": raw["lock_comment"]} if "lock_comment" in raw else {}),
        file_lock=raw.get("file_lock", "").strip(),
        file_lock_release=raw.get("file_lock_release", "").strip(),
    )


def _client(raw: dict) -> Client:
    return Client(
        program=raw["program"], package=raw["package"], apply=raw["apply"], on_error=raw["on_error"],
        resume=raw.get("resume", ""),
        alternatives=tuple(raw.get("alternatives", ())),
        arguments=tuple(raw.get("arguments", ())),
        password_variable=raw.get("password_variable", ""),
        environment=tuple(sorted(raw.get("environment", {}).items())),
    )


def _catalog(raw: dict) -> Catalog:
    return Catalog(
        queries=tuple(sorted(raw.get("queries", {}).items())),
        table_ddl_query=raw.get("table_ddl_query", ""),
        table_ddl_per_table=raw.get("table_ddl_per_table", ""),
        enums=raw.get("enums", False),
    )


def _shadow(raw: dict, common: dict) -> Shadow:
    reads = raw.get("reads", {})
    functions = [*common.get("shadow", {}).get("reads", {}).get("functions", ()), *reads.get("functions", ())]
    return Shadow(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()
           if k not in ("reads", "stand_in")},
        reads=ReadRules(
            openings=tuple(w.upper() for w in reads.get("openings", ())),
            writing_words=tuple(tuple(p.upper().split()) for p in reads.get("writing_words", ())),
            functions=tuple(sorted({f.upper() for f in functions})),
            writing_functions=tuple(f.upper() for f in reads.get("writing_functions", ())),
            pragmas=tuple(p.upper() for p in reads.get("pragmas", ())),
            pragmas_with_argument=tuple(p.upper() for p in reads.get("pragmas_with_argument", ())),
        ),
        stand_in=tuple(
            StandInForm(form["server"], re.compile(form["pattern"], re.IGNORECASE | re.DOTALL),
                        form["replacement"], form["why"], tuple(form["documented_by"]))
            for form in raw.get("stand_in", ())),
    )


def _parse(name: str, raw: dict) -> Dialect:
    script = raw["script"]
    versions = raw.get("server_version", {})
    features = {feature: _version(v) for feature, v in versions.get("features", {}).items()}
    common = tomlfile.loads((data_dir("dialects") / "_common.toml").read_text(encoding="utf-8"))
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
        national_string_prefix=script.get("national_string_prefix", ""),
        version_table_create=script["version_table_create"].strip(),
        delimiter_candidates=tuple(script.get("delimiter_candidates", ())),
        preamble=tuple(script["preamble"]),
        postamble=tuple(script.get("postamble", ())),
        before_commit=tuple(text.strip() for text in script.get("before_commit", ())),
        format=FormatProfile(**{**raw["format"], "keep_layout": tuple(raw["format"]["keep_layout"])}),
        guard=_guard(raw["guard"]),
        rules=tuple(_rules(common, common["grammar"]["forms"], features)
                    + _rules(raw, common["grammar"]["forms"], features)),
        client=_client(raw["client"]),
        server=Server(**raw.get("server", {})),
        shadow=_shadow(raw.get("shadow", {}), common),
        catalog=_catalog(raw.get("catalog", {})),
        record=RecordSQL(**{k: v.strip() for k, v in raw.get("record", {}).items()}),
        timeouts=TimeoutSettings(**{k: tuple(v) if isinstance(v, list) else v
                                    for k, v in raw.get("timeouts", {}).items()}),
        alembic_impl_hooks=tuple(raw.get("alembic_impl_hooks", ())),
        drop_constraint_needs_type=raw.get("drop_constraint_needs_type", False),
        alter_actions=frozenset(w.upper() for w in common["grammar"]["alter_table_actions"]),
        forms=tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in sorted(
            {**common["grammar"]["forms"], **raw.get("grammar", {}).get("forms", {})}.items())),
        oldest_version=_version(versions["oldest"]) if versions else "",
        features=tuple(sorted(features.items())),
    )


@cache
def get(name: str) -> Dialect:
    """The dialect called ``name``; a ConfigError listing the known ones otherwise."""
    if name not in available():
        raise ConfigError(f"unknown dialect {name!r}: distill knows {', '.join(available())}"
                          + did_you_mean(name, available()))
    try:
        return _parse(name, _raw(name))
    except (KeyError, TypeError, ValueError, re.error) as exc:
        raise ConfigError(f"dialects/{name}.toml is invalid: missing or unexpected key {exc}") from exc


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
