"""distill's Python API: one function per command, each returning a result object.

Release scripts and CI jobs call these instead of running ``distill`` in a subprocess::

    from distill import api

    project = api.Project()                      # the project in the working directory
    print(api.plan(project).to_json())
    result = api.sql(project, dialect="postgresql")
    published = api.release(project, ["2.1"], archive=True)
    report = api.verify("releases/2.1.tar.gz", project=project, rebuild=True)

Errors are :class:`distill.errors.DistillError` (one paragraph, ``exit_code`` for a CLI). verify,
diff and rehearse raise :class:`distill.errors.CouldNotRun` when the check itself cannot run,
as opposed to a result that says "not verified", "differs" or "failed".
"""

from __future__ import annotations

import contextlib
import importlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import dialects
from .atomic import write_atomically
from .errors import CouldNotRun, DistillError, RangeError, could_not_run
from .history import releases
from .names import check_release_name
from .project import Project
from .statements.timeouts import NO_TIMEOUTS, Timeouts

# Each command imports what only it needs (building, auditing, rehearsing: sqlparse, mako, the
# database drivers) when it runs: ``distill plan`` starts as fast as ``alembic history``.
if TYPE_CHECKING:
    from .audit.bundle_diff import DiffReport, Side
    from .audit.check_report import CheckReport
    from .audit.signoff import SignOff
    from .audit.status import StatusReport
    from .bundle.publish import Published, ReleaseExists
    from .bundle.spec import BundleSpec
    from .bundle.verify import Report as VerifyReport
    from .history.plan import Plan
    from .rehearsal.rehearse import Rehearsal
    from .shadow import ShadowSpec
    from .statements.applied_record import RecordTarget
    from .statements.formatting import FormatStats

__all__ = ["CheckReport", "DiffReport", "Plan", "Project", "Published", "Rehearsal", "ReleaseExists",
           "SqlResult", "VerifyReport", "build", "check", "diff", "plan", "rehearse", "release",
           "releases_of", "sign", "sql", "verify"]

# the result types named in __all__, imported when first named
_RESULT_TYPES = {"CheckReport": ("audit.check_report", "CheckReport"),
                 "Plan": ("history.plan", "Plan"),
                 "DiffReport": ("audit.bundle_diff", "DiffReport"),
                 "Published": ("bundle.publish", "Published"),
                 "ReleaseExists": ("bundle.publish", "ReleaseExists"),
                 "Rehearsal": ("rehearsal.rehearse", "Rehearsal"),
                 "VerifyReport": ("bundle.verify", "Report")}


def __getattr__(name: str) -> Any:
    if name not in _RESULT_TYPES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attribute = _RESULT_TYPES[name]
    return getattr(importlib.import_module(f".{module}", __package__), attribute)


def plan(project: Project, from_spec: str | None = None, to_spec: str | None = None, *,
         down: bool = False) -> Plan:
    """The ordered steps of a range (``distill plan``). Upgrades default to base -> heads; a
    downgrade needs both ends."""
    if down and (from_spec is None or to_spec is None):
        raise RangeError("a downgrade (--down) needs both --from and --to")
    from .history.plan import make_plan

    return make_plan(project.history, from_spec or "base", to_spec or "heads", down=down)


@dataclass(frozen=True)
class SqlResult:
    """What ``distill sql`` prints, and how its statements were formatted."""

    dialect: str
    text: str
    stats: FormatStats
    notices: tuple[str, ...] = ()  # per step: manual steps to read, warnings raised while rendering
    steps: int = 0  # how many steps the range has (none: the script is only its guard)


def sql(project: Project, *, dialect: str, from_spec: str | None = None, to_spec: str | None = None,
        down: bool = False, style: str = "sqlparse", standalone: bool = False, guard: bool = True,
        allow_irreversible: bool = False, allow_base: bool = False, output: Path | None = None,
        shadow: ShadowSpec | None = None, timeouts: Timeouts = NO_TIMEOUTS,
        record_applied: bool = False) -> SqlResult:
    """The guarded SQL of a range for one dialect (``distill sql``); written atomically to
    ``output`` when given; rendered against ``shadow`` when given (or configured)."""
    from .offline.single_script import sql_script

    steps = plan(project, from_spec, to_spec, down=down)
    text, stats, notices = sql_script(project.history, steps, dialects.get(dialect), style=style,
                             standalone=project.standalone(standalone), guard=guard,
                             allow_irreversible=allow_irreversible, allow_base=allow_base,
                             shadow=project.shadow(shadow), timeouts=project.timeouts(timeouts),
                             record=_sql_record(project, record_applied))
    if output is not None:
        write_atomically(output, text.encode("utf-8"))
    return SqlResult(dialect, text, stats, tuple(notices), len(steps.steps))


def _sql_record(project: Project, requested: bool) -> RecordTarget | None:
    from .statements.applied_record import RecordTarget

    table = project.record_table(requested)
    return None if table is None else RecordTarget(table, project.settings.project)


def check(project: Project, *, from_spec: str = "base", to_spec: str = "heads",
          dialect_names: Iterable[str] | str | None = None, standalone: bool = False,
          shadow: ShadowSpec | None = None, reproducibility_check: bool | None = None,
          cache: bool = True) -> CheckReport:
    """Every revision of a range rendered on its own, per dialect, up and down (``distill check``),
    offline or against ``shadow`` (or the configured one); rendered a second time to find what
    is not reproducible unless ``reproducibility_check`` is False (or configured so). ``cache``:
    steps rendered before with the same inputs are taken from the render cache (--no-cache)."""
    from .audit.check_cached import report_content, report_from

    shadow = project.shadow(shadow)
    second = project.reproducibility_check(reproducibility_check)
    names, standalone = project.dialect_names(dialect_names), project.standalone(standalone)
    result = project.result_key(cache and shadow is None, "check",
                                (from_spec, to_spec, names, standalone, second))
    found = result.read()
    report = None if found is None else report_from(found[0], project.settings.waivers)
    if report is not None:  # nothing changed since a check that rendered it all reproducibly
        project.found_whole(found[0])
        return report
    project.ready()  # the compatibility check before any server or process starts
    from .audit.check import check as check_range  # not before: Alembic and the rest of rendering
    from .offline import reproducible
    from .shadow import servers_ahead

    if shadow is None and second:  # it loads the history and plans the range while this process does
        reproducible.start(project.settings, project.kept_code(cache), project.generation,
                           (from_spec, to_spec))
    project.use_kept_code(cache)  # against a shadow too: no rendering is kept, the compiled scripts are
    render_cache = project.render_cache(cache) if shadow is None else None
    result.seed(render_cache)
    with servers_ahead([dialects.get(name) for name in names], project.cache_directory(cache)) \
            if shadow is not None else contextlib.nullcontext():  # starting while the history loads
        report = check_range(project.history, from_spec, to_spec, names, standalone=standalone,
                             shadow=shadow, reproducibility_check=second, cache=render_cache)
    result.keep(render_cache, report_content(report))
    return report


def _publish(project: Project, spec: BundleSpec, target: Path, force: bool, archive: bool,
             sign_key: str | Path | None = None, option: str = "--out", cache: bool = True) -> Published:
    from .bundle import signing
    from .bundle.files import restore_into
    from .bundle.publish import publish, read_tree

    if sign_key is not None and not Path(sign_key).is_file():
        raise DistillError(f"the signing key {sign_key} does not exist")
    signer = (lambda directory: signing.sign(directory, Path(sign_key))) if sign_key is not None else None
    result = project.result_key(cache and spec.shadow is None, "bundle", spec)
    found = result.read()
    if found is not None and _str_list(found[0].get("protected")):  # nothing changed since a build
        content, files = found                                      # that rendered it all reproducibly
        project.found_whole(content)
        protected = [project.settings.root, *map(Path, content["protected"])]
        return publish(lambda directory: restore_into(directory, files), target, force=force,
                       archive=archive, protected=protected, sign=signer, option=option)
    project.ready()  # the compatibility check before any server or process starts
    from .bundle.builder import build_into  # not before: Alembic and the rest of rendering
    from .offline import reproducible

    if spec.reproducibility_check and spec.shadow is None:  # it loads the history while this process does
        reproducible.start(project.settings, project.kept_code(cache), project.generation)
    render_cache = project.render_cache(cache) if spec.shadow is None else None  # loads the history
    history = project.history
    protected = [project.settings.root, Path(history.script.dir), *history.version_dirs]
    result.seed(render_cache)

    def write(directory: Path) -> None:
        build_into(history, spec, directory, render_cache)
        result.keep(render_cache, {"protected": [str(p) for p in protected[1:]]},
                    files=lambda: read_tree(directory))

    return publish(write, target, force=force, archive=archive, protected=protected, sign=signer,
                   option=option)


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(item, str) for item in value)


def build(project: Project, out: Path, *, from_spec: str = "base", to_spec: str = "heads",
          name: str | None = None, dialect_names: Iterable[str] | str | None = None, style: str = "sqlparse",
          standalone: bool = False, archive: bool = False, force: bool = False,
          sign_key: str | Path | None = None, shadow: ShadowSpec | None = None,
          timeouts: Timeouts = NO_TIMEOUTS, record_applied: bool = False,
          reproducibility_check: bool | None = None, cache: bool = True) -> Published:
    """A bundle of any range in ``out`` (``distill build``), signed with ``sign_key`` if given,
    rendered against ``shadow`` if given (or configured); ``cache``: renderings taken from and
    kept in the render cache (--no-cache)."""
    from .bundle.spec import BundleSpec

    second = project.reproducibility_check(reproducibility_check)
    out = Path(out)
    spec = BundleSpec(check_release_name(out.name if name is None else name), from_spec, to_spec,
                      project.dialect_names(dialect_names), style, project.standalone(standalone),
                      shadow=project.shadow(shadow), timeouts=project.timeouts(timeouts),
                      record_table=project.record_table(record_applied), reproducibility_check=second)
    return _publish(project, spec, out, force, archive, sign_key, cache=cache)


def release(project: Project, versions: Iterable[str] | str | None = None, *, from_version: str | None = None,
            releases_dir: Path | None = None, dialect_names: Iterable[str] | str | None = None,
            style: str = "sqlparse", standalone: bool = False, archive: bool = False,
            force: bool = False, sign_key: str | Path | None = None,
            shadow: ShadowSpec | None = None, timeouts: Timeouts = NO_TIMEOUTS,
            record_applied: bool = False, reproducibility_check: bool | None = None,
            cache: bool = True) -> list[Published]:
    """The bundles of release ``versions`` (every configured one when None), each from the
    previous release or from ``from_version`` (``distill release``), in ``dialect_names`` or the
    dialects each release declares (else the project's); ``cache`` as for ``build``."""
    from .bundle.spec import BundleSpec

    second = project.reproducibility_check(reproducibility_check)
    settings = project.settings
    if isinstance(versions, str):
        versions = [versions]
    chosen = list(versions) if versions is not None else releases.versions(settings)
    parent = Path(releases_dir) if releases_dir is not None else releases.default_releases_dir(settings)
    published = []
    for version in chosen:
        from_spec, to_spec = releases.release_range(settings, version, from_version)
        chosen_dialects = dialect_names or releases.release_dialects(settings, version)
        spec = BundleSpec(version, from_spec, to_spec, project.dialect_names(chosen_dialects), style,
                          project.standalone(standalone), shadow=project.shadow(shadow),
                          timeouts=project.timeouts(timeouts),
                          record_table=project.record_table(record_applied), reproducibility_check=second)
        published.append(_publish(project, spec, parent / releases.bundle_name(version, from_version),
                                  force, archive, sign_key, option="--releases-dir", cache=cache))
    return published


def releases_of(project: Project) -> list[str]:
    """The project's release versions, in release order."""
    return releases.versions(project.settings)


@could_not_run
def verify(bundle: str | Path, *, project: Project | None = None, rebuild: bool = False,
           allowed_signers: str | Path | None = None, identity: str | None = None,
           require: int = 1) -> VerifyReport:
    """Checksums and manifest of a bundle or archive; with ``rebuild``, also a rebuild from
    ``project``'s current sources; with ``allowed_signers`` (default: the project's
    ``verify_signers``), valid signatures by ``require`` distinct allowed signers (``distill
    verify``). Without trusted keys the result is at best INTACT, never VERIFIED."""
    from .bundle.verify import verify as verify_bundle

    if rebuild and project is None:
        raise DistillError("verify --rebuild needs the project whose sources rebuild the bundle")
    if allowed_signers is None and project is not None:
        allowed_signers = _configured_signers(project)
    if allowed_signers is not None and not Path(allowed_signers).is_file():
        raise CouldNotRun(f"the allowed signers file {allowed_signers} does not exist")
    if require < 1 or (require > 1 and allowed_signers is None):
        raise CouldNotRun("--require N counts signatures by allowed signers: give N >= 1 and "
                          "--allowed-signers FILE (or verify_signers in [tool.distill])")
    return verify_bundle(Path(bundle), rebuild_with=(lambda: project.history) if rebuild else None,
                         allowed_signers=Path(allowed_signers) if allowed_signers else None,
                         identity=identity, require=require)


def _configured_signers(project: Project) -> Path | None:
    """[tool.distill] verify_signers, if there is a project here (a DBA's folder may have none)."""
    from .errors import NoProjectError

    try:
        return project.settings.verify_signers
    except NoProjectError:
        return None


@could_not_run
def status(project: Project, url: str, bundle: str | Path | None = None, *, drift: bool = False,
           standalone: bool = False) -> StatusReport:
    """Where the database at ``url`` is, read-only (``distill status``): its revisions, release,
    applied files, which bundle applies next (``bundle``: a path or a release version); with
    ``drift``, how its schema differs from the history's at that revision."""
    from .audit.status import status as status_of

    given = None
    if bundle is not None:
        path = Path(bundle)
        if not path.exists() and str(bundle) in project.settings.releases:
            path = releases.default_releases_dir(project.settings) / str(bundle)
        given = path
    return status_of(project.history, url, bundle=given, with_drift=drift,
                     standalone=project.standalone(standalone))


def sign(bundle: str | Path, key: str | Path, *, project: Project | None = None,
         rebuild: bool = False) -> SignOff:
    """Verify a bundle directory or archive (with ``rebuild``, against ``project``'s sources),
    then add a signature of its SHA256SUMS by an SSH private key, to the directory and its
    .tar.gz alike (``distill sign``); refuses, writing nothing, a bundle that does not verify."""
    from .audit.signoff import sign_bundle

    if rebuild and project is None:
        raise DistillError("sign --rebuild needs the project whose sources rebuild the bundle")
    return sign_bundle(Path(bundle), Path(key), rebuild_with=(lambda: project.history) if rebuild else None)


def _side(project: Project | None, spec: str | Path) -> Side:
    from .audit.bundle_diff import load_side

    path = Path(spec)
    if path.exists() or project is None:
        return load_side(path, str(spec))
    if str(spec) in project.settings.releases:
        return load_side(releases.built_bundle(project.settings, str(spec)), f"releases/{spec}")
    raise DistillError(f"{spec} is neither a bundle directory, an archive nor a release version "
                       f"({', '.join(project.settings.releases) or 'no releases configured'})")


@could_not_run
def diff(old: str | Path, new: str | Path | None = None, *, project: Project | None = None,
         rebuild: bool = False, ignore_formatting: bool = False) -> DiffReport:
    """Compare two bundles (directories, archives or release versions of ``project``), or one
    with a fresh build from ``project``'s sources (``distill diff``)."""
    from .audit.bundle_diff import compare, side_from_files
    from .bundle.builder import build_files
    from .bundle.manifest import spec_from_manifest

    if (new is None) != rebuild:
        raise DistillError("give OLD and NEW, or one bundle with --rebuild")
    old_side = _side(project, old)
    if rebuild:
        if project is None:
            raise DistillError("diff --rebuild needs the project whose sources rebuild the bundle")
        files = build_files(project.history, spec_from_manifest(old_side.manifest))
        new_side = side_from_files("rebuilt from the current sources", files)
    else:
        new_side = _side(project, new)
    return compare(old_side, new_side, ignore_formatting=ignore_formatting)


@could_not_run
def rehearse(project: Project, bundle: Path, *, dialect: str | None = None, url: str | None = None,
             standalone: bool = False, record: bool = False, data_from: str | None = None) -> Rehearsal:
    """Apply a bundle's exact files with the real client on scratch databases and compare each
    phase with online Alembic (``distill rehearse``); ``data_from``: the scratch databases are
    copies of that database (schema and rows); ``record`` writes the report next to it."""
    from .rehearsal.rehearse import record_path
    from .rehearsal.rehearse import rehearse as rehearse_bundle

    report = rehearse_bundle(Path(bundle), project.history, dialect_name=dialect, url=url,
                             standalone=standalone, data_from=data_from)
    if record:
        text = json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
        write_atomically(record_path(Path(bundle)), text.encode("utf-8"))
    return report
