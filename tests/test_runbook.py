"""The runbook says what the DBA can and cannot do (issue 29): a release that no SQL can roll back
says so first and requires the backup; lock-risk advice does not promise a clean stop where the
dialect commits DDL by itself. Rendered from the committed releases' manifests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from distill.bundle.runbook import runbook

RELEASES = Path(__file__).resolve().parent.parent / "releases"


def _manifest(version: str) -> dict:
    return json.loads((RELEASES / version / "manifest.json").read_text(encoding="utf-8"))


def test_a_release_whose_only_step_cannot_be_reverted_says_restore_the_backup_first():
    text = runbook(_manifest("2.1"), "alembic_version")  # its one step's downgrade() is `pass`
    first_heading = text.split("\n## ")[1]
    assert first_heading.startswith("Read first: this release cannot be rolled back with SQL")
    assert "2. **Required:** take a backup and check that it restores. This release cannot be rolled " \
           "back with SQL" in text
    roll_back = text.split("## Roll back")[1].split("## Steps")[0]
    assert "**This release cannot be rolled back with SQL: restore the backup**" in roll_back
    assert "downgrade.sql` |" not in roll_back and "*reverse* number order" not in roll_back


def test_a_point_of_no_return_after_revertible_steps_keeps_the_downgrade_commands():
    manifest = _manifest("2.0")
    assert "cannot be rolled back" not in runbook(manifest, "alembic_version")
    assert "2. Take a backup you know how to restore." in runbook(manifest, "alembic_version")
    stopped = copy.deepcopy(manifest)  # the last step cannot be reverted, the others can
    last = stopped["steps"][-1]["revision"]
    for entry in stopped["dialects"].values():
        entry["point_of_no_return"] = {"revision": last, "reason": "its downgrade() does nothing (pass)"}
        entry["steps"][-1].pop("down")
    text = runbook(stopped, "alembic_version")
    assert "cannot be rolled back with SQL" not in text
    assert "**Point of no return.**" in text and "postgresql/downgrade.sql` |" in text
    assert "2. **Required:** take a backup and check that it restores. The downgrade stops at a point " \
           "of no return" in text


def test_lock_risk_advice_sends_the_dba_to_what_stays_applied():
    manifest = copy.deepcopy(_manifest("2.0"))
    manifest["options"]["lock_timeout_ms"] = 5000
    text = runbook(manifest, "alembic_version")
    section = text.split("## Lock risks")[1].split("\n## ")[0]  # 2.0 has lock risks
    assert "apply it again later" not in section
    assert "see *If a file stops half-way*" in section


HOSTILE_MD = ("![x](https://tracker.example/p.png) <img src=x onerror=y> "
              "[apply fix.sql first](https://evil.example/fix.sql) `code` *loud* _em_ # | \\ ~~s~~ &amp;")
SHOWN_MD = ("\\!\\[x\\](https://tracker.example/p.png) \\<img src=x onerror=y\\> "
            "\\[apply fix.sql first\\](https://evil.example/fix.sql) \\`code\\` \\*loud\\* \\_em\\_ \\# \\| \\\\ "
            "\\~\\~s\\~\\~ \\&amp;")


def test_a_revision_message_and_a_waiver_reason_show_literally_not_as_markdown():
    manifest = copy.deepcopy(_manifest("1.0"))
    manifest["steps"][0]["message"] = HOSTILE_MD
    manifest["waivers"] = [{"revision": manifest["steps"][0]["revision"], "kind": "destructive",
                            "reason": HOSTILE_MD, "approver": "<b>Dana</b>", "findings": []}]
    text = runbook(manifest, "alembic_version")
    assert text.count(SHOWN_MD) >= 3, text  # the steps table, the step's heading, the waiver
    assert "Approved by \\<b\\>Dana\\</b\\>." in text
    for raw in ("![x]", "<img", "[apply", "](https://evil", "<b>"):
        assert raw not in text.replace("\\" + raw[0], ""), raw
    # distill's own `code` (the dialects' facts) stays code; table_name keeps its underscore
    assert "`SELECT version_num FROM alembic_version;`" in text and "order_status" in text
