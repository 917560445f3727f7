"""The distill command line: thin verbs over the planning and rendering modules."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import click

from . import __version__, dialects, releases
from .archive import UnsafeArchive
from .bundle import BundleSpec, build_files, build_into, spec_from_manifest
from .check import check
from .compare import compare, load_side, side_from_files
from .config import load
from .diff_output import as_html, as_json, as_text
from .errors import CouldNotRun, DistillError
from .files import write_atomically
from .formatting import STYLES
from .history import History
from .pipeline import sql_script
from .plan import Plan, make_plan
from .publish import check_release_name, publish
from .rehearse import record_path, rehearse
from .releases import default_releases_dir
from .verify import verify


class _Context:
    def __init__(self, config_file: Path | None, directory: Path | None) -> None:
        self.config_file = config_file
        self.directory = directory
        self._history: History | None = None

    def history(self) -> History:
        if self._history is None:
            self._history = History(load(self.directory, self.config_file))
        return self._history


def _range_options(func):
    func = click.option("--down", is_flag=True, help="Walk the range downwards (a downgrade).")(func)
    func = click.option(
        "--to", "to_spec", default=None,
        help="Where the range ends. Default: heads (upgrade); required with --down.",
    )(func)
    func = click.option(
        "--from", "from_spec", default=None,
        help="Where the range starts: revision(s), comma-separated; a label, head(s), base, "
        "or a release version. Default: base (upgrade); required with --down.",
    )(func)
    return func


def _check_exit_codes(func):
    """For verify, diff and rehearse: 0 yes, 1 no, 2 the check could not run at all."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except UnsafeArchive:
            raise  # a crafted archive is an answer (not verified), not a failure to run
        except DistillError as exc:
            raise CouldNotRun(exc.message) from None
    return wrapper


def _plan(ctx: _Context, from_spec: str | None, to_spec: str | None, down: bool) -> Plan:
    if down and (from_spec is None or to_spec is None):
        raise click.UsageError("--down needs both --from and --to")
    return make_plan(ctx.history(), from_spec or "base", to_spec or "heads", down=down)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="distill")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="distill.toml, pyproject.toml or alembic.ini to use.")
@click.option("-C", "--directory", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Run as if started in this directory.")
@click.pass_context
def main(click_ctx: click.Context, config_file: Path | None, directory: Path | None) -> None:
    """Turn an Alembic migration history into reviewed, reproducible SQL."""
    click_ctx.obj = _Context(config_file, directory)


@main.command()
@_range_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def plan(ctx: _Context, from_spec, to_spec, down, as_json) -> None:
    """Show the ordered steps of a range."""
    result = _plan(ctx, from_spec, to_spec, down)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, sort_keys=True))
        return
    click.echo(f"{result.direction} {_names(result.start)} -> {_names(result.target)}: "
               f"{len(result.steps)} step(s)")
    for number, step in enumerate(result.steps, 1):
        marks = [m for m, on in (("merge", step.is_merge), ("branch point", step.is_branch_point)) if on]
        if step.dependencies:
            marks.append("depends on " + ", ".join(step.dependencies))
        if step.branch_labels:
            marks.append("labels " + ", ".join(step.branch_labels))
        extra = f"  [{'; '.join(marks)}]" if marks else ""
        click.echo(f"{number:4d}. {_names(step.from_revisions)} -> {_names(step.to_revisions)}  "
                   f"{step.message}{extra}")


@main.command()
@_range_options
@click.option("--dialect", "dialect_name", required=True,
              type=click.Choice(dialects.available()), help="Target database.")
@click.option("--standalone", is_flag=True,
              help="Do not run env.py; take version-table options from [tool.distill].")
@click.option("--format", "style", type=click.Choice(STYLES), default="sqlparse", show_default=True,
              help="sqlparse: reindent each statement, verified token by token; none: as Alembic wrote it.")
@click.option("--no-guard", is_flag=True,
              help="Leave out the guard that stops the script at the wrong starting revision.")
@click.option("--allow-irreversible", is_flag=True,
              help="Downgrade across steps that cannot be reverted (the file says what stays).")
@click.option("--allow-base", is_flag=True, help="Allow a downgrade to base: it drops everything.")
@click.option("-v", "--verbose", is_flag=True, help="Report formatting counts on stderr.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file (atomically) instead of stdout.")
@click.pass_obj
def sql(ctx: _Context, from_spec, to_spec, down, dialect_name, standalone, style, no_guard,
        allow_irreversible, allow_base, verbose, output) -> None:
    """Print the SQL of a range (with the alembic_version updates) for one dialect."""
    history = ctx.history()
    result = _plan(ctx, from_spec, to_spec, down)
    dialect = dialects.get(dialect_name)
    text, stats = sql_script(history, result, dialect, style=style,
                             standalone=standalone or history.settings.mode == "standalone",
                             guard=not no_guard, allow_irreversible=allow_irreversible,
                             allow_base=allow_base)
    if verbose:
        click.echo(f"distill: {dialect.name}: {stats.summary()}", err=True)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text.encode("utf-8"))


def _bundle_options(func):
    """Options shared by build and release."""
    for option in reversed([
        click.option("--dialect", "dialect_spec", default=None,
                     help="Comma-separated dialects. Default: [tool.distill] dialects."),
        click.option("--format", "style", type=click.Choice(STYLES), default="sqlparse",
                     show_default=True, help="How statements are laid out."),
        click.option("--standalone", is_flag=True, help="Do not run env.py."),
        click.option("--archive", is_flag=True, help="Also write <bundle dir>.tar.gz next to it."),
        click.option("--force", is_flag=True, help="Replace an existing bundle that differs."),
    ]):
        func = option(func)
    return func


def _publish(history: History, spec: BundleSpec, target: Path, force: bool, archive: bool) -> None:
    result = publish(lambda directory: build_into(history, spec, directory), target, force=force,
                     archive=archive)
    where = _display(result.path)
    click.echo(f"{where}: {result.status}" + (f" (+ {_display(result.archive)})" if result.archive else ""))


def _display(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _spec_dialects(history: History, dialect_spec: str | None) -> tuple[str, ...]:
    chosen = dialect_spec.split(",") if dialect_spec else list(history.settings.dialects)
    return tuple(d.name for d in dialects.parse_list(chosen))


@main.command()
@click.option("--from", "from_spec", default="base", show_default=True, help="Where the range starts.")
@click.option("--to", "to_spec", default="heads", show_default=True, help="Where the range ends.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The bundle directory to create.")
@click.option("--name", default=None, help="Release name recorded in the bundle. Default: --out's name.")
@_bundle_options
@click.pass_obj
def build(ctx: _Context, from_spec, to_spec, out, name, dialect_spec, style, standalone, archive,
          force) -> None:
    """Build a bundle (SQL per dialect and step, manifest, checksums, runbook) for a range."""
    history = ctx.history()
    spec = BundleSpec(check_release_name(out.name if name is None else name), from_spec, to_spec,
                      _spec_dialects(history, dialect_spec), style,
                      standalone or history.settings.mode == "standalone")
    _publish(history, spec, out, force, archive)


@main.command()
@click.argument("version", required=False)
@click.option("--all", "all_versions", is_flag=True, help="Every version of [tool.distill.releases].")
@click.option("--from", "from_version", default=None,
              help="A cumulative bundle from this earlier release version.")
@click.option("--releases-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where release bundles go. Default: releases/ of the project.")
@_bundle_options
@click.pass_obj
def release(ctx: _Context, version, all_versions, from_version, releases_dir, dialect_spec, style,
            standalone, archive, force) -> None:
    """Build the bundle of release VERSION (from the previous release), or of --all releases."""
    history = ctx.history()
    settings = history.settings
    if all_versions == bool(version):
        raise click.UsageError("give a VERSION or --all")
    if all_versions and from_version:
        raise click.UsageError("--from goes with one VERSION, not --all")
    parent = releases_dir or default_releases_dir(settings)
    for each in releases.versions(settings) if all_versions else [version]:
        from_spec, to_spec = releases.release_range(settings, each, from_version)
        spec = BundleSpec(each, from_spec, to_spec, _spec_dialects(history, dialect_spec), style,
                          standalone or settings.mode == "standalone")
        _publish(history, spec, parent / releases.bundle_name(each, from_version), force, archive)


@main.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Also render the bundle again from the current sources.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@_check_exit_codes
def verify_command(ctx: _Context, bundle, rebuild, as_json) -> None:
    """Check a bundle or archive: checksums, manifest, and (--rebuild) the current sources.

    Exit 0 verified, 1 not verified, 2 could not run.
    """
    report = verify(bundle, rebuild_with=ctx.history if rebuild else None)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True))
    else:
        click.echo(report.text())
    if not report.verified:
        raise SystemExit(1)


@main.command("check")
@click.option("--from", "from_spec", default="base", show_default=True, help="Where the range starts.")
@click.option("--to", "to_spec", default="heads", show_default=True, help="Where the range ends.")
@click.option("--dialect", "dialect_spec", default=None,
              help="Comma-separated dialects. Default: [tool.distill] dialects.")
@click.option("--standalone", is_flag=True, help="Do not run env.py.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def check_command(ctx: _Context, from_spec, to_spec, dialect_spec, standalone, as_json) -> None:
    """Render every revision on its own, per dialect, up and down; report all that cannot render
    offline, and the irreversible, destructive and lock-risk findings. Exit 1 on any problem."""
    history = ctx.history()
    report = check(history, from_spec, to_spec, _spec_dialects(history, dialect_spec),
                   standalone=standalone or history.settings.mode == "standalone")
    click.echo(json.dumps(report.to_json(), indent=2, sort_keys=True) if as_json else report.text())
    if not report.ok:
        raise SystemExit(1)


@main.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--rebuild", is_flag=True, help="Compare OLD with a fresh build from the current sources.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True)
@click.option("--ignore-formatting", is_flag=True, help="Compare SQL token by token: layout changes vanish.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file (atomically) instead of stdout.")
@click.pass_obj
@_check_exit_codes
def diff_command(ctx: _Context, old, new, rebuild, output_format, ignore_formatting, output) -> None:
    """Compare two bundles (directories, archives or release versions), or one with --rebuild.

    Exit 0 no differences, 1 differences, 2 could not run.
    """
    if bool(new) == rebuild:
        raise click.UsageError("give OLD and NEW, or one bundle with --rebuild")
    old_side = _side(ctx, old)
    if rebuild:
        history = ctx.history()
        files = build_files(history, spec_from_manifest(old_side.manifest))
        new_side = side_from_files("rebuilt from the current sources", files)
    else:
        new_side = _side(ctx, new)
    report = compare(old_side, new_side, ignore_formatting=ignore_formatting)
    text = {"text": as_text, "json": as_json, "html": as_html}[output_format](report)
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomically(output, click.unstyle(text).encode("utf-8"))
    if report.differs:
        raise SystemExit(1)


def _side(ctx: _Context, spec: str):
    path = Path(spec)
    if path.exists():
        return load_side(path, spec)
    settings = ctx.history().settings
    if spec in settings.releases:
        base = default_releases_dir(settings) / spec
        for candidate in (base, base.parent / f"{spec}.tar.gz"):
            if candidate.exists():
                return load_side(candidate, f"releases/{spec}")
        raise DistillError(f"release {spec} has not been built: no {base} (run distill release {spec})")
    raise DistillError(f"{spec} is neither a bundle directory, an archive nor a release version "
                       f"({', '.join(settings.releases) or 'no releases configured'})")


@main.command("rehearse")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--dialect", "dialect_name", default=None,
              help="Which of the bundle's dialects. Default: sqlite, or the --url's.")
@click.option("--url", default=None,
              help="A server (SQLAlchemy URL) on which distill creates and drops scratch databases. "
              "Default: temporary SQLite files.")
@click.option("--standalone", is_flag=True, help="Run online Alembic without env.py.")
@click.option("--record", is_flag=True, help="Write the report next to the bundle (VERSION.rehearsal.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
@_check_exit_codes
def rehearse_command(ctx: _Context, bundle, dialect_name, url, standalone, record, as_json) -> None:
    """Apply a bundle's exact files with the real client on scratch databases, up, down, up again
    and once more (the guard must refuse), whole and step by step, comparing each phase with
    online Alembic. Exit 0 passed, 1 failed, 2 could not run."""
    report = rehearse(bundle, ctx.history(), dialect_name=dialect_name, url=url, standalone=standalone)
    text = json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n"
    click.echo(text if as_json else report.text(), nl=not as_json)
    if record:
        write_atomically(record_path(bundle), text.encode("utf-8"))
    if not report.passed:
        raise SystemExit(1)


def _names(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "base"


def run() -> int:
    """Entry point with distill's error reporting: one paragraph on stderr, non-zero exit."""
    try:
        main.main(standalone_mode=False)
    except UnsafeArchive as exc:  # verify: a crafted archive is a bundle that does not verify
        click.echo(f"distill: NOT VERIFIED: {exc.message}", err=True)
        return 1
    except DistillError as exc:
        click.echo(f"distill: error: {exc.message}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0
