"""The three faces of a DiffReport: text (colour only on a terminal), JSON, and one
self-contained HTML page (side by side, no network, readable on screen and on paper)."""

from __future__ import annotations

import difflib
import json
from typing import Any

import click

from ..history.scripts import display_revisions
from ..names import one_line
from ..resources import template
from ..terminal import visible
from .bundle_diff import DiffReport


def _range(side) -> str:
    rng = side.manifest.get("range", {})
    return f"{display_revisions(rng.get('from', []))} -> {display_revisions(rng.get('to', []))}"


def as_json(report: DiffReport) -> str:
    """The report as stable JSON (schemas/diff-1.json)."""
    return json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _diff_lines(unified: list[str]) -> list[str]:
    """Unified diff lines, indented and coloured; a crafted bundle's control characters shown as
    their escapes (``terminal.visible``), not removed, so a reviewer sees them."""
    out = []
    for line in (visible(line.rstrip("\n")) for line in unified):
        colour = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        out.append("    " + (click.style(line, fg=colour) if colour else line))
    return out


def manifest_value(value: Any, limit: int = 200) -> str:
    """A manifest value as one line of JSON, cut at ``limit`` characters (a crafted manifest's
    text without control characters)."""
    text = one_line(json.dumps(value, ensure_ascii=False, sort_keys=True))
    return text if len(text) <= limit else text[:limit] + "…"


def as_text(report: DiffReport) -> str:
    """The report as text for a terminal (click strips the colour elsewhere). Each line is made
    visible (``terminal.visible``) before it is coloured: a bundle's text cannot bring its own."""
    red = lambda t: click.style(visible(t), fg="red", bold=True)  # noqa: E731
    lines = [visible(f"distill diff {report.old.label} {report.new.label}"),
             visible(f"  old: release {report.old.manifest.get('release')} ({_range(report.old)})"),
             visible(f"  new: release {report.new.manifest.get('release')} ({_range(report.new)})")]
    if report.edited:
        lines.append(red(f"EDITED AFTER RELEASE: {len(report.edited)} revision script(s) changed "
                         "after they were shipped"))
        for e in report.edited:
            lines.append(red(f"  {e['revision']} ({e['message']}) {e['script']}: sha256 "
                             f"{e['old_sha256'] or ''} -> {e['new_sha256'] or ''}"))
            lines += _diff_lines(e.get("source_diff", []))  # the Python, above the SQL it changed
    added_title, removed_title = report.titles()
    for title, items, mark, colour in ((added_title, report.added, "+", "green"),
                                       (removed_title, report.removed, "-", "red")):
        if items:
            lines.append(f"{title}: {len(items)}")
            lines += [click.style(visible(f"  {mark} {s['revision']} {s['message']}"), fg=colour)
                      for s in items]
    for title, items in (("generator versions changed", report.generator),
                         ("options changed", report.options)):
        if items:
            lines.append(f"{title}: {len(items)}")
            lines += [visible(f"  {c['key']}: {c['old']} -> {c['new']}") for c in items]
    for release, by_dialect in report.schema.items():
        lines.append(visible(f"schema changes of release {one_line(release)}:"))
        for dialect, categories in by_dialect.items():
            lines += [visible(f"  {dialect}: {category}: {', '.join(map(one_line, names))}")
                      for category, names in categories.items()] or [visible(f"  {dialect}: none")]
    if report.sql:
        changes = report.changes()
        lines.append(f"SQL differences: {len(report.sql)} in {len(changes)} distinct change(s), each "
                     "shown once" + (" (ignoring formatting)" if report.ignore_formatting else ""))
        for change in changes:
            lines.append(click.style(visible(f"  {one_line(change['places'])}:"), bold=True))
            lines += _diff_lines(change["first"].unified[2:])
    if report.runbook:
        lines.append("runbook (README.md) differs:")
        lines += _diff_lines(report.runbook)
    if report.manifest:
        lines.append(f"manifest fields changed: {len(report.manifest)}")
        lines += [visible(f"  {one_line(c['field'])}: {manifest_value(c['old'])} -> "
                          f"{manifest_value(c['new'])}") for c in report.manifest]
    summary = report.summary()
    lines.append("summary: " + ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in summary.items()))
    lines.append("differences found" if report.differs else "no differences")
    return "\n".join(lines) + "\n"


def side_by_side(old: str, new: str, context: int = 3) -> list[dict[str, Any]]:
    """Rows of a side-by-side diff: kind (same, del, ins, chg, gap), line numbers and texts;
    unchanged runs are cut to ``context`` lines around each change."""
    rows = _all_rows(old, new)
    changed = [i for i, row in enumerate(rows) if row["kind"] != "same"]
    keep = {j for i in changed for j in range(i - context, i + context + 1)}
    out: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if i in keep:
            out.append(row)
        elif not out or out[-1]["kind"] != "gap":
            out.append({"kind": "gap", "old_no": "", "old": "…", "new_no": "", "new": "…"})
    return out


def _all_rows(old: str, new: str) -> list[dict[str, Any]]:
    a, b = old.splitlines(), new.splitlines()
    rows = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += [{"kind": "same", "old_no": i + 1, "old": a[i], "new_no": j + 1, "new": b[j]}
                     for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        kind = {"delete": "del", "insert": "ins", "replace": "chg"}[tag]
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            rows.append({"kind": kind,
                         "old_no": i + 1 if i < i2 else "", "old": a[i] if i < i2 else "",
                         "new_no": j + 1 if j < j2 else "", "new": b[j] if j < j2 else ""})
    return rows


def as_html(report: DiffReport) -> str:
    """The report as one self-contained HTML page."""
    return template("diff_report.html.mako").render(
        report=report, data=report.to_json(), old_range=_range(report.old),
        new_range=_range(report.new), side_by_side=side_by_side, manifest_value=manifest_value,
    )
