"""A check report as the render cache keeps it whole (``cache.Result``): JSON, read back the
same (the waivers are the configuration's, the stray ones named by their place in it)."""

from __future__ import annotations

from typing import Any

from ..statements.fail_on import Waiver
from .check_report import CheckReport

_TABLES = ("unrenderable", "irreversible", "findings")  # the report's tables: tuple key -> dialects


def report_content(report: CheckReport) -> dict[str, Any]:
    """The report as the result cache keeps it (JSON; the waivers are the configuration's)."""
    return {"revisions": report.revisions, "dialects": list(report.dialects), "steps": list(report.steps),
            "reproducibility": report.reproducibility,
            "strays": [report.waivers.index(waiver) for waiver in report.strays],
            **{table: [[list(key), names] for key, names in getattr(report, table).items()]
               for table in _TABLES}}


def report_from(content: dict[str, Any], waivers: tuple[Waiver, ...]) -> CheckReport | None:
    """The report ``report_content`` gave (None if it does not read as one)."""
    try:
        reproducibility = dict(content["reproducibility"])
        if not isinstance(reproducibility.get("checked"), bool) or not all(
                isinstance(note, str) for note in reproducibility.get("notes", ())):
            return None
        report = CheckReport(int(content["revisions"]), tuple(map(str, content["dialects"])),
                             reproducibility=reproducibility, waivers=waivers,
                             steps=tuple(map(str, content["steps"])),
                             strays=tuple(waivers[int(index)] for index in content["strays"]))
        for table in _TABLES:
            setattr(report, table, {tuple(map(str, key)): [str(n) for n in names]
                                    for key, names in content[table]})
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return report
