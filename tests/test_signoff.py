"""Signatures that mean something (issue 31), with keys made here by ssh-keygen: `sign` signs only
a bundle that verifies, its directory and archive together; two-person sign-off with
`verify --require 2`; `verify` says INTACT, never VERIFIED, without trusted keys; the manifest's
steps against the step files; an archive named after another release; limits and ssh-keygen's
time limit and death with distill."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project

from distill.bundle import signing
from distill.bundle.archive import write_archive

REPO = Path(__file__).resolve().parent.parent


def _key(tmp_path: Path, name: str) -> Path:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def _rehash(bundle: Path, rel: str) -> None:
    """SHA256SUMS made to agree with an edited file, as an attacker would."""
    digest = hashlib.sha256((bundle / rel).read_bytes()).hexdigest()
    sums = bundle / "SHA256SUMS"
    sums.write_text("".join(f"{digest}  {rel}\n" if line.endswith(f"  {rel}") else line + "\n"
                            for line in sums.read_text().splitlines()))


@pytest.fixture
def made(tmp_path):
    """An unsigned bundle b (and b.tar.gz), two signers' keys, an allowed_signers file naming both."""
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml='dialects = ["sqlite"]\n')
    keys = {name: _key(tmp_path, name) for name in ("rm", "dba", "attacker")}
    allowed = tmp_path / "allowed_signers"
    allowed.write_text("".join(f"{name}@example.org {(tmp_path / f'{name}.pub').read_text()}"
                               for name in ("rm", "dba")))
    bundle = tmp_path / "b"
    result = run_distill(["build", "--out", str(bundle), "--archive"], project)
    assert result.returncode == 0, result.stderr
    return {"project": project, "keys": keys, "allowed": allowed, "bundle": bundle,
            "archive": tmp_path / "b.tar.gz", "tmp": tmp_path}


def _sign(made, who: str, target: Path | None = None, *extra: str):
    return run_distill(["sign", str(target or made["bundle"]), "--key", str(made["keys"][who]), *extra],
                       made["project"])


def _verify(made, target: Path | None = None, *extra: str):
    return run_distill(["verify", str(target or made["bundle"]), "--allowed-signers", str(made["allowed"]),
                        *extra], made["project"])


# -- sign verifies first, and signs the directory and its archive together ----------------------


@pytest.mark.parametrize("tamper", ["edited-and-rehashed", "sums-wrong"])
def test_sign_refuses_a_bundle_that_does_not_verify_and_writes_nothing(made, tamper):
    bundle = made["bundle"]
    (bundle / "README.md").write_text("run downgrade.sql first\n")
    if tamper == "edited-and-rehashed":
        _rehash(bundle, "README.md")
    archive_before = made["archive"].read_bytes()
    result = _sign(made, "rm")
    assert result.returncode == 1 and "does not verify, so distill does not sign it" in result.stderr, result.stderr
    assert "README.md" in result.stderr
    assert not any(p.name.endswith(".sig") for p in bundle.iterdir())
    assert made["archive"].read_bytes() == archive_before
    verified = run_distill(["verify", str(bundle)], made["project"])
    says = "differs from the runbook distill renders" if tamper == "edited-and-rehashed" else "differs from SHA256SUMS"
    assert verified.returncode == 1 and says in verified.stdout, verified.stdout


def test_sign_rebuild_refuses_a_bundle_whose_sources_were_edited(made):
    script = next((made["project"] / "migrations" / "versions").glob("*.py"))
    script.write_text(script.read_text().replace('"t"', '"t2"'))
    result = _sign(made, "rm", None, "--rebuild")
    assert result.returncode == 1 and "does not verify" in result.stderr and "EDITED AFTER RELEASE" in result.stderr
    assert not (made["bundle"] / "SHA256SUMS.sig").exists()
    assert _sign(made, "rm").returncode == 0  # without --rebuild the files themselves verify


def test_signing_the_directory_rewrites_its_archive_so_both_verify(made):
    result = _sign(made, "rm")
    assert result.returncode == 0, result.stderr
    for target in (made["bundle"], made["archive"]):
        checked = _verify(made, target)
        assert checked.returncode == 0 and ": VERIFIED: " in checked.stdout, checked.stdout
    with tarfile.open(made["archive"]) as tar:
        assert "b/SHA256SUMS.sig" in tar.getnames()
    # the archive is the deterministic one --archive writes of the signed directory
    fresh = made["tmp"] / "fresh.tar.gz"
    with fresh.open("wb") as out:
        write_archive("b", made["bundle"], out)
    assert fresh.read_bytes() == made["archive"].read_bytes()


def test_building_again_with_sign_signs_the_existing_archive_too(made):
    result = run_distill(["build", "--out", str(made["bundle"]), "--archive", "--sign", str(made["keys"]["rm"])],
                         made["project"])
    assert result.returncode == 0, result.stderr  # not "differs in 1 file(s) (b.tar.gz)": it is the same bundle
    checked = _verify(made, made["archive"])
    assert checked.returncode == 0 and "signed by rm@example.org" in checked.stdout, checked.stdout


def test_a_refused_rebuild_with_sign_leaves_the_bundle_unsigned(made):
    """An archive that differs beyond a missing signature makes the rebuild refuse (without
    --force): the directory must not be signed in place first, half of a refused command."""
    other = made["tmp"] / "other"
    assert run_distill(["build", "--out", str(other), "--archive", "--dialect", "sqlite,postgresql"],
                       made["project"]).returncode == 0
    made["archive"].write_bytes((made["tmp"] / "other.tar.gz").read_bytes())  # another bundle's archive
    before = sorted(p.name for p in made["bundle"].iterdir())
    result = run_distill(["build", "--out", str(made["bundle"]), "--archive", "--sign", str(made["keys"]["rm"])],
                         made["project"])
    assert result.returncode != 0 and "b.tar.gz" in result.stderr, result.stderr
    assert sorted(p.name for p in made["bundle"].iterdir()) == before  # no SHA256SUMS.sig
    assert made["archive"].read_bytes() == (made["tmp"] / "other.tar.gz").read_bytes()


def test_a_directory_signed_after_it_was_archived_gets_its_archive_signed(made):
    from distill.bundle.signing import sign
    sign(made["bundle"], made["keys"]["rm"])  # as distill sign did before: the archive left unsigned
    result = _sign(made, "rm")
    assert result.returncode == 0 and "already signed with this key" in result.stdout, result.stderr
    assert str(made["archive"]) in result.stdout
    checked = _verify(made, made["archive"])
    assert checked.returncode == 0 and "signed by rm@example.org" in checked.stdout, checked.stdout


def test_sign_given_the_archive(made):
    made["bundle"].rename(made["tmp"] / "elsewhere")  # the archive alone
    result = _sign(made, "rm", made["archive"])
    assert result.returncode == 0, result.stderr
    checked = _verify(made, made["archive"])
    assert checked.returncode == 0 and "signed by rm@example.org" in checked.stdout, checked.stdout


def test_sign_refuses_a_directory_and_archive_that_differ(made):
    (made["tmp"] / "elsewhere").mkdir()
    run_distill(["build", "--out", str(made["tmp"] / "elsewhere" / "b"), "--dialect", "sqlite,postgresql"],
                made["project"])
    other = made["tmp"] / "elsewhere" / "b"
    (made["tmp"] / "elsewhere" / "b.tar.gz").write_bytes(made["archive"].read_bytes())
    result = _sign(made, "rm", other)
    assert result.returncode == 1 and "does not hold the same files" in result.stderr, result.stderr
    assert not (other / "SHA256SUMS.sig").exists()


def test_sign_refuses_a_directory_and_archive_signed_apart(made):
    """The directory signed by one key, its archive (alone) by another: the same signature file
    name with different bytes. Rewriting the archive from the directory would drop its signature."""
    from distill.bundle.signing import sign
    sign(made["bundle"], made["keys"]["rm"])
    made["bundle"].rename(made["tmp"] / "away")
    assert _sign(made, "dba", made["archive"]).returncode == 0
    (made["tmp"] / "away").rename(made["bundle"])
    archive, signature = made["archive"].read_bytes(), (made["bundle"] / "SHA256SUMS.sig").read_bytes()
    result = _sign(made, "rm")
    assert result.returncode == 1 and "each hold a different SHA256SUMS.sig" in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert made["archive"].read_bytes() == archive  # the dba's signature kept
    assert (made["bundle"] / "SHA256SUMS.sig").read_bytes() == signature
    assert sorted(p.name for p in made["bundle"].iterdir() if p.name.startswith("SHA256SUMS")) == [
        "SHA256SUMS", "SHA256SUMS.sig"]


# -- two-person sign-off --------------------------------------------------------------------------


def test_two_signers_are_required_and_named(made):
    assert _sign(made, "rm").returncode == 0
    one = _verify(made, None, "--require", "2")
    assert one.returncode == 1 and "NOT VERIFIED" in one.stdout, one.stdout
    assert "valid signatures by 1 allowed signer(s)" in one.stdout and "rm@example.org" in one.stdout
    assert _sign(made, "dba").returncode == 0
    assert (made["bundle"] / "SHA256SUMS.2.sig").is_file()
    for target in (made["bundle"], made["archive"]):
        two = _verify(made, target, "--require", "2")
        assert two.returncode == 0 and "VERIFIED" in two.stdout, two.stdout
        assert "signed by dba@example.org, rm@example.org" in two.stdout
    # signing again with the same key adds nothing
    again = _sign(made, "rm")
    assert again.returncode == 0 and "already signed with this key" in again.stdout
    assert sorted(p.name for p in made["bundle"].iterdir() if p.name.endswith(".sig")) == \
        ["SHA256SUMS.2.sig", "SHA256SUMS.sig"]
    # each signature verifies with plain ssh-keygen too
    with (made["bundle"] / "SHA256SUMS").open("rb") as sums:
        ssh = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(made["allowed"]), "-I", "dba@example.org",
                              "-n", "distill-bundle", "-s", str(made["bundle"] / "SHA256SUMS.2.sig")],
                             stdin=sums, capture_output=True, text=True)
    assert ssh.returncode == 0, ssh.stderr


def test_signatures_numbered_with_a_gap_do_not_verify(made):
    """SHA256SUMS.3.sig and SHA256SUMS.7.sig only: both valid, but the runbook's manual command
    (-s SHA256SUMS.sig) finds no signature, so the gap is a finding."""
    assert _sign(made, "rm").returncode == 0 and _sign(made, "dba").returncode == 0
    (made["bundle"] / "SHA256SUMS.sig").rename(made["bundle"] / "SHA256SUMS.3.sig")
    (made["bundle"] / "SHA256SUMS.2.sig").rename(made["bundle"] / "SHA256SUMS.7.sig")
    checked = _verify(made)
    assert checked.returncode == 1 and "NOT VERIFIED" in checked.stdout, checked.stdout
    assert "not numbered consecutively (SHA256SUMS.3.sig, SHA256SUMS.7.sig: no SHA256SUMS.sig)" in checked.stdout
    (made["bundle"] / "SHA256SUMS.3.sig").rename(made["bundle"] / "SHA256SUMS.sig")
    checked = _verify(made)  # SHA256SUMS.sig and .7: still a gap
    assert checked.returncode == 1 and "no SHA256SUMS.2.sig" in checked.stdout, checked.stdout
    (made["bundle"] / "SHA256SUMS.7.sig").rename(made["bundle"] / "SHA256SUMS.2.sig")
    checked = _verify(made, None, "--require", "2")
    assert checked.returncode == 0 and ": VERIFIED: " in checked.stdout, checked.stdout


def test_require_without_trusted_keys_cannot_run(made):
    result = run_distill(["verify", str(made["bundle"]), "--require", "2"], made["project"])
    assert result.returncode == 2 and "--require N counts signatures by allowed signers" in result.stderr


def test_a_stranger_does_not_count_as_a_second_signer(made):
    assert _sign(made, "rm").returncode == 0 and _sign(made, "attacker").returncode == 0
    result = _verify(made, None, "--require", "2")
    assert result.returncode == 1 and "does not allow" in result.stdout, result.stdout


# -- verify's words ---------------------------------------------------------------------------------


def test_an_attackers_bundle_never_reads_as_verified(made):
    """An attacker's own intact bundle (built from a history of theirs), signed with their key."""
    bundle = made["bundle"]
    assert _sign(made, "attacker").returncode == 0
    plain = run_distill(["verify", str(bundle)], made["project"])
    assert plain.returncode == 0 and "INTACT (authenticity NOT checked)" in plain.stdout
    assert "VERIFIED" not in plain.stdout, plain.stdout
    report = json.loads(run_distill(["verify", str(bundle), "--json"], made["project"]).stdout)
    assert report["result"] == "INTACT" and report["verified"] is False and report["intact"] is True
    # verify_signers makes the trusted keys the default
    (made["project"] / "distill.toml").write_text(
        f'dialects = ["sqlite"]\nverify_signers = "{made["allowed"]}"\n')
    trusted = run_distill(["verify", str(bundle)], made["project"])
    assert trusted.returncode == 1 and "NOT VERIFIED" in trusted.stdout and "does not allow" in trusted.stdout


def test_the_summary_names_the_release_the_range_and_the_findings(tmp_path):
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml='dialects = ["sqlite", "postgresql"]\n'
                            '[releases]\n"1.0" = "a1"\n')
    assert run_distill(["release", "1.0", "--dialect", "sqlite"], project).returncode == 0
    result = run_distill(["verify", "releases/1.0", "--rebuild"], project)
    head = result.stdout.splitlines()[0]
    assert head == "releases/1.0: NOT VERIFIED: release 1.0 of project (base -> a1): 1 finding(s) (rebuild)", head
    assert "not signed" not in head


def test_an_archive_named_after_another_release_is_a_finding(tmp_path):
    copy = tmp_path / "2.0.tar.gz"
    copy.write_bytes((REPO / "releases" / "1.0.tar.gz").read_bytes())
    result = run_distill(["verify", str(copy)], REPO)
    assert result.returncode == 1 and "archive   2.0.tar.gz: its name says '2.0'" in result.stdout, result.stdout
    # the top folder renamed as well: the manifest still says 1.0
    with tarfile.open(REPO / "releases" / "1.0.tar.gz") as tar:
        tar.extractall(tmp_path / "x", filter="data")
    (tmp_path / "x" / "1.0").rename(tmp_path / "x" / "2.0")
    with copy.open("wb") as out:
        write_archive("2.0", tmp_path / "x" / "2.0", out)
    result = run_distill(["verify", str(copy)], REPO)
    assert result.returncode == 1 and "its manifest is of release '1.0'" in result.stdout, result.stdout


# -- the manifest's steps against the step files ------------------------------------------------


@pytest.mark.parametrize("edit", ["rename-revision", "clear-destructive"])
def test_a_manifest_edited_and_rehashed_does_not_verify(made, edit):
    bundle = made["bundle"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    dialect_steps = manifest["dialects"]["sqlite"]["steps"]
    if edit == "rename-revision":
        manifest["steps"][0]["revision"] = dialect_steps[0]["revision"] = "b2"
    else:
        assert dialect_steps[0]["down"]["destructive"]
        dialect_steps[0]["down"]["destructive"] = []
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    _rehash(bundle, "manifest.json")
    result = run_distill(["verify", str(bundle)], made["project"])
    assert result.returncode == 1 and "NOT VERIFIED" in result.stdout, result.stdout
    says = "describes it as step 0001 of 1: upgrade b2" if edit == "rename-revision" else \
        "lists 0 DESTRUCTIVE finding(s) for it, the file is annotated with 1"
    assert says in result.stdout
    assert _sign(made, "rm").returncode == 1


def test_an_edited_source_rehashed_does_not_verify(made):
    bundle = made["bundle"]
    source = next((bundle / "sources").rglob("*.py"))
    source.write_text(source.read_text() + "# changed\n")
    _rehash(bundle, source.relative_to(bundle).as_posix())
    result = run_distill(["verify", str(bundle)], made["project"])
    assert result.returncode == 1 and "differs from the script_sha256" in result.stdout, result.stdout


# -- limits, ssh-keygen's time limit, and nothing left after a kill --------------------------------


def test_a_huge_signature_is_not_handed_to_ssh_keygen(made):
    (made["bundle"] / "SHA256SUMS.sig").write_bytes(b"-----BEGIN SSH SIGNATURE-----\n" + b"A" * (4 << 20))
    started = time.monotonic()
    result = run_distill(["verify", str(made["bundle"])], made["project"])
    assert result.returncode == 1 and "larger than any SSH signature" in result.stdout, result.stdout
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("command", ["verify", "status"])
def test_a_deeply_nested_manifest_is_a_clear_error(made, command):
    bundle = made["bundle"]
    (bundle / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    _rehash(bundle, "manifest.json")
    args = ["verify", str(bundle)] if command == "verify" else \
        ["status", "--url", f"sqlite:///{made['tmp'] / 'db.sqlite'}", str(bundle)]
    if command == "status":
        import sqlite3
        sqlite3.connect(made["tmp"] / "db.sqlite").close()
    result = run_distill(args, made["project"])  # run_distill asserts: no traceback
    assert result.returncode != 0 and "nested deeper than 32 levels" in result.stdout + result.stderr, \
        result.stdout + result.stderr


def test_a_manifest_over_the_size_limit_is_refused(made, monkeypatch):
    from distill.bundle import manifest
    monkeypatch.setattr(manifest, "MAX_MANIFEST_BYTES", 1000)
    result = run_distill(["verify", str(made["bundle"])], made["project"])
    assert result.returncode == 1 and "larger than the 0 MiB distill reads" in result.stdout, result.stdout


def _slow_ssh_keygen(tmp_path: Path) -> dict[str, str]:
    """An ssh-keygen that never answers (it records its pid, then becomes a sleep)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "ssh-keygen"
    fake.write_text(f"#!/bin/sh\necho $$ > {tmp_path / 'keygen.pid'}\nexec sleep 300\n")
    fake.chmod(0o755)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_ssh_keygen_has_a_time_limit(made, monkeypatch):
    assert _sign(made, "rm").returncode == 0
    monkeypatch.setattr(signing, "TIMEOUT", 1.0)
    result = run_distill(["verify", str(made["bundle"])], made["project"], env=_slow_ssh_keygen(made["tmp"]))
    assert result.returncode == 2 and "ssh-keygen did not check the signature within 1 s" in result.stderr


def test_nothing_is_left_after_distill_is_killed(made):
    assert _sign(made, "rm").returncode == 0
    temp = made["tmp"] / "temp"
    temp.mkdir()
    env = {**os.environ, **_slow_ssh_keygen(made["tmp"]), "TMPDIR": str(temp)}
    distill = subprocess.Popen([sys.executable, "-m", "distill", "verify", str(made["archive"])],
                               cwd=made["project"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid_file = made["tmp"] / "keygen.pid"
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    keygen = int(pid_file.read_text())
    distill.send_signal(signal.SIGKILL)
    distill.wait()
    deadline = time.monotonic() + 10
    while _alive(keygen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(keygen), "ssh-keygen outlived distill"
    assert any(temp.iterdir())  # the killed verify's extraction folder ...
    result = run_distill(["verify", str(made["archive"])], made["project"], env={"TMPDIR": str(temp)},
                         process=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(temp.iterdir())  # ... removed by the next distill that extracts an archive


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False
