"""Which findings the configured waivers (``[[tool.distill.waivers]]``, ``fail_on.Waiver``)
acknowledge: in a check report, and in a bundle's manifest, where each waiver is recorded with
the findings it covers (so that the signature covers them too).

A finding is waived, dialect by dialect, by the first waiver that covers it; a waiver that
covers nothing it could cover is itself a finding (``CheckReport.unused_waivers``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .fail_on import IRREVERSIBLE, Waiver
from .findings import (
    COMPATIBILITY,
    DATA_DEPENDENT,
    DATA_LOSS,
    DESTRUCTIVE,
    LOCK_RISK,
    MANUAL_STEPS,
    NOT_REPRODUCIBLE,
    WARNING,
)
from .row_changes import NOT_RESTORED, PROBABLE_RENAMES, STEP_VERDICTS

# a finding's kind in a report or manifest -> the policy kind that covers it (and waives it)
POLICY_OF = {DESTRUCTIVE: "destructive", DATA_LOSS: "data-loss", NOT_RESTORED: "data-loss",
             PROBABLE_RENAMES: "data-loss", LOCK_RISK: "lock-risk", COMPATIBILITY: "compatibility",
             NOT_REPRODUCIBLE: "not-reproducible",
             MANUAL_STEPS: "manual-steps", WARNING: "warnings", DATA_DEPENDENT: "data-dependent",
             IRREVERSIBLE: IRREVERSIBLE}
# "unused waiver": the kind of the finding a waiver that covers nothing is
UNUSED_WAIVER = "unused_waiver"


def waiver_of(waivers: Iterable[Waiver], kind: str, revision: str, direction: str, message: str,
              dialect: str) -> Waiver | None:
    """The first of ``waivers`` that covers the finding (a report ``kind``) in ``dialect``."""
    policy = POLICY_OF.get(kind, kind)
    return next((w for w in waivers if w.covers(policy, revision, direction, message, dialect)), None)


def split(waivers: tuple[Waiver, ...], kind: str, revision: str, direction: str, message: str,
          names: Iterable[str]) -> list[tuple[Waiver | None, list[str]]]:
    """The dialects ``names`` of one finding grouped by the waiver that covers it in each (None:
    not waived), in the order of ``names``."""
    groups: dict[Waiver | None, list[str]] = {}
    for name in names:
        groups.setdefault(waiver_of(waivers, kind, revision, direction, message, name), []).append(name)
    return list(groups.items())


def _manifest_findings(manifest: dict[str, Any]) -> Iterable[tuple[str, str, str, str, str]]:
    """(revision, direction, kind, message, dialect) of every finding a manifest records."""
    reasons = {step["revision"]: step["irreversible_reason"] for step in manifest["steps"]
               if not step["reversible"]}
    for name, entry in manifest["dialects"].items():
        point = entry["point_of_no_return"]
        for step in entry["steps"]:
            revision = step["revision"]
            for direction, key in (("upgrade", "up"), ("downgrade", "down")):
                for kind, messages in sorted((step.get(key) or {}).items()):
                    if kind in POLICY_OF:
                        yield from ((revision, direction, kind, m, name) for m in messages)
            for kind in STEP_VERDICTS:
                yield from ((revision, "upgrade", kind, m, name) for m in step.get(kind, []))
            if revision in reasons:
                yield revision, "downgrade", IRREVERSIBLE, reasons[revision], name
            elif point and point["revision"] == revision:
                yield revision, "downgrade", IRREVERSIBLE, point["reason"], name


def manifest_waivers(waivers: tuple[Waiver, ...], manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The waivers of the bundle's revisions, each with the findings of the manifest it covers
    (``findings`` empty: it covers none of them), in the configured order."""
    revisions = {step["revision"] for step in manifest["steps"]}
    mine = tuple(w for w in waivers if w.revision in revisions)
    covered: dict[Waiver, list[dict[str, str]]] = {w: [] for w in mine}
    for revision, direction, kind, message, name in _manifest_findings(manifest):
        waiver = waiver_of(mine, kind, revision, direction, message, name)
        if waiver is not None:
            covered[waiver].append({"dialect": name, "direction": direction, "kind": kind,
                                    "message": message})
    return [{**w.to_json(), "findings": covered[w]} for w in mine]
