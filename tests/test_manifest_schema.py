"""distill checks manifests against schemas/manifest-1.json with its own small interpreter of
JSON Schema; it must accept and refuse exactly what the reference validator (jsonschema) does."""

from __future__ import annotations

import copy
import json
import tarfile
from pathlib import Path

import jsonschema
import pytest

from distill.bundle import schema
from distill.bundle.manifest import manifest_problems

REPO = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((REPO / "src" / "distill" / "schemas" / "manifest-1.json").read_text())
# values a crafted manifest may put anywhere: each JSON type, edge cases of the constraints
REPLACEMENTS = [None, True, False, 0, 1, -1, 2.5, "", "x", "1.0", "a" * 64, "0" * 64, [], ["x"], [1], {},
                {"file": "x.sql"}, "distill-bundle", "sqlparse", "../x.sql"]


def _shipped_manifests() -> dict[str, dict]:
    manifests = {}
    for archive in sorted((REPO / "releases").glob("*.tar.gz")):
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/manifest.json"))
            manifests[archive.name] = json.load(tar.extractfile(member))
    return manifests


MANIFESTS = _shipped_manifests()


def _paths(value, prefix=()):
    """Every position in a JSON value, as a tuple of keys and indexes."""
    yield prefix
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from _paths(inner, (*prefix, key))


_DELETE = object()


def _judge_replaced(document, path, new) -> bool:
    """Replace (or delete) the value at ``path`` in place, compare both validators' verdicts,
    restore it; True when the mutated document was refused."""
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    old = parent[path[-1]]
    if new is _DELETE and isinstance(parent, list):
        parent.pop(path[-1])
    elif new is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    try:
        _agree(document)
        return bool(manifest_problems(document))
    finally:
        if new is _DELETE and isinstance(parent, list):
            parent.insert(path[-1], old)
        else:
            parent[path[-1]] = old
            if isinstance(parent, dict):  # keep the key order of the original
                for key in [k for k in parent if k != path[-1]]:
                    parent[key] = parent.pop(key)


def _agree(document) -> None:
    reference = jsonschema.Draft202012Validator(SCHEMA).is_valid(document)
    ours = manifest_problems(document)
    assert (not ours) == reference, (reference, ours)


def test_the_shipped_releases_match_the_schema():
    assert len(MANIFESTS) == 4
    for name, manifest in MANIFESTS.items():
        jsonschema.validate(manifest, SCHEMA)
        assert manifest_problems(manifest) == [], name


def _trimmed(manifest):
    """The manifest without its repetitions (one dialect, two steps wherever steps are listed):
    every kind of position remains, and each check stays fast."""
    manifest = copy.deepcopy(manifest)
    manifest["dialects"] = {"sqlite": manifest["dialects"]["sqlite"]}
    manifest["steps"] = manifest["steps"][:2]
    manifest["dialects"]["sqlite"]["steps"] = manifest["dialects"]["sqlite"]["steps"][:2]
    return manifest


@pytest.mark.parametrize("name", ["1.1.tar.gz", "2.0.tar.gz"])
def test_every_mutation_is_judged_as_jsonschema_judges_it(name):
    # every position replaced by every value, and deleted
    manifest, original = _trimmed(MANIFESTS[name]), _trimmed(MANIFESTS[name])
    judged = refused = 0
    for path in list(_paths(manifest))[1:]:
        for new in [*REPLACEMENTS, _DELETE]:
            refused += _judge_replaced(manifest, path, new)
            judged += 1
    assert manifest == original
    # the comparison covers both answers, many times each
    assert judged > 2000 and 500 < refused < judged


def test_a_top_level_that_is_not_an_object_and_extra_keys():
    for document in ([], "x", None, 1, {}, {**MANIFESTS["1.0.tar.gz"], "extra": 1}):
        _agree(document)
    assert manifest_problems([]) == ["(top): must be object, not array"]


def test_a_final_newline_does_not_pass_a_pattern_ending_in_dollar():
    # ECMA-262's $ ends the input; Python's re (and so jsonschema) lets "1.0\n" through
    manifest = copy.deepcopy(MANIFESTS["1.0.tar.gz"])
    manifest["generator"]["python"] = "3.12\n"
    assert manifest_problems(manifest) == ['generator.python: "3.12\\n" does not match ^[0-9]+\\.[0-9]+$']


def test_the_problems_say_where_and_what():
    manifest = copy.deepcopy(MANIFESTS["1.1.tar.gz"])
    manifest["dialects"]["sqlite"]["steps"][0]["up"]["sha256"] = "XYZ"
    manifest["release"] = "1.1\n"  # ECMA-262's $ does not match before a final newline
    manifest["steps"] = ["x"]
    assert manifest_problems(manifest) == [
        "dialects.sqlite.steps[0].up.sha256: \"XYZ\" does not match ^[0-9a-f]{64}$",
        "release: \"1.1\\n\" does not match ^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$",
        "steps[0]: must be object, not string",
    ]


def test_a_schema_keyword_distill_does_not_check_is_refused():
    # the schema file cannot grow a rule that distill would silently skip
    with pytest.raises(schema.UnsupportedSchema, match="maxLength"):
        schema._refuse_unknown_keywords({"properties": {"a": {"items": {"maxLength": 3}}}}, "#")
    for name in ("manifest-1", "diff-1"):
        schema.load(name)
