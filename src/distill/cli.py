"""The distill command line: thin verbs over the planning and rendering modules."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__, dialects
from .config import load
from .emit import script_text
from .errors import DistillError
from .files import write_atomically
from .formatting import STYLES, format_rendering
from .history import History
from .plan import Plan, make_plan
from .render import render


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
@click.option("-v", "--verbose", is_flag=True, help="Report formatting counts on stderr.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to this file (atomically) instead of stdout.")
@click.pass_obj
def sql(ctx: _Context, from_spec, to_spec, down, dialect_name, standalone, style, verbose,
        output) -> None:
    """Print the SQL of a range (with the alembic_version updates) for one dialect."""
    history = ctx.history()
    result = _plan(ctx, from_spec, to_spec, down)
    dialect = dialects.get(dialect_name)
    standalone = standalone or history.settings.mode == "standalone"
    rendering, stats = format_rendering(render(history, result, dialect, standalone=standalone), style)
    if verbose:
        click.echo(f"distill: {dialect.name}: {stats.summary()}", err=True)
    text = script_text(rendering.statements(), dialect)
    if output is None:
        sys.stdout.write(text)
    else:
        write_atomically(output, text.encode("utf-8"))


def _names(revs: tuple[str, ...]) -> str:
    return ", ".join(revs) if revs else "base"


def run() -> int:
    """Entry point with distill's error reporting: one paragraph on stderr, non-zero exit."""
    try:
        main.main(standalone_mode=False)
    except DistillError as exc:
        click.echo(f"distill: error: {exc.message}", err=True)
        return 1
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return 0
