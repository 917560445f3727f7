"""The distill command line: options parsed, the API called (``distill.api``), results printed."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__, cli_audit, progress, terminal
from .cli_completion import complete_revision, completion_command
from .cli_options import (
    DialectNames,
    DistillGroup,
    cache_option,
    json_text,
    needs_both_ends,
    range_options,
    record_option,
    reproducibility_notes,
    reproducibility_option,
    shadow_options,
    timeout_options,
)
from .errors import DistillError, Terminated, UnsafeArchive
from .lazy import LazyModule
from .names import display_revisions
from .statements import styles
from .statements.styles import STYLES
from .terminal import echo, show_click_error

if TYPE_CHECKING:
    from .bundle.publish import Published

# imported by the command that runs: --help and --version import neither Alembic nor SQLAlchemy
api = LazyModule("distill.api")
compat = LazyModule("distill.alembic_compat")
second_rendering = LazyModule("distill.offline.reproducible")
# the commands that may render a second time to check reproducibility: its interpreter is started
# first thing, so that it imports Alembic on the other core while this one does (unused, it is
# killed at exit)
_MAY_RENDER_TWICE = frozenset({"check", "build", "release"})


@click.group(cls=DistillGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="distill")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="distill.toml, pyproject.toml or alembic.ini to use.")
@click.option("-C", "--directory", type=click.Path(path_type=Path, file_okay=False, exists=True),
              help="Run as if started in this directory.")
@click.option("--example", is_flag=True, help="Run on the bookshop example that ships with distill.")
@click.option("-q", "--quiet", is_flag=True, help="No progress line, even on a terminal.")
@click.pass_context
def main(click_ctx: click.Context, config_file: Path | None, directory: Path | None, example: bool,
         quiet: bool) -> None:
    """Turn an Alembic migration history into reviewed, reproducible SQL."""
    progress.QUIET = quiet
    progress.begin()  # the elapsed time on the progress line counts from here, across phases
    if click_ctx.invoked_subcommand == "completion":  # prints a script: no project, nothing imported
        return
    if click_ctx.invoked_subcommand in _MAY_RENDER_TWICE:
        second_rendering.start()
    notice = styles.sqlparse_notice()
    if notice:
        echo(notice, err=True)
    click_ctx.obj = api.Project(directory, config_file, example=example, before_loading=_before_loading,
                                warn=_warn)


def _before_loading() -> str | None:
    """Before a command loads a history or starts what renders (what imports Alembic: a result
    found whole in the render cache does neither, and says again the warning kept with it): a
    paragraph and exit 2 when a patched Alembic original changed; the warning to say when Alembic
    or SQLAlchemy was not tested."""
    compat.require_compatible()
    return compat.compatibility_warning()


def _warn(warning: str) -> None:
    echo(warning, err=True)


@main.command()
@range_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.pass_obj
def plan(project: api.Project, from_spec, to_spec, down, as_json) -> None:
    """Show the ordered steps of a range."""
    needs_both_ends(from_spec, to_spec, down)
    result = api.plan(project, from_spec, to_spec, down=down)
    if as_json:
        echo(json_text(result.to_json()))
        return
    echo(f"{result.direction} {display_revisions(result.start)} -> {display_revisions(result.target)}: "
               f"{len(result.steps)} step(s)")
    for number, step in enumerate(result.steps, 1):
        flags = (("merge", step.is_merge), ("branch point", step.is_branch_point))
        marks = [name for name, on in flags if on]
        if step.dependencies:
            marks.append("depends on " + ", ".join(step.dependencies))
        if step.branch_labels:
            marks.append("labels " + ", ".join(step.branch_labels))
        extra = f"  [{'; '.join(marks)}]" if marks else ""
        echo(f"{number:4d}. {display_revisions(step.from_revisions)} -> "
                   f"{display_revisions(step.to_revisions)}  {step.message}{extra}")


@main.command()
@range_options
@click.option("--dialect", "dialect_name", required=True,
              type=DialectNames(several=False), help="Target database.")
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
@shadow_options
@timeout_options
@record_option
@click.pass_obj
def sql(project: api.Project, from_spec, to_spec, down, dialect_name, standalone, style, no_guard,
        allow_irreversible, allow_base, verbose, output, shadow, timeouts, record_applied) -> None:
    """Print the SQL of a range (with the alembic_version updates) for one dialect."""
    needs_both_ends(from_spec, to_spec, down)
    result = api.sql(project, dialect=dialect_name, from_spec=from_spec, to_spec=to_spec, down=down,
                     style=style, standalone=standalone, guard=not no_guard,
                     allow_irreversible=allow_irreversible, allow_base=allow_base, output=output,
                     shadow=shadow, timeouts=timeouts, record_applied=record_applied)
    if verbose:
        echo(f"distill: {dialect_name}: {result.stats.summary()}", err=True)
    for notice in result.notices:
        echo(f"distill: revision {notice}", err=True)
    if not result.steps:
        echo(f"distill: the range {from_spec or 'base'} -> {to_spec or 'heads'} has no steps: the "
                   "script only checks that the database is where the range starts (its guard)", err=True)
    if output is None:
        _print_sql(result.text)


def _print_sql(text: str) -> None:
    """The SQL on stdout as it is (it is SQL, not terminal text: never altered), except on a
    terminal, which would obey the control characters a revision's SQL can hold."""
    if terminal.stdout_is_a_terminal() and terminal.holds_hidden(text):
        raise DistillError("the SQL holds control characters (an escape sequence, a C1 or "
                           "bidirectional control) that a terminal would obey instead of show: distill "
                           "does not print it on a terminal; write it with -o FILE or through a pipe "
                           "and read it with a viewer that shows them (e.g. cat -v)")
    sys.stdout.write(text)


def _bundle_options(func):
    """Options shared by build and release."""
    for option in reversed([
        click.option("--dialect", "dialect_spec", default=None, type=DialectNames(several=True),
                     help="Comma-separated dialects. Default: [tool.distill] dialects."),
        click.option("--format", "style", type=click.Choice(STYLES), default="sqlparse",
                     show_default=True, help="How statements are laid out."),
        click.option("--standalone", is_flag=True, help="Do not run env.py."),
        click.option("--archive", is_flag=True, help="Also write <bundle dir>.tar.gz next to it."),
        click.option("--force", is_flag=True, help="Replace an existing bundle that differs."),
        click.option("--sign", "sign_key", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help="Sign SHA256SUMS with this SSH private key (SHA256SUMS.sig)."),
    ]):
        func = option(func)
    return cache_option(shadow_options(timeout_options(record_option(reproducibility_option(func)))))


def _display(path: Path) -> str:
    resolved = Path(path).resolve()
    return str(resolved.relative_to(Path.cwd())) if resolved.is_relative_to(Path.cwd()) else str(path)


def _report(result: Published) -> None:
    echo(f"{_display(result.path)}: {result.status}"
               + (f" (+ {_display(result.archive)})" if result.archive else ""))


@main.command()
@click.option("--from", "from_spec", default="base", show_default=True, help="Where the range starts.",
              shell_complete=complete_revision)
@click.option("--to", "to_spec", default="heads", show_default=True, help="Where the range ends.",
              shell_complete=complete_revision)
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="The bundle directory to create.")
@click.option("--name", default=None, help="Release name recorded in the bundle. Default: --out's name.")
@_bundle_options
@click.pass_obj
def build(project: api.Project, from_spec, to_spec, out, name, dialect_spec, style, standalone, archive,
          force, sign_key, shadow, timeouts, record_applied, reproducibility_check, cache) -> None:
    """Build a bundle (SQL per dialect and step, manifest, checksums, runbook) for a range."""
    _report(api.build(project, out, from_spec=from_spec, to_spec=to_spec, name=name,
                      dialect_names=dialect_spec, style=style, standalone=standalone, archive=archive,
                      force=force, sign_key=sign_key, shadow=shadow, timeouts=timeouts,
                      record_applied=record_applied, reproducibility_check=reproducibility_check,
                      cache=cache))
    reproducibility_notes()


@main.command()
@click.argument("version", required=False, shell_complete=complete_revision)
@click.option("--all", "all_versions", is_flag=True, help="Every version of [tool.distill.releases].")
@click.option("--from", "from_version", default=None,
              help="A cumulative bundle from this earlier release version.")
@click.option("--releases-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Where release bundles go. Default: releases/ of the project.")
@_bundle_options
@click.pass_obj
def release(project: api.Project, version, all_versions, from_version, releases_dir, dialect_spec, style,
            standalone, archive, force, sign_key, shadow, timeouts, record_applied,
            reproducibility_check, cache) -> None:
    """Build the bundle of release VERSION (from the previous release), or of --all releases."""
    if all_versions == bool(version):
        raise click.UsageError("give a VERSION or --all")
    if all_versions and from_version:
        raise click.UsageError("--from goes with one VERSION, not --all")
    versions = None if all_versions else [version]
    # One at a time, so that each bundle is reported as soon as it is in place.
    for each in versions or api.releases_of(project):
        for result in api.release(project, [each], from_version=from_version, releases_dir=releases_dir,
                                  dialect_names=dialect_spec, style=style, standalone=standalone,
                                  archive=archive, force=force, sign_key=sign_key, shadow=shadow,
                                  timeouts=timeouts, record_applied=record_applied,
                                  reproducibility_check=reproducibility_check, cache=cache):
            _report(result)
    reproducibility_notes()


for _command in (*cli_audit.COMMANDS, completion_command):  # verify, status, sign, check, diff, rehearse
    main.add_command(_command)


def _terminate(*_: object) -> None:
    raise Terminated(143)


def run() -> int:
    """Entry point with distill's error reporting: one paragraph on stderr, non-zero exit."""
    # SIGTERM unwinds like Ctrl-C: temporary servers and temp files are removed on the way out
    signal.signal(signal.SIGTERM, _terminate)
    try:
        try:
            main.main(standalone_mode=False, complete_var="_DISTILL_COMPLETE")
        finally:
            progress.erase()  # a phase cut short by an error leaves its line: the error starts clean
    except UnsafeArchive as exc:  # verify: a crafted archive is a bundle that does not verify
        echo(f"distill: NOT VERIFIED: {exc.message}", err=True)
        return 1
    except DistillError as exc:
        echo(f"distill: error: {exc.message}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return int(exc.code or 0)
    except click.exceptions.Abort:
        echo("Aborted!", err=True)
        return 1
    except click.ClickException as exc:
        show_click_error(exc)
        return exc.exit_code
    return 0
