"""Names that come from users and reach file names: checked here, with full matches."""

from __future__ import annotations

import re

from .errors import DistillError

_RELEASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


def check_release_name(name: str) -> str:
    """``name`` if it is a plain release name usable as a directory name; DistillError otherwise."""
    if not _RELEASE_NAME.fullmatch(name or "") or ".." in name:
        raise DistillError(
            f"{name!r} is not a plain release name: use letters, digits and . _ + - (at most 64, "
            "starting with a letter or digit, no '..'), not a path, spaces or control characters"
        )
    return name
