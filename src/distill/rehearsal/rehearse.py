"""distill rehearse: prove a bundle on scratch databases before it ships.

The exact shipped files are applied with the dialect's real client, up, down and up again, then
once more to see the guard refuse; the same with the per-step files one by one. After each phase
the schema and rows are compared with databases that online Alembic brought to the same revision.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from .. import dialects
from ..bundle.archive import bundle_directory
from ..bundle.verify import verify
from ..errors import DistillError
from ..history.scripts import History, display_revisions
from ..names import one_line
from ..shadow.clients import dialect_of, driver_url
from ..shadow.copies import copies_of
from ..statements.findings import DATA_DEPENDENT
from .report import Phase, Rehearsal
from .runner import BundleRun
from .scratch import Scratch


def record_path(bundle: Path) -> Path:
    """Where --record writes: next to the bundle, never inside it."""
    name = bundle.name[:-len(".tar.gz")] if bundle.name.endswith(".tar.gz") else bundle.name
    return bundle.parent / f"{name}.rehearsal.json"


def _parsed(url: str, option: str) -> sa.URL:
    """``url`` (given as ``option``) with the driver distill uses for its dialect."""
    try:
        return driver_url(make_url(url))
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise DistillError(f"{option} is not a database URL (dialect://user:password@host/database)") \
            from None


def _has_files_for(bundle: Path, manifest: dict, dialect_name: str) -> None:
    if dialect_name not in manifest["dialects"]:
        raise DistillError(f"{bundle} has no {dialect_name} files (it has {', '.join(manifest['dialects'])})")


def _server_and_dialect(bundle: Path, manifest: dict, dialect_name: str | None, url: str | None):
    """(server URL or None for SQLite, dialect) of a rehearsal, checked against the bundle."""
    server = _parsed(url, "--url") if url else None
    if dialect_name is None:
        dialect_name = "sqlite" if server is None else server.get_backend_name()
    _has_files_for(bundle, manifest, dialect_name)
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


def _data_dependent_steps(manifest: dict, dialect_name: str) -> list[str]:
    """The steps of the dialect rendered from the rows a shadow held (DATA-DEPENDENT)."""
    return [f"step {step['number']} {step['revision']} ({direction})"
            for step in manifest["dialects"][dialect_name]["steps"]
            for direction, key in (("upgrade", "up"), ("downgrade", "down"))
            if (step.get(key) or {}).get(DATA_DEPENDENT)]


def _dialect_of_data(bundle: Path, manifest: dict, dialect_name: str | None, data_from: str) -> Any:
    """(the --data-from URL, the dialect rehearsed on copies of it), checked against the bundle."""
    source = _parsed(data_from, "--data-from")
    # an unknown dialect is a ConfigError naming the known ones
    dialect = dialect_of(source) if dialect_name is None else dialects.get(dialect_name)
    _has_files_for(bundle, manifest, dialect.name)
    return source, dialect


@contextlib.contextmanager
def _databases(bundle: Path, manifest: dict, history: History, dialect_name: str | None, url: str | None,
               data_from: str | None) -> Iterator[tuple[Any, Scratch, str]]:
    """(dialect, where the scratch databases come from, how the report names it): empty ones
    (temp SQLite files, or on --url's server), or copies of the --data-from database, schema and
    rows, on a throwaway server distill starts (read only through read-only transactions)."""
    if data_from is None:
        server, dialect = _server_and_dialect(bundle, manifest, dialect_name, url)
        scratch = Scratch(server)
        try:
            yield dialect, scratch, ("temporary SQLite file" if server is None
                                     else server.render_as_string(hide_password=True))
        finally:
            scratch.close()
        return
    if url is not None:
        raise DistillError("give --data-from or --url, not both: with --data-from every scratch database "
                           "is a copy on a throwaway server distill starts")
    source, dialect = _dialect_of_data(bundle, manifest, dialect_name, data_from)
    with copies_of(dialect, source, "--data-from") as (copies, first):
        _starts_where_the_bundle_does(first, manifest, history)
        scratch = Scratch(None, copies)  # the first copy stays as it is: the others are made from it
        try:
            yield dialect, scratch, (f"{copies.described}, schema and rows, of "
                                     f"{source.render_as_string(hide_password=True)}")
        finally:
            scratch.close()


def _starts_where_the_bundle_does(copy: sa.URL, manifest: dict, history: History) -> None:
    """Stop unless the copy's version table (as [tool.distill] names it: distill reads it before
    any env.py runs) holds the bundle's start."""
    table = history.settings.standalone.version_table
    start = tuple(sorted(manifest["range"]["from"]))
    engine = sa.create_engine(driver_url(copy), poolclass=sa.pool.NullPool)  # the driver distill uses
    try:
        with engine.connect() as connection:
            if table not in sa.inspect(connection).get_table_names():
                raise DistillError(
                    f"the --data-from database has no {table} table, so it is not at the bundle's start "
                    f"({display_revisions(start) or 'base'}); if env.py names another version table, set "
                    "version_table (and version_table_schema) in [tool.distill] to match")
            found = tuple(sorted(one_line(str(r[0])) for r in connection.exec_driver_sql(
                f"SELECT version_num FROM {connection.dialect.identifier_preparer.quote(table)}")))
    finally:
        engine.dispose()
    if found != start:
        raise DistillError(f"the --data-from database is at {display_revisions(found) or 'base'}, but the "
                           f"bundle starts at {display_revisions(start) or 'base'}: name a copy at its start")


def rehearse(bundle: Path, history: History, *, dialect_name: str | None = None, url: str | None = None,
             standalone: bool = False, data_from: str | None = None) -> Rehearsal:
    """Rehearse the bundle (directory or archive) at ``bundle``: on empty scratch databases, or
    (``data_from``) on copies of the database that URL names."""
    bundle = Path(bundle)
    verified = verify(bundle)
    if not verified.intact:
        raise DistillError(f"{bundle} does not verify, so it is not rehearsed:\n{verified.text()}")
    with bundle_directory(bundle) as root:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
        with _databases(bundle, manifest, history, dialect_name, url, data_from) as (dialect, scratch, where):
            report = Rehearsal(str(bundle), dialect.name, where)
            dependent = _data_dependent_steps(manifest, dialect.name)
            if dependent and data_from is None:
                report.notes.append(f"proven on empty tables only: {', '.join(dependent)} rendered from the "
                                    "rows of a shadow database (DATA-DEPENDENT); rehearse --data-from a copy "
                                    "of the database it will run on to prove them on its rows")
            report.phases.append(Phase("verify", True,
                                       f"{verified.files} files match SHA256SUMS and the manifest"))
            return _phases(root, manifest, history, dialect, scratch, report, standalone)


def _phases(root: Path, manifest: dict, history: History, dialect: Any, scratch: Scratch,
            report: Rehearsal, standalone: bool) -> Rehearsal:
    """The sources check, then the whole files and the step files, phase by phase."""
    edited = _edited(history, manifest)
    if edited:
        report.phases.append(Phase("sources", False, "the current revision scripts differ from the "
                                   f"shipped ones ({', '.join(edited)}): online Alembic would not be "
                                   "a fair reference"))
        return report
    report.phases.append(Phase("sources", True, "the revision scripts are the ones shipped"))
    run = BundleRun(history, root, manifest, dialect, scratch, report,
                    standalone or manifest["options"]["mode"] == "standalone")
    run.whole_files()
    run.step_files()
    return report
