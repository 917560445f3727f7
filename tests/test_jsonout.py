"""The manifest's JSON writer must write the standard library's bytes for the same options."""

from __future__ import annotations

import json

import pytest

from distill.bundle.json_writer import write_json

AWKWARD = {
    "z": [], "a": {}, "nested": {"b": [1, [2, []], {"c": None}], "a": True, "é": False},
    "text": "quote \" backslash \\ newline \n tab \t control \x01 unicode \u00e9\u4e2d \U0001f600",
    "numbers": [0, -7, 2**70, 1.5, 1e-7, float("inf")],
    "rows": [{"file": f"postgresql/steps/{n:04d}.up.sql", "sha256": "ab" * 32, "size": n}
             for n in range(40000)],  # long enough to be written in several pieces
}


@pytest.mark.parametrize("value", [AWKWARD, [], {}, "x", 3, None, [[[]]], {"k": [{}]}])
def test_bytes_equal_the_standard_library(value):
    pieces: list[str] = []
    write_json(value, pieces.append)
    assert "".join(pieces) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    if value is AWKWARD:
        assert len(pieces) > 1


def test_keys_that_are_not_strings_are_refused():
    with pytest.raises(TypeError, match="keys must be strings"):
        write_json({1: "x"}, lambda _: None)
