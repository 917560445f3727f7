"""The DBA's runbook, README.md of every bundle (templates/runbook.md.mako), from the manifest."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .. import dialects
from ..history.scripts import display_revisions
from ..resources import template
from ..statements.findings import (
    COMPATIBILITY,
    DATA_LOSS,
    DESTRUCTIVE,
    NOT_REPRODUCIBLE,
    NOTICE_KINDS,
    PRINTED,
    STATEMENT_KINDS,
)
from ..statements.row_changes import NOT_RESTORED, PROBABLE_RENAMES, STEP_VERDICTS
from ..statements.timeouts import Timeouts
from .signing import verify_command

# what Markdown (CommonMark and GitHub's) reads as markup inside a line: emphasis, code, links,
# images, HTML, entities, headings, strikethrough, table cells, and the backslash itself (an
# underscore between letters or digits, as in table_name, emphasizes nothing and is left as it is)
_MARKDOWN_ACTIVE = re.compile(r"([\\`*\[\]<>!#|~&]|(?<![^\W_])_|_(?![^\W_]))")


def _markdown_cell(text: str) -> str:
    """Text from a revision, a waiver or the configuration, shown literally in the runbook: every
    Markdown-active character backslash-escaped (no link, image, HTML or emphasis of its own)."""
    return _MARKDOWN_ACTIVE.sub(r"\\\1", str(text).replace("\n", " "))


def _table_cell(text: str) -> str:
    """distill's own text (the dialects' facts, with their `code`) made a table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _findings_by_step(manifest: dict[str, Any]) -> dict[tuple[str, str], list[tuple[str, list[str]]]]:
    """(revision, kind) -> [(message, dialects)] of the upgrade findings, across dialects."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for name, entry in manifest["dialects"].items():
        for step in entry["steps"]:
            for kind in STATEMENT_KINDS:
                for message in step.get("up", {}).get(kind, []):
                    seen.setdefault((step["revision"], kind), {}).setdefault(message, []).append(name)
    return {key: list(messages.items()) for key, messages in seen.items()}


def _verdicts_by_step(manifest: dict[str, Any]) -> dict[tuple[str, str], list[tuple[str, list[str]]]]:
    """(revision, verdict) -> [(message, dialects)] of what comparing a step's two directions found."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = {}
    for name, entry in manifest["dialects"].items():
        for step in entry["steps"]:
            for key in STEP_VERDICTS:
                for message in step.get(key, []):
                    seen.setdefault((step["revision"], key), {}).setdefault(message, []).append(name)
    return {key: list(messages.items()) for key, messages in seen.items()}


def _notices(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Manual steps, warnings and what did not render the same twice, of every step in both
    directions, each once with its dialects."""
    seen: dict[tuple[str, str, str, str], list[str]] = {}
    for name, entry in manifest["dialects"].items():
        for step in entry["steps"]:
            for direction, key in (("upgrade", "up"), ("downgrade", "down")):
                for kind in (*NOTICE_KINDS, NOT_REPRODUCIBLE):
                    for message in (step.get(key) or {}).get(kind, []):
                        seen.setdefault((step["revision"], direction, kind, message), []).append(name)
    numbers = {step["revision"]: step["number"] for step in manifest["steps"]}
    return [{"number": numbers.get(revision, "?"), "revision": revision, "direction": direction,
             "kind": kind, "message": message,
             "where": "" if len(names) == len(manifest["dialects"]) else " (" + ", ".join(names) + ")"}
            for (revision, direction, kind, message), names in seen.items()]


def _printed(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """What each step printed (console output), each once with its dialects, and the backtick
    fence that holds its lines."""
    seen: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for name, entry in manifest["dialects"].items():
        for step in entry["steps"]:
            for direction, key in (("upgrade", "up"), ("downgrade", "down")):
                lines = tuple((step.get(key) or {}).get(PRINTED, ()))
                if lines:
                    seen.setdefault((step["revision"], direction, lines), []).append(name)
    numbers = {step["revision"]: step["number"] for step in manifest["steps"]}
    return [{"number": numbers.get(revision, "?"), "revision": revision, "direction": direction,
             "lines": list(lines), "fence": _fence(lines),
             "where": "" if len(names) == len(manifest["dialects"]) else " (" + ", ".join(names) + ")"}
            for (revision, direction, lines), names in seen.items()]


def _fence(lines: tuple[str, ...]) -> str:
    """A backtick fence longer than any run of backticks in ``lines``."""
    longest = max((len(run) for line in lines for run in re.findall("`+", line)), default=0)
    return "`" * max(3, longest + 1)


def _step_notes(step: dict[str, Any], findings: dict[str, list]) -> str:
    notes = []
    if step["merge_point"]:
        notes.append("merge")
    if step["branch_point"]:
        notes.append("branch point")
    if step["depends_on"]:
        notes.append("depends on " + ", ".join(step["depends_on"]))
    if not step["reversible"]:
        notes.append("IRREVERSIBLE: " + step["irreversible_reason"])
    if findings[DESTRUCTIVE]:
        notes.append("DESTRUCTIVE")
    if findings[DATA_LOSS]:
        notes.append("DATA LOSS")
    if findings[NOT_RESTORED]:
        notes.append("DATA NOT RESTORED by the downgrade")
    if findings[PROBABLE_RENAMES]:
        notes.append("PROBABLE RENAME: data lost")
    if findings[COMPATIBILITY]:
        notes.append("breaks the running application (rolling deploys)")
    return "; ".join(notes)


def _points_of_no_return(manifest: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(revision, reason, "all" or the dialects) of each point of no return."""
    grouped: dict[tuple[str, str], list[str]] = {}
    for name, entry in manifest["dialects"].items():
        point = entry["point_of_no_return"]
        if point:
            grouped.setdefault((point["revision"], point["reason"]), []).append(name)
    return [(rev, why, "all" if len(names) == len(manifest["dialects"]) else ", ".join(names))
            for (rev, why), names in sorted(grouped.items())]


def runbook(manifest: dict[str, Any], version_table: str) -> str:
    """The runbook's text. ``version_table``: the table the guards read, as the DBA names it."""
    rows = [{"title": entry["title"],
             "upgrade_command": entry["client"].format(file=f"{name}/upgrade.sql"),
             "downgrade_command": entry["client"].format(file=f"{name}/downgrade.sql"),
             "on_error": dialects.get(name).client.on_error,
             "resume": dialects.get(name).client.resume.format(version_table=version_table)}
            for name, entry in manifest["dialects"].items()]
    by_message = {**_findings_by_step(manifest), **_verdicts_by_step(manifest)}
    steps = []
    for step in manifest["steps"]:
        findings = {kind: by_message.get((step["revision"], kind), [])
                    for kind in (*STATEMENT_KINDS, *STEP_VERDICTS)}
        steps.append({**step, "notes": _step_notes(step, findings), **findings})
    start, target = manifest["range"]["from"], manifest["range"]["to"]
    return template("runbook.md.mako", one_line=True).render(
        project=manifest["project"], release=manifest["release"], versions=manifest["generator"],
        style=manifest["options"]["format"], range_from=display_revisions(start),
        range_to=display_revisions(target), steps=steps, dialects=rows, version_table=version_table,
        starts_at_base=not start, md=_markdown_cell, cell=_table_cell, points=_points_of_no_return(manifest),
        all_dialects=len(manifest["dialects"]), notices=_notices(manifest),
        signature_command=verify_command(), shadows=_shadows(manifest),
        timeouts=Timeouts(manifest["options"].get("lock_timeout_ms"),
                          manifest["options"].get("statement_timeout_ms")).describe(),
        record_table=manifest["options"].get("record_table"), point=_downgrade_end(manifest),
        no_sql_rollback=_nothing_reverts(manifest),
        printed=_printed(manifest),
        reproducibility_check=manifest["options"].get("reproducibility_check", True) is not False,
        waivers=_waivers(manifest), waived=_waived_marks(manifest),
    )


def _waivers(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The manifest's waivers, each with its step number and its findings in words."""
    numbers = {step["revision"]: step["number"] for step in manifest["steps"]}
    return [{**waiver, "number": numbers.get(waiver["revision"], "?"),
             "narrowed": ", ".join([waiver[k] for k in ("dialect", "direction") if k in waiver] + (
                 [f"message contains '{waiver['match']}'"] if "match" in waiver else [])),
             "covered": [f"{f['dialect']} {f['direction']}: {f['message']}" for f in waiver["findings"]]}
            for waiver in manifest.get("waivers", [])]


def _waived_marks(manifest: dict[str, Any]) -> Callable[[str, str, str, list[str]], str]:
    """mark(revision, kind, message, dialects): " (waived by ...: ...)" when a waiver covers the
    upgrade finding in each of those dialects, "" otherwise."""
    by_finding = {(waiver["revision"], f["kind"], f["message"], f["dialect"]):
                  f"waived by {waiver['approver']}: {waiver['reason']}"
                  for waiver in manifest.get("waivers", []) for f in waiver["findings"]
                  if f["direction"] == "upgrade"}

    def mark(revision: str, kind: str, message: str, names: list[str]) -> str:
        found = [(name, by_finding.get((revision, kind, message, name))) for name in names]
        if all(m is None for _, m in found):
            return ""
        if len({m for _, m in found}) == 1:
            return f" ({found[0][1]})"
        return " (" + "; ".join(f"{name}: {m or 'not waived'}" for name, m in found) + ")"
    return mark


def _nothing_reverts(manifest: dict[str, Any]) -> bool:
    """True when no dialect's downgrade reverts any step: each stops at its point of no return
    before reverting anything (no step has a downgrade file)."""
    entries = manifest["dialects"].values()
    return all(entry["point_of_no_return"] for entry in entries) and \
        not any("down" in step for entry in entries for step in entry["steps"])


def _downgrade_end(manifest: dict[str, Any]) -> str:
    """Where the downgrade leaves the version table: the range's start, or (at a point of no return
    in every dialect) the revision it stops at."""
    points = {entry["point_of_no_return"]["revision"] for entry in manifest["dialects"].values()
              if entry["point_of_no_return"]}
    if len(points) == 1:
        return f"`{points.pop()}` (the point of no return)"
    start = manifest["range"]["from"]
    return f"`{display_revisions(start)}`" if start else "nothing (an empty version table: base)"


def _shadows(manifest: dict[str, Any]) -> str:
    """How the dialects' shadow databases are described ("" when rendered offline)."""
    described = []
    for name, entry in manifest["dialects"].items():
        shadow = entry.get("shadow")
        if shadow:
            kind = "throwaway" if shadow["kind"] == "throwaway" else "given by --shadow-url"
            rows = ", holding rows" if shadow["held_data"] else ""
            described.append(f"{name}: {kind}, server {shadow['server_version']}{rows}")
    return "; ".join(described)
