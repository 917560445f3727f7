"""Writing large JSON documents (a 10,000-revision manifest is 26 MB) in pieces.

The bytes are ``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)``'s, except that
the characters a terminal obeys and ``ensure_ascii=False`` leaves raw (DEL, the C1 controls, the
bidirectional controls and line separators) are written as their ``\\uXXXX`` escapes: the same
JSON data, but ``cat manifest.json`` of a bundle whose revision message holds U+202E or an 8-bit
CSI shows them instead of obeying them. With ``indent`` the standard library falls back to its
pure-Python encoder, which yields hundreds of thousands of tiny pieces; this encoder builds larger
ones at about twice its speed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # C-accelerated
from typing import Any

from ..terminal import visible

_FLUSH_EVERY = 1 << 14  # pieces
_CONSTANTS = {None: "null", True: "true", False: "false"}


def write_json(value: Any, write: Callable[[str], object]) -> None:
    """Write ``value`` as indented, key-sorted JSON through ``write``, in pieces."""
    parts: list[str] = []
    _encode(value, "", parts, write)
    write("".join(parts))


def _text(value: str) -> str:
    # encode_basestring escapes C0 controls, quotes and backslashes; visible, what is left (DEL
    # and non-ASCII characters: most strings hold neither, and skip the regular expression)
    encoded = encode_basestring(value)
    return encoded if encoded.isascii() and "\x7f" not in encoded else visible(encoded)


def _encode(value: Any, indent: str, parts: list[str], write: Callable[[str], object]) -> None:
    if isinstance(value, str):
        parts.append(_text(value))
    elif isinstance(value, dict):
        if not value:
            parts.append("{}")
            return
        inner = indent + "  "
        separator = "{\n" + inner
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"JSON object keys must be strings here, not {key!r}")
            parts.append(separator + _text(key) + ": ")
            separator = ",\n" + inner
            _encode(value[key], inner, parts, write)
        parts.append("\n" + indent + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            parts.append("[]")
            return
        inner = indent + "  "
        separator = "[\n" + inner
        for item in value:
            parts.append(separator)
            separator = ",\n" + inner
            _encode(item, inner, parts, write)
        parts.append("\n" + indent + "]")
        if len(parts) > _FLUSH_EVERY:
            write("".join(parts))
            parts.clear()
    elif value is None or value is True or value is False:
        parts.append(_CONSTANTS[value])
    elif type(value) is int:
        parts.append(int.__repr__(value))
    else:  # floats and anything else: as the standard library writes them
        parts.append(json.dumps(value))
