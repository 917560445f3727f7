"""Signed bundles end to end, with keys made by ssh-keygen here: sign, verify with distill and
with plain ssh-keygen, tampering after signing, a wrong key, an unsigned bundle when a signature
is required, the archive carrying the signature, and --sign on release."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from projects import CREATE_T, run_distill, write_project


def _key(tmp_path: Path, name: str) -> Path:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@pytest.fixture
def signed(tmp_path):
    project = write_project(tmp_path / "project", [CREATE_T], distill_toml='dialects = ["sqlite"]\n')
    key = _key(tmp_path, "release-manager")
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"rm@example.org {(tmp_path / 'release-manager.pub').read_text()}")
    bundle = tmp_path / "b"
    result = run_distill(["build", "--out", str(bundle), "--sign", str(key), "--archive"], project)
    assert result.returncode == 0, result.stderr
    return {"project": project, "key": key, "allowed": allowed, "bundle": bundle, "tmp": tmp_path}


def test_signed_bundle_verifies_with_distill_and_with_ssh_keygen(signed):
    bundle, allowed = signed["bundle"], signed["allowed"]
    assert (bundle / "SHA256SUMS.sig").is_file()
    plain = run_distill(["verify", str(bundle)], signed["project"])
    assert plain.returncode == 0 and "signed with ED25519 key SHA256:" in plain.stdout
    assert "INTACT (authenticity NOT checked)" in plain.stdout and "VERIFIED" not in plain.stdout
    strict = run_distill(["verify", str(bundle), "--allowed-signers", str(allowed)], signed["project"])
    assert strict.returncode == 0 and "signed by rm@example.org" in strict.stdout, strict.stdout
    assert strict.stdout.startswith(f"{bundle}: VERIFIED: release b of ")
    with (bundle / "SHA256SUMS").open("rb") as sums:
        ssh = subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "rm@example.org",
                              "-n", "distill-bundle", "-s", str(bundle / "SHA256SUMS.sig")],
                             stdin=sums, capture_output=True, text=True)
    assert ssh.returncode == 0 and 'Good "distill-bundle" signature for rm@example.org' in ssh.stdout
    runbook = (bundle / "README.md").read_text()
    assert "ssh-keygen -Y verify -f ALLOWED_SIGNERS -I NAME -n distill-bundle -s SHA256SUMS.sig < SHA256SUMS" in runbook
    archived = run_distill(["verify", str(signed["tmp"] / "b.tar.gz"), "--allowed-signers", str(allowed)],
                           signed["project"])
    assert archived.returncode == 0, archived.stdout  # the archive carries the signature


def test_tampering_after_signing_is_caught(signed):
    bundle = signed["bundle"]
    sums = bundle / "SHA256SUMS"
    (bundle / "README.md").write_text("run downgrade.sql first\n")
    digest = hashlib.sha256((bundle / "README.md").read_bytes()).hexdigest()
    lines = [f"{digest}  README.md" if line.endswith("  README.md") else line
             for line in sums.read_text().splitlines()]
    sums.write_text("\n".join(lines) + "\n")  # the sums agree again: only the signature can tell
    result = run_distill(["verify", str(bundle), "--allowed-signers", str(signed["allowed"])], signed["project"])
    assert result.returncode == 1 and "signature SHA256SUMS.sig: not a valid signature by rm@example.org" in result.stdout


def test_a_wrong_key_and_an_unsigned_bundle_are_refused(signed):
    other = _key(signed["tmp"], "someone-else")
    bundle = signed["bundle"]
    (bundle / "SHA256SUMS.sig").unlink()  # only the other key's signature
    (signed["tmp"] / "b.tar.gz").unlink()  # (its archive still holds the first: sign would refuse)
    assert run_distill(["sign", str(bundle), "--key", str(other)], signed["project"]).returncode == 0
    result = run_distill(["verify", str(bundle), "--allowed-signers", str(signed["allowed"])], signed["project"])
    assert result.returncode == 1 and "signed by a key that" in result.stdout and "does not allow" in result.stdout
    (bundle / "SHA256SUMS.sig").unlink()
    result = run_distill(["verify", str(bundle), "--allowed-signers", str(signed["allowed"])], signed["project"])
    assert result.returncode == 1 and "the bundle is not signed (no SHA256SUMS.sig)" in result.stdout
    plain = run_distill(["verify", str(bundle)], signed["project"])  # no trusted keys: INTACT, not VERIFIED
    assert plain.returncode == 0 and "INTACT (authenticity NOT checked)" in plain.stdout, plain.stdout


def test_a_rebuild_compares_everything_but_the_signature(signed):
    result = run_distill(["verify", str(signed["bundle"]), "--rebuild"], signed["project"])
    assert result.returncode == 0, result.stdout
    again = run_distill(["build", "--out", str(signed["bundle"]), "--sign", str(signed["key"]), "--archive"],
                        signed["project"])
    assert again.returncode == 0 and "unchanged" in again.stdout + again.stderr
    copy = signed["tmp"] / "copy"
    shutil.copytree(signed["bundle"], copy)
    assert (copy / "SHA256SUMS.sig").read_bytes() == (signed["bundle"] / "SHA256SUMS.sig").read_bytes()
