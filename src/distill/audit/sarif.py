"""A check report as SARIF 2.1.0 (``distill check --format sarif``), the format code-scanning
services read: one run, one rule per kind of finding, one result per finding at the revision
script's line, a waived finding as a result with an accepted external suppression.

The same report gives the same bytes: rules in a fixed order, results in the report's, no time,
host or absolute path."""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..history.scripts import History
from ..names import one_line
from ..statements.fail_on import IRREVERSIBLE, UNRENDERABLE
from ..statements.waivers import POLICY_OF, UNUSED_WAIVER
from .check_policy import Item, items, script_line, text
from .check_report import CheckReport

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_DESCRIPTIONS = {
    UNRENDERABLE: "The revision cannot be rendered as SQL for this dialect",
    IRREVERSIBLE: "The downgrade does nothing or raises: the step cannot be reverted",
    "destructive": "The statement drops a table, column or constraint, or changes every row",
    "data_loss": "The statement deletes or overwrites existing rows",
    "data_not_restored": "The downgrade does not write back rows the upgrade deletes or overwrites",
    "probable_renames": "A drop and an add of the same type: probably a rename, whose data is lost",
    "lock_risk": "The statement can lock a busy table for long",
    "not_reproducible": "The step renders different SQL when rendered again",
    "manual_steps": "The revision prints instructions for whoever applies its SQL by hand",
    "warning": "A Python warning was raised while the step rendered",
    "data_dependent": "The step read rows of application tables from the shadow database",
    UNUSED_WAIVER: "A configured waiver covers no finding",
}
# every kind of finding, in a fixed order (a result's ruleIndex)
RULES = (UNRENDERABLE, IRREVERSIBLE, *(kind for kind in POLICY_OF if kind != IRREVERSIBLE), UNUSED_WAIVER)


def rule_id(kind: str) -> str:
    return kind.replace("_", "-")


def _rule(kind: str) -> dict[str, Any]:
    policy = POLICY_OF.get(kind, UNRENDERABLE if kind == UNRENDERABLE else "the kind it waives")
    return {"id": rule_id(kind), "name": "".join(part.title() for part in kind.split("_")),
            "shortDescription": {"text": _DESCRIPTIONS.get(kind, kind.replace("_", " ").capitalize())},
            "defaultConfiguration": {"level": "warning"},
            "properties": {"fail_on": policy}}


def _result(item: Item, history: History, kinds: frozenset[str], rules: list[str]) -> dict[str, Any]:
    path, line = script_line(item, history)
    fingerprint = hashlib.sha256("\0".join((item.rule, item.revision, item.direction, item.message,
                                           *item.dialects)).encode("utf-8")).hexdigest()
    result: dict[str, Any] = {
        "ruleId": rule_id(item.rule),
        "ruleIndex": rules.index(item.rule),
        "level": "error" if item.kind in kinds and item.waiver is None else "warning",
        "message": {"text": text(item)},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": quote(path)},
                                            "region": {"startLine": line}}}],
        "partialFingerprints": {"distillFinding/v1": fingerprint},
        "properties": {"revision": one_line(item.revision), "direction": item.direction,
                       "dialects": list(item.dialects)},
    }
    waiver = item.waiver
    if waiver is not None:
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": f"{waiver.reason} (approved by {waiver.approver})",
                                   "properties": {"approver": waiver.approver, "reason": waiver.reason,
                                                  "waiver": waiver.number}}]
    return result


def sarif(report: CheckReport, history: History, kinds: frozenset[str]) -> dict[str, Any]:
    """The SARIF log of ``report``: a result's level is ``error`` when it fails the check under
    ``kinds`` (``--fail-on``), ``warning`` otherwise. A kind of finding not in RULES (a new
    one) gets its rule after them."""
    found = list(items(report))
    rules = [*RULES, *dict.fromkeys(item.rule for item in found if item.rule not in RULES)]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "distill", "version": __version__,
                                "rules": [_rule(kind) for kind in rules]}},
            "columnKind": "unicodeCodePoints",
            "results": [_result(item, history, kinds, rules) for item in found],
        }],
    }
