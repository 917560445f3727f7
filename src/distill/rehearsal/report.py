"""A rehearsal's report: each phase passed or failed, with what differed and what could not be
compared."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Phase:
    name: str
    passed: bool
    detail: str = ""
    differences: list[str] = field(default_factory=list)
    # what online Alembic itself writes differently on each run, so it was not compared
    not_comparable: list[str] = field(default_factory=list)
    # after a downgrade: what it leaves that the start did not have (online Alembic leaves it too)
    not_restored: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.name, "passed": self.passed, "detail": self.detail,
                "differences": self.differences, "not_comparable": self.not_comparable,
                "not_restored": self.not_restored}


@dataclass
class Rehearsal:
    bundle: str
    dialect: str
    target: str  # "temporary SQLite file" or the server URL without password
    phases: list[Phase] = field(default_factory=list)
    # what the phases did not prove (steps proven on empty tables only), or what they ran on
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.phases) and all(p.passed for p in self.phases)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "dialect": self.dialect, "database": self.target,
                "passed": self.passed, "phases": [p.to_json() for p in self.phases], "notes": self.notes}

    def text(self) -> str:
        width = max(len(p.name) for p in self.phases) if self.phases else 10
        lines = [f"distill rehearse {self.bundle} ({self.dialect}, {self.target})"]
        for p in self.phases:
            lines.append(f"  {'PASS' if p.passed else 'FAIL'}  {p.name:<{width}}  {p.detail}".rstrip())
            lines += [f"        not comparable (online Alembic differs between runs): {n}"
                      for n in p.not_comparable]
            lines += [f"        not restored (online Alembic's own downgrade leaves it too): {n}"
                      for n in p.not_restored]
            lines += [f"        {d}" for d in p.differences[:40]]
            if len(p.differences) > 40:
                lines.append(f"        ... and {len(p.differences) - 40} more")
        lines += [f"  note: {note}" for note in self.notes]
        lines.append("REHEARSAL PASSED" if self.passed else "REHEARSAL FAILED")
        return "\n".join(lines)
