"""Checking a JSON document against distill's own JSON Schemas (schemas/*.json).

distill reads manifests back from bundles it did not necessarily write, so a crafted
manifest must be reported, not crash a later stage. The schema file is the one statement of
the manifest's shape; this module interprets the part of JSON Schema (draft 2020-12) those
files use, and refuses a schema that uses any other keyword, so the two cannot drift apart
silently. The test suite checks that it agrees with the reference validator (jsonschema).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

_SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
# keywords that only describe
_ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description"}
_CHECKED = {"type", "const", "enum", "required", "properties", "additionalProperties", "items",
            "minItems", "minLength", "minimum", "maximum", "pattern", "$ref", "oneOf"}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}
_LIMIT = 20  # problems reported at most: enough to see what is wrong


class UnsupportedSchema(ValueError):
    """A schema uses a keyword this module does not check."""


@cache
def load(name: str) -> dict[str, Any]:
    """The schema ``schemas/<name>.json``, its keywords checked to be ones this module applies."""
    schema = json.loads((_SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    _refuse_unknown_keywords(schema, "#")
    return schema


def _refuse_unknown_keywords(node: Any, where: str) -> None:
    unknown = set(node) - _ANNOTATIONS - _CHECKED
    if unknown:
        raise UnsupportedSchema(f"{where}: keyword(s) {sorted(unknown)} are not checked by distill")
    children = [(f"{where}/{key}/{name}", child) for key in ("properties", "$defs")
                for name, child in node.get(key, {}).items()]
    children += [(f"{where}/oneOf/{number}", child) for number, child in enumerate(node.get("oneOf", []))]
    children += [(f"{where}/{key}", node[key]) for key in ("items", "additionalProperties")
                 if isinstance(node.get(key), dict)]
    for inner, child in children:
        _refuse_unknown_keywords(child, inner)


def problems(document: Any, schema_name: str) -> list[str]:
    """What keeps ``document`` from matching schema ``schema_name``, as '<where>: <what>' lines
    (the first few of them); empty when it matches."""
    schema = load(schema_name)
    found: list[str] = []
    _check(document, schema, schema, "(top)", found)
    return found[:_LIMIT]


def _pattern_matches(pattern: str, text: str) -> bool:
    # ECMA-262's '$' ends the input; Python's would also match before a final newline
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.search(pattern, text) is not None


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    if not ref.startswith("#/"):
        raise UnsupportedSchema(f"only local references are checked, not {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def _check(value: Any, schema: dict[str, Any], root: dict[str, Any], where: str, found: list[str]) -> None:
    if len(found) >= _LIMIT:
        return
    if "$ref" in schema:
        _check(value, _resolve(root, schema["$ref"]), root, where, found)
    if "oneOf" in schema:
        matching = [s for s in schema["oneOf"] if not _collect(value, s, root)]
        if len(matching) != 1:
            found.append(f"{where}: matches {len(matching)} of its {len(schema['oneOf'])} allowed "
                         "shapes, not exactly one")
    if not _scalar_ok(value, schema, where, found):
        return
    if isinstance(value, dict):
        _check_object(value, schema, root, where, found)
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            found.append(f"{where}: has {len(value)} item(s), at least {schema['minItems']} needed")
        if "items" in schema:
            for number, item in enumerate(value):
                _check(item, schema["items"], root, f"{where}[{number}]", found)


def _collect(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> list[str]:
    found: list[str] = []
    _check(value, schema, root, "", found)
    return found


def _scalar_ok(value: Any, schema: dict[str, Any], where: str, found: list[str]) -> bool:
    """Type, const, enum and the string/number bounds; False when the type is wrong (nothing
    below it is worth checking)."""
    if "type" in schema:
        allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[kind](value) for kind in allowed):
            found.append(f"{where}: must be {' or '.join(allowed)}, not {_kind_of(value)}")
            return False
    if "const" in schema and not _same(value, schema["const"]):
        found.append(f"{where}: must be {json.dumps(schema['const'])}")
    if "enum" in schema and not any(_same(value, option) for option in schema["enum"]):
        found.append(f"{where}: must be one of {', '.join(json.dumps(o) for o in schema['enum'])}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            found.append(f"{where}: must not be empty")
        if "pattern" in schema and not _pattern_matches(schema["pattern"], value):
            found.append(f"{where}: {json.dumps(value)[:80]} does not match {schema['pattern']}")
    if _TYPES["number"](value) and "minimum" in schema and value < schema["minimum"]:
        found.append(f"{where}: must be at least {schema['minimum']}")
    if _TYPES["number"](value) and "maximum" in schema and value > schema["maximum"]:
        found.append(f"{where}: must be at most {schema['maximum']}")
    return True


def _check_object(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], where: str,
                  found: list[str]) -> None:
    for key in schema.get("required", []):
        if key not in value:
            found.append(f"{where}: '{key}' is missing")
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key in sorted(value):
        inner = f"{key}" if where == "(top)" else f"{where}.{key}"
        if key in properties:
            _check(value[key], properties[key], root, inner, found)
        elif extra is False:
            found.append(f"{where}: '{key}' is not allowed here")
        elif isinstance(extra, dict):
            _check(value[key], extra, root, inner, found)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):  # JSON equality: true is not 1
        return type(a) is type(b) and a == b
    return a == b


def _kind_of(value: Any) -> str:
    return next(kind for kind in ("null", "boolean", "integer", "number", "string", "array", "object")
                if _TYPES[kind](value))
