"""What the manifest says about each step, compared with the files it describes.

The manifest's file digests prove the SQL files are the ones it names, but the rest of it (which
revision a step is, its number, its destructive findings) is only as true as the hand that wrote
it: someone who edits it and re-hashes SHA256SUMS could rename a step or clear its DESTRUCTIVE
findings. Each SQL file says the same in its header and its annotations; these must agree.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..bundle.files import BundleTree
from ..history.plan import revision_label
from ..names import one_line
from ..statements.findings import KINDS, LABELS

_ANNOTATION = re.compile(r"^-- (" + "|".join(LABELS[kind] for kind in KINDS) + r"): (.*)$")
_KIND_OF = {LABELS[kind]: kind for kind in KINDS}
_HEADER_LINES = 12  # the step line is in the header, before any SQL

Add = Callable[[str, str, str], None]


def check_steps(files: BundleTree, manifest: dict[str, Any], add: Add) -> None:
    """Findings (``add(kind, path, detail)``) where the top-level steps, each dialect's steps and
    the step files disagree."""
    top = [(step["number"], step["revision"]) for step in manifest["steps"]]
    if [number for number, _ in top] != list(range(1, len(top) + 1)):
        add("manifest", "manifest.json", "its steps are not numbered 1, 2, 3, ... in order")
    messages = {step["revision"]: step.get("message", "") for step in manifest["steps"]}
    for step in manifest["steps"]:
        source = step.get("source")
        if source in files and files.digest(source) != step.get("script_sha256"):
            add("manifest", source, f"its sha256 differs from the script_sha256 manifest.json gives "
                f"revision {step['revision']}")
    for name, entry in sorted(manifest["dialects"].items()):
        steps = entry.get("steps", [])
        if [(step["number"], step["revision"]) for step in steps] != top:
            add("manifest", "manifest.json", f"the {name} steps are not the manifest's steps "
                "(revisions or numbers differ)")
        for step in steps:
            for key, direction in (("up", "upgrade"), ("down", "downgrade")):
                if key in step and step[key]["file"] in files:
                    heading = f"{step['number']:04d} of {len(top)}: {direction} " + \
                        revision_label(step["revision"], one_line(messages.get(step["revision"], "")))
                    _check_file(files, step[key], heading, add)


def _check_file(files: BundleTree, entry: dict[str, Any], heading: str, add: Add) -> None:
    path = entry["file"]
    found: dict[str, list[str]] = {kind: [] for kind in KINDS}
    header = ""
    with open(files.root / path, encoding="utf-8", errors="replace") as text:
        for number, line in enumerate(text, 1):
            line = line.rstrip("\r\n")
            if number <= _HEADER_LINES and line.startswith("-- step ") and not header:
                header = line[len("-- step "):]
            match = _ANNOTATION.match(line)
            if match:
                found[_KIND_OF[match[1]]].append(match[2])
    if header != heading:
        add("manifest", path, f"manifest.json describes it as step {one_line(heading)[:200]}, but the "
            f"file says {one_line(header)[:200] or 'no step'}")
    for kind in KINDS:
        listed = [one_line(item) for item in entry.get(kind, [])]
        if Counter(listed) != Counter(found[kind]):
            add("manifest", path, f"manifest.json lists {len(listed)} {LABELS[kind]} finding(s) for it, "
                f"the file is annotated with {len(found[kind])} (or they differ)")
