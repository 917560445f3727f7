"""Signed bundles: OpenSSH's file signing (``ssh-keygen -Y``, as git uses it) over SHA256SUMS.

SHA256SUMS names every other file with its sha256, so one signature over it covers the bundle.
The first signature is ``SHA256SUMS.sig`` next to it, in the namespace ``distill-bundle``; more
signers (a release manager and a DBA) add ``SHA256SUMS.2.sig``, ``SHA256SUMS.3.sig``, ... None is
listed in SHA256SUMS (they sign it) and a rebuild compares everything else.

ssh-keygen runs with a time limit, dies with distill (even on ``kill -9``: the kernel sends it
SIGKILL when its parent dies), and reads signatures from memory (no temp folder to leave).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DistillError
from ..names import one_line

NAMESPACE = "distill-bundle"
SIGNATURE = "SHA256SUMS.sig"
_NAME = re.compile(r"SHA256SUMS(?:\.([2-9]|[1-9][0-9]+))?\.sig")
MAX_SIGNATURES = 16  # signers of one bundle; more is no sign-off but noise
MAX_SIGNATURE_BYTES = 16 << 10  # an SSH signature is a few hundred bytes (RSA 16384: ~3 KiB)
TIMEOUT = 30.0  # seconds ssh-keygen may take to check one signature (it takes milliseconds)
SIGN_TIMEOUT = 300.0  # ... to sign (it may ask for the key's passphrase)


def is_signature(rel: str) -> bool:
    """True for the name of a signature file of the bundle (``SHA256SUMS.sig``, ``SHA256SUMS.2.sig``)."""
    return _NAME.fullmatch(rel) is not None


def signature_names(names) -> list[str]:
    """The signature files among a bundle's relative paths, in signing order."""
    found = [name for name in names if is_signature(name)]
    return sorted(found, key=lambda name: int(_NAME.fullmatch(name)[1] or 1))


def numbering_gap(names: list[str]) -> str | None:
    """The first signature name missing before a higher-numbered one (``names`` in signing order,
    as :func:`signature_names` gives them), else None: signatures are SHA256SUMS.sig, .2, .3, ...
    consecutively, so the runbook's manual command (``-s SHA256SUMS.sig``) finds the first."""
    for number, name in enumerate(names, 1):
        expected = SIGNATURE if number == 1 else f"SHA256SUMS.{number}.sig"
        if name != expected:
            return expected
    return None


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


_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:  # runs in the child, before ssh-keygen
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: killed when distill dies, even by SIGKILL


def _run(arguments: list[str], stdin: bytes, *, signature: bytes | None = None,
         timeout: float | None = None, what: str = "check the signature") -> subprocess.CompletedProcess:
    """ssh-keygen with ``arguments`` (``{sig}`` stands for the file holding ``signature``)."""
    timeout = TIMEOUT if timeout is None else timeout
    fds: tuple[int, ...] = ()
    if signature is not None:
        fd = os.memfd_create("distill-signature") if hasattr(os, "memfd_create") else None
        if fd is None:  # not Linux: a pipe holds it (at most MAX_SIGNATURE_BYTES, below a pipe's buffer)
            fd, write_end = os.pipe()
            os.write(write_end, signature)
            os.close(write_end)
        else:
            os.write(fd, signature)
        fds = (fd,)
        arguments = [a.replace("{sig}", f"/dev/fd/{fd}") for a in arguments]
    try:
        result = subprocess.run([_ssh_keygen(), *arguments], input=stdin, capture_output=True,
                                timeout=timeout, pass_fds=fds, preexec_fn=_die_with_parent)
    except subprocess.TimeoutExpired:  # run() has killed it
        raise DistillError(f"ssh-keygen did not {what} within {timeout:g} s; it was stopped") from None
    finally:
        for fd in fds:
            os.close(fd)
    return subprocess.CompletedProcess(result.args, result.returncode, result.stdout.decode(errors="replace"),
                                       result.stderr.decode(errors="replace"))


def sign(bundle: Path, key: Path) -> Path:
    """Add a signature of ``bundle``/SHA256SUMS by the private key file ``key``: SHA256SUMS.sig, or
    the next free SHA256SUMS.N.sig; a key that already signed this SHA256SUMS adds nothing (its
    signature is kept, or replaced if it no longer signs it). Returns the signature's path."""
    sums = bundle / "SHA256SUMS"
    if not sums.is_file():
        raise DistillError(f"{bundle} has no SHA256SUMS: it is not a distill bundle directory")
    if not Path(key).is_file():
        raise DistillError(f"the signing key {key} does not exist")
    data = sums.read_bytes()
    result = _run(["-Y", "sign", "-f", str(key), "-n", NAMESPACE], data, timeout=SIGN_TIMEOUT,
                  what=f"sign with {key}")
    made = result.stdout.encode()
    if result.returncode != 0 or not made.startswith(b"-----BEGIN SSH SIGNATURE-----"):
        raise DistillError(f"ssh-keygen could not sign with {key}: {one_line(result.stderr.strip())}")
    new_key = _signer(data, made).key
    existing = signature_names(p.name for p in bundle.iterdir())
    for name in existing:
        old = check(data, (bundle / name).read_bytes())
        if old.key == new_key:
            if not old.valid:
                (bundle / name).write_bytes(made)
            return bundle / name
    if len(existing) >= MAX_SIGNATURES:
        raise DistillError(f"{bundle} already has {len(existing)} signatures, the most distill accepts")
    numbers = {int(_NAME.fullmatch(name)[1] or 1) for name in existing}
    free = next(n for n in range(1, MAX_SIGNATURES + 2) if n not in numbers)
    target = bundle / (SIGNATURE if free == 1 else f"SHA256SUMS.{free}.sig")
    target.write_bytes(made)
    os.chmod(target, 0o644)
    return target


@dataclass(frozen=True)
class Signature:
    signed: bool
    valid: bool  # the signature matches SHA256SUMS (and, when asked, an allowed signer made it)
    detail: str  # who signed, with which key, or what is wrong
    key: str = ""  # "ED25519 key SHA256:..." when the signature is well formed
    principal: str | None = None  # the allowed signer who made it (only with allowed_signers)
    file: str = SIGNATURE
    intact: bool = False  # it signs this SHA256SUMS (whoever made it)


def _signer(sums: bytes, signature: bytes) -> Signature:
    result = _run(["-Y", "check-novalidate", "-n", NAMESPACE, "-s", "{sig}"], sums, signature=signature)
    key = _key(result.stdout + result.stderr)
    if result.returncode != 0:
        return Signature(True, False, "does not sign this SHA256SUMS", key)
    return Signature(True, True, f"signed with {key}", key, intact=True)


def check(sums: bytes, signature: bytes | None, *, allowed_signers: Path | None = None,
          file: str = SIGNATURE) -> Signature:
    """Whether ``signature`` signs ``sums``; with ``allowed_signers``, by one of them (whichever
    principal the file names for the key)."""
    if signature is None:
        return Signature(False, False, "the bundle is not signed (no SHA256SUMS.sig)", file=file)
    if len(signature) > MAX_SIGNATURE_BYTES:
        return Signature(True, False, f"is larger than any SSH signature (more than {MAX_SIGNATURE_BYTES} "
                         "bytes): not read", file=file)
    if allowed_signers is None:
        return replace(_signer(sums, signature), file=file)
    listed = _run(["-Y", "find-principals", "-f", str(allowed_signers), "-s", "{sig}"], b"",
                  signature=signature)
    principals = listed.stdout.split()
    if listed.returncode != 0 or not principals:
        found = _signer(sums, signature)
        return Signature(True, False, f"signed by a key that {allowed_signers} does not allow ({found.key})",
                         found.key, file=file, intact=found.intact)
    identity = principals[0].split(",")[0]
    result = _run(["-Y", "verify", "-f", str(allowed_signers), "-I", identity, "-n", NAMESPACE,
                   "-s", "{sig}"], sums, signature=signature)
    key = _key(result.stdout + result.stderr)
    if result.returncode != 0:
        return Signature(True, False, f"not a valid signature by {identity} from {allowed_signers}: "
                         + one_line((result.stderr or result.stdout).strip()), key, file=file)
    return Signature(True, True, f"signed by {identity} ({key})", key, identity, file, intact=True)


def _key(output: str) -> str:
    found = re.search(r"with (\S+) key (SHA256:\S+)", output)
    return f"{found[1]} key {found[2]}" if found else "an SSH key"
