"""distill rehearse: prove a bundle on scratch databases before it ships.

The exact shipped files are applied with the dialect's real client, up, down and up again, then
once more to see the guard refuse; the same with the per-step files one by one. After each phase
the schema and rows are compared with databases that online Alembic brought to the same revision.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import make_url

from .. import dialects
from ..audit.verify import verify
from ..bundle.archive import bundle_directory
from ..errors import DistillError
from ..history.scripts import History
from .clients import driver_url
from .report import Phase, Rehearsal
from .runner import BundleRun
from .scratch import Scratch


def record_path(bundle: Path) -> Path:
    """Where --record writes: next to the bundle, never inside it."""
    name = bundle.name[:-len(".tar.gz")] if bundle.name.endswith(".tar.gz") else bundle.name
    return bundle.parent / f"{name}.rehearsal.json"


def _server_and_dialect(bundle: Path, manifest: dict, dialect_name: str | None, url: str | None):
    """(server URL or None for SQLite, dialect) of a rehearsal, checked against the bundle."""
    server = driver_url(make_url(url)) if url else None
    if dialect_name is None:
        dialect_name = "sqlite" if server is None else server.get_backend_name()
    if dialect_name not in manifest["dialects"]:
        raise DistillError(f"{bundle} has no {dialect_name} files (it has "
                           f"{', '.join(manifest['dialects'])})")
    if (server is None) != (dialect_name == "sqlite"):
        raise DistillError(f"rehearsing {dialect_name} needs --url of a {dialect_name} server"
                           if server is None else "--url is for server dialects; SQLite uses a temp file")
    return server, dialects.get(dialect_name)


def _edited(history: History, manifest: dict) -> list[str]:
    """Revisions whose current script differs from the shipped one (or no longer exists)."""
    def current(revision: str) -> str | None:
        try:
            return history.script_sha256(revision)
        except Exception:  # the revision is no longer in the history
            return None
    return [s["revision"] for s in manifest["steps"] if current(s["revision"]) != s["script_sha256"]]


def rehearse(bundle: Path, history: History, *, dialect_name: str | None = None, url: str | None = None,
             standalone: bool = False) -> Rehearsal:
    """Rehearse the bundle (directory or archive) at ``bundle``."""
    bundle = Path(bundle)
    verified = verify(bundle)
    if not verified.verified:
        raise DistillError(f"{bundle} does not verify, so it is not rehearsed:\n{verified.text()}")
    with bundle_directory(bundle) as root:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        server, dialect = _server_and_dialect(bundle, manifest, dialect_name, url)
        where = "temporary SQLite file" if server is None else server.render_as_string(hide_password=True)
        report = Rehearsal(str(bundle), dialect.name, where)
        report.phases.append(Phase("verify", True,
                                   f"{verified.files} files match SHA256SUMS and the manifest"))
        edited = _edited(history, manifest)
        if edited:
            report.phases.append(Phase("sources", False, "the current revision scripts differ from the "
                                       f"shipped ones ({', '.join(edited)}): online Alembic would not be "
                                       "a fair reference"))
            return report
        report.phases.append(Phase("sources", True, "the revision scripts are the ones shipped"))
        scratch = Scratch(server)
        try:
            run = BundleRun(history, root, manifest, dialect, scratch, report,
                       standalone or manifest["options"]["mode"] == "standalone")
            run.whole_files()
            run.step_files()
        finally:
            scratch.close()
        return report
