"""What ``distill check`` reports: per revision, what cannot render, what is irreversible, and
the findings, each with the dialects it holds in and the waiver that covers it; as text and JSON.
Kept whole in the render cache (``check_cached``): a warm check reads it without rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..names import revision_label
from ..statements.fail_on import IRREVERSIBLE, Waiver
from ..statements.findings import (
    COMPATIBILITY,
    DATA_DEPENDENT,
    DATA_LOSS,
    DESTRUCTIVE,
    LOCK_RISK,
    MANUAL_STEPS,
    NOT_REPRODUCIBLE,
    WARNING,
)
from ..statements.row_changes import NOT_RESTORED, PROBABLE_RENAMES
from ..statements.waivers import UNUSED_WAIVER, split

# (JSON key, kind) and (text title, kind) of the findings the report lists, in order
_FINDING_KEYS = (("destructive", DESTRUCTIVE), ("data_loss", DATA_LOSS), (NOT_RESTORED, NOT_RESTORED),
                 (PROBABLE_RENAMES, PROBABLE_RENAMES), ("lock_risk", LOCK_RISK),
                 (COMPATIBILITY, COMPATIBILITY),
                 ("manual_steps", MANUAL_STEPS), ("warnings", WARNING),
                 ("not_reproducible", NOT_REPRODUCIBLE), ("data_dependent", DATA_DEPENDENT))
_FINDING_TITLES = (("DESTRUCTIVE", DESTRUCTIVE), ("DATA LOSS", DATA_LOSS),
                   ("DATA NOT RESTORED", NOT_RESTORED), ("PROBABLE RENAME", PROBABLE_RENAMES),
                   ("LOCK RISK", LOCK_RISK), ("COMPATIBILITY", COMPATIBILITY),
                   ("MANUAL STEPS", MANUAL_STEPS), ("WARNINGS", WARNING),
                   ("NOT REPRODUCIBLE", NOT_REPRODUCIBLE), ("DATA-DEPENDENT", DATA_DEPENDENT))


@dataclass
class CheckReport:
    revisions: int
    dialects: tuple[str, ...]
    # (revision, message, direction, location, cause, fix) -> dialects
    unrenderable: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    irreversible: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)
    findings: dict[tuple[str, str, str, str], list[str]] = field(default_factory=dict)
    shadow: bool = False  # rendered against a shadow database
    # whether the second rendering compared anything, and what it says about itself
    reproducibility: dict[str, Any] = field(default_factory=lambda: {"checked": True, "notes": []})
    waivers: tuple[Waiver, ...] = ()  # the configured ones ([[tool.distill.waivers]])
    steps: tuple[str, ...] = ()  # the revisions checked
    strays: tuple[Waiver, ...] = ()  # waivers naming no revision of the history

    def waived(self, kind: str, revision: str, direction: str, message: str,
               names: list[str]) -> list[tuple[Waiver | None, list[str]]]:
        """A finding's dialects grouped by the waiver that covers it in each (None: not waived)."""
        return split(self.waivers, kind, revision, direction, message, names)

    def unused_waivers(self) -> list[Waiver]:
        """The waivers that cover no finding they could cover: their revision was checked and
        rendered in their dialect(s), with what finds their kind (a second rendering, a shadow);
        and those that name no revision of the history."""
        used = {waiver for (revision, _, reason), names in self.irreversible.items()
                for waiver, _ in self.waived(IRREVERSIBLE, revision, "downgrade", reason, names)}
        used |= {waiver for (revision, direction, kind, message), names in self.findings.items()
                 for waiver, _ in self.waived(kind, revision, direction, message, names)}
        unrendered = {(key[0], name) for key, names in self.unrenderable.items() for name in names}
        return [w for w in self.waivers
                if w not in used and (w in self.strays or self._judged(w, unrendered))]

    def _judged(self, waiver: Waiver, unrendered: set[tuple[str, str]]) -> bool:
        """Whether this check could have found what ``waiver`` covers."""
        names = (waiver.dialect,) if waiver.dialect else self.dialects
        return (waiver.revision in self.steps and all(name in self.dialects for name in names)
                and not any((waiver.revision, name) in unrendered for name in names)
                and (waiver.kind != "not-reproducible" or self.reproducibility["checked"])
                and (waiver.kind != "data-dependent" or self.shadow))

    def unused_message(self, waiver: Waiver) -> str:
        if waiver in self.strays:
            return (f"waiver {waiver.number} ({waiver.scope()}) names no revision of the history "
                    "(give the full revision id)")
        return f"waiver {waiver.number} ({waiver.scope()}) matches no finding: remove it"

    @property
    def ok(self) -> bool:
        return not self.unrenderable

    def _where(self, names: list[str]) -> str:
        return "all dialects" if len(names) == len(self.dialects) else ", ".join(names)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "revisions": self.revisions,
            "dialects": list(self.dialects),
            "cannot_render": [
                {"revision": k[0], "message": k[1], "direction": k[2], "location": k[3],
                 "cause": k[4], "fix": k[5], "dialects": v} for k, v in self.unrenderable.items()],
            "irreversible": [{"revision": k[0], "message": k[1], "reason": k[2], "dialects": names,
                              **_waiver_json(waiver)}
                             for k, v in self.irreversible.items()
                             for waiver, names in self.waived(IRREVERSIBLE, k[0], "downgrade", k[2], v)],
            **{key: [{"revision": k[0], "direction": k[1], "message": k[3], "dialects": names,
                      **_waiver_json(waiver)}
                     for k, v in self.findings.items() if k[2] == kind
                     for waiver, names in self.waived(kind, k[0], k[1], k[3], v)]
               for key, kind in _FINDING_KEYS},
            "reproducibility": self.reproducibility,
            **({UNUSED_WAIVER + "s": [{**w.to_json(), "message": self.unused_message(w)}
                                      for w in self.unused_waivers()]} if self.waivers else {}),
        }

    def text(self) -> str:
        lines = [f"distill check: {self.revisions} revision(s) x {len(self.dialects)} dialect(s) "
                 f"({', '.join(self.dialects)}), each rendered on its own, up and down"]
        sections = [
            ("CANNOT RENDER" + ("" if self.shadow else " OFFLINE"), [
                f"{revision_label(k[0], k[1])}, {k[2]}, {self._where(v)}: {k[3]}: {k[4]}. {k[5]}"
                for k, v in self.unrenderable.items()]),
            ("IRREVERSIBLE", [f"{revision_label(k[0], k[1])}: {k[2]} [{self._where(names)}]{_marked(waiver)}"
                              for k, v in self.irreversible.items()
                              for waiver, names in self.waived(IRREVERSIBLE, k[0], "downgrade", k[2], v)]),
            *[(title, [f"{k[0]} {k[1]}: {k[3]} [{self._where(names)}]{_marked(waiver)}"
                       for k, v in self.findings.items() if k[2] == kind
                       for waiver, names in self.waived(kind, k[0], k[1], k[3], v)])
              for title, kind in _FINDING_TITLES],
            *([("UNUSED WAIVERS", [self.unused_message(w) for w in self.unused_waivers()])]
              if self.waivers else []),
        ]
        for title, items in sections:
            lines.append(f"{title}: {len(items)}")
            lines += [f"  {item}" for item in items]
        if not self.reproducibility["checked"]:
            lines.append(f"REPRODUCIBILITY NOT CHECKED: {self.reproducibility['notes'][0]}")
        lines += [f"REPRODUCIBILITY: {note}" for note in self.reproducibility["notes"]
                  if self.reproducibility["checked"]]
        how = "against the shadow database" if self.shadow else "offline"
        lines.append(f"OK: every revision renders {how}" if self.ok else
                     f"FAILED: {len(self.unrenderable)} problem(s) keep revisions from rendering {how}")
        return "\n".join(lines)


def _marked(waiver: Waiver | None) -> str:
    """What a waived finding's line ends with in the text report."""
    return "" if waiver is None else f" WAIVED by {waiver.approver}: {waiver.reason}"


def _waiver_json(waiver: Waiver | None) -> dict[str, Any]:
    return {} if waiver is None else {"waived": {"reason": waiver.reason, "approver": waiver.approver,
                                                 "waiver": waiver.number}}
