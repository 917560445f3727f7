"""The archive writer builds ustar headers itself (tarfile costs ~70 us per entry and a bundle has
thousands): its bytes must equal what the standard library's tarfile + gzip write for the same
tree, including names that need the ustar prefix field, non-ASCII names and block-sized files."""

from __future__ import annotations

import gzip
import io
import random
import tarfile
from pathlib import Path

import pytest

from distill.bundle.archive import safe_extract, write_archive
from distill.errors import DistillError


def stdlib_archive(top: str, directory: Path, mtime: int) -> bytes:
    """The reference: tarfile's USTAR writer inside GzipFile, entries sorted by name."""
    out = io.BytesIO()
    paths = sorted(directory.rglob("*"))
    entries = [(top, None)] + [(f"{top}/{p.relative_to(directory).as_posix()}", p) for p in paths]
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=mtime, compresslevel=6) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, path in sorted(entries, key=lambda e: e[0]):
            info = tarfile.TarInfo(name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
            if path is None or path.is_dir():
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = path.stat().st_size, 0o644
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
    return out.getvalue()


def awkward_tree(root: Path) -> None:
    files = {
        "README.md": b"# runbook\n",
        "SHA256SUMS": b"",
        "postgresql/upgrade.sql": b"x" * 512,  # exactly one block: no padding
        "postgresql/downgrade.sql": b"y" * 513,
        "postgresql/steps/" + "0001-" + "a" * 40 + "-" + "b" * 40 + ".down.sql": b"-- long name\n",
        "mysql/steps/0002-\u00e9t\u00e9-caf\u00e9.up.sql": "-- \u00e9\n".encode(),
        "sqlite/steps/d" * 1 + "/" + "n" * 99: b"z" * 1500,  # a 100-byte name in a subfolder
        "big.bin": bytes(range(256)) * 9000,  # over the writer's 1 MB flush threshold
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "empty-folder").mkdir()


@pytest.mark.parametrize("mtime", [0, 1700000000])
def test_archive_bytes_equal_the_standard_library(tmp_path, monkeypatch, mtime):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(mtime))
    bundle = tmp_path / "2.1"
    awkward_tree(bundle)
    ours = io.BytesIO()
    write_archive("2.1", bundle, ours)
    assert ours.getvalue() == stdlib_archive("2.1", bundle, mtime)
    extracted = safe_extract(_saved(tmp_path, ours.getvalue()), tmp_path / "out")
    assert sorted(p.relative_to(extracted).as_posix() for p in extracted.rglob("*")) == \
        sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*"))


def test_a_name_no_ustar_header_can_hold_is_an_error(tmp_path):
    bundle = tmp_path / "b"
    bundle.mkdir()
    (bundle / ("x" * 101)).write_bytes(b"")  # no '/' to split at leaves 100 bytes for the name
    with pytest.raises(DistillError, match="too long"):
        write_archive("b", bundle, io.BytesIO())


def _saved(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bundle.tar.gz"
    path.write_bytes(data)
    return path


def test_a_failing_write_reaches_the_caller(tmp_path):
    """Compression runs on a second thread: its errors (a full disk) must not be lost there."""
    bundle = tmp_path / "b"
    awkward_tree(bundle)
    (bundle / "noise.bin").write_bytes(random.Random(0).randbytes(3 << 20))  # compresses to 3 MB

    class FullDisk(io.BytesIO):  # fails once, on the first write of compressed data
        failed = False

        def write(self, data):
            if self.tell() > 100 and not self.failed:
                self.failed = True
                raise OSError(28, "No space left on device")
            return super().write(data)

    with pytest.raises(OSError, match="No space left"):
        write_archive("b", bundle, FullDisk())
