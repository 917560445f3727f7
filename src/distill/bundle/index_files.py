"""The files that describe a bundle, written once its SQL files are: the revision scripts it
ships (``sources/``), manifest.json, the runbook (README.md) and SHA256SUMS over all of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..history.scripts import History
from ..progress import Progress
from ..statements.waivers import manifest_waivers
from .files import HashingFile, write_file
from .json_writer import write_json
from .manifest import manifest
from .runbook import runbook
from .sources import write_sources


def write_index_files(directory: Path, history: History, core: dict[str, Any], entries: dict[str, Any],
                      versions: dict[str, str], version_table: str, hashes: dict[str, str]) -> None:
    """Write sources/, manifest.json, README.md and SHA256SUMS into ``directory``; ``hashes``
    holds the SHA-256 of every SQL file already there (by path)."""
    steps = core["steps"]
    progress = Progress(["bundle"], [len(steps) + 3], ("writing",))
    done = [0]

    def wrote() -> None:
        done[0] += 1
        progress.draw(done)

    for step in steps:  # the scripts, as shipped
        hashes.update(write_sources(history, [step], directory))
        wrote()
    data = manifest(core, entries, versions)
    waived = manifest_waivers(history.settings.waivers, data)
    if waived:  # signed with the bundle (SHA256SUMS lists the manifest)
        data["waivers"] = waived
    with HashingFile(directory / "manifest.json") as out:  # streamed: it can be large
        write_json(data, out.write)
        out.write("\n")
    hashes["manifest.json"] = out.digest
    wrote()
    hashes["README.md"] = write_file(directory, "README.md", runbook(data, version_table).encode("utf-8"))
    wrote()
    sums = "".join(f"{hashes[path]}  {path}\n" for path in sorted(hashes)).encode("utf-8")
    write_file(directory, "SHA256SUMS", sums)
    wrote()
    progress.draw(done, final=True)
