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


def test_terminal_controls_are_written_as_escapes():
    """A revision message with U+202E, an 8-bit CSI or DEL reaches manifest.json as the same JSON
    data, but escaped: ``cat manifest.json`` shows them instead of obeying them."""
    value = {"message\u2066": "a\u202eb \x9b31m c\x7f \u2028 é中"}
    pieces: list[str] = []
    write_json(value, pieces.append)
    text = "".join(pieces)
    assert json.loads(text) == value
    assert text == '{\n  "message\\u2066": "a\\u202eb \\u009b31m c\\u007f \\u2028 é中"\n}'


def test_keys_that_are_not_strings_are_refused():
    with pytest.raises(TypeError, match="keys must be strings"):
        write_json({1: "x"}, lambda _: None)
