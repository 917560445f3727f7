"""Signed bundles: OpenSSH's file signing (``ssh-keygen -Y``, as git uses it) over SHA256SUMS.

SHA256SUMS names every other file with its sha256, so one signature over it covers the bundle.
The signature is ``SHA256SUMS.sig`` next to it, in the namespace ``distill-bundle``; it is not
listed in SHA256SUMS (it signs it) and a rebuild compares everything else.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import DistillError
from ..names import one_line

NAMESPACE = "distill-bundle"
SIGNATURE = "SHA256SUMS.sig"


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if not found:
        raise DistillError("signing needs OpenSSH's ssh-keygen (package openssh-client), which is not "
                           "installed")
    return found


def verify_command(allowed_signers: str = "ALLOWED_SIGNERS", identity: str = "NAME") -> str:
    """The command a DBA runs without distill, in the bundle's directory."""
    return (f"ssh-keygen -Y verify -f {allowed_signers} -I {identity} -n {NAMESPACE} "
            f"-s {SIGNATURE} < SHA256SUMS")


def sign(bundle: Path, key: Path) -> Path:
    """Write ``bundle``/SHA256SUMS.sig, signed with the private key file ``key``."""
    sums = bundle / "SHA256SUMS"
    if not sums.is_file():
        raise DistillError(f"{bundle} has no SHA256SUMS: it is not a distill bundle directory")
    if not Path(key).is_file():
        raise DistillError(f"the signing key {key} does not exist")
    with tempfile.TemporaryDirectory(prefix="distill-sign-") as tmp:
        copy = Path(tmp) / "SHA256SUMS"
        shutil.copyfile(sums, copy)
        result = subprocess.run([_ssh_keygen(), "-Y", "sign", "-f", str(key), "-n", NAMESPACE, str(copy)],
                                capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise DistillError(f"ssh-keygen could not sign with {key}: {one_line(result.stderr.strip())}")
        target = bundle / SIGNATURE
        shutil.copyfile(Path(tmp) / "SHA256SUMS.sig", target)
    return target


@dataclass(frozen=True)
class Signature:
    signed: bool
    valid: bool  # the signature matches SHA256SUMS (and, when asked, an allowed signer made it)
    detail: str  # who signed, with which key, or what is wrong


def check(sums: bytes, signature: bytes | None, *, allowed_signers: Path | None = None,
          identity: str | None = None) -> Signature:
    """Whether ``signature`` signs ``sums``; with ``allowed_signers``, by one of them (``identity``,
    or whichever principal the file names for the key)."""
    if signature is None:
        return Signature(False, False, "the bundle is not signed (no SHA256SUMS.sig)")
    with tempfile.TemporaryDirectory(prefix="distill-verify-") as tmp:
        sig = Path(tmp) / SIGNATURE
        sig.write_bytes(signature)
        if allowed_signers is None:
            result = _run(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", str(sig)], sums)
            key = _key(result.stdout + result.stderr)
            return Signature(True, result.returncode == 0,
                             f"signed with {key}" if result.returncode == 0 else
                             "SHA256SUMS.sig does not sign this SHA256SUMS")
        if identity is None:
            found = _run(["-Y", "find-principals", "-f", str(allowed_signers), "-s", str(sig)], b"")
            principals = found.stdout.split()
            if found.returncode != 0 or not principals:
                return Signature(True, False, f"signed by a key that {allowed_signers} does not allow")
            identity = principals[0]
        result = _run(["-Y", "verify", "-f", str(allowed_signers), "-I", identity, "-n", NAMESPACE,
                       "-s", str(sig)], sums)
        if result.returncode != 0:
            return Signature(True, False, f"not a valid signature by {identity} from {allowed_signers}: "
                             + one_line((result.stderr or result.stdout).strip()))
        return Signature(True, True, f"signed by {identity} ({_key(result.stdout + result.stderr)})")


def _run(arguments: list[str], stdin: bytes) -> subprocess.CompletedProcess:
    result = subprocess.run([_ssh_keygen(), *arguments], input=stdin, capture_output=True)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))


def _key(output: str) -> str:
    found = re.search(r"with (\S+) key (SHA256:\S+)", output)
    return f"{found[1]} key {found[2]}" if found else "an SSH key"
