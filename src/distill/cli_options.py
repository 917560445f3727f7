"""Options several distill commands share, and how they become API arguments."""

from __future__ import annotations

import functools
import json

import click

from .cli_completion import complete_revision
from .statements.timeouts import Timeouts, parse_duration


def json_text(value) -> str:
    """What --json prints: indented, keys sorted."""
    return json.dumps(value, indent=2, sort_keys=True)


def range_options(func):
    """--from, --to and --down."""
    func = click.option("--down", is_flag=True, help="Walk the range downwards (a downgrade).")(func)
    func = click.option(
        "--to", "to_spec", default=None, shell_complete=complete_revision,
        help="Where the range ends. Default: heads (upgrade); required with --down.",
    )(func)
    func = click.option(
        "--from", "from_spec", default=None, shell_complete=complete_revision,
        help="Where the range starts: revision(s), comma-separated; a label, head(s), base, "
        "or a release version. Default: base (upgrade); required with --down.",
    )(func)
    return func


def needs_both_ends(from_spec: str | None, to_spec: str | None, down: bool) -> None:
    """A downgrade names both of its ends."""
    if down and (from_spec is None or to_spec is None):
        raise click.UsageError("--down needs both --from and --to")


def shadow_options(func):
    """--shadow / --shadow-url, given to the command as one ``shadow`` (a ShadowSpec or None)."""

    @functools.wraps(func)
    def wrapper(*args, shadow: bool, shadow_url: str | None, **kwargs):
        from .shadow import ShadowSpec  # imports SQLAlchemy: only for a command that runs

        spec = ShadowSpec(url=shadow_url) if shadow or shadow_url else None
        return func(*args, shadow=spec, **kwargs)

    wrapper = click.option(
        "--shadow-url", default=None, metavar="URL",
        help="Render against this database, left unchanged: an empty scratch one at the range's start, "
        "or a restored copy of production when a revision's SQL depends on its rows.")(wrapper)
    return click.option(
        "--shadow", is_flag=True,
        help="Render against a throwaway shadow database instead of offline: for revisions that "
        "read the database while migrating.")(wrapper)


def record_option(func):
    """--record-applied."""
    return click.option(
        "--record-applied", is_flag=True,
        help="End every file with an INSERT into the record of applied files (distill_applied, or "
        "[tool.distill] record_table), created if absent. Default: [tool.distill] record_applied.")(func)


def reproducibility_option(func):
    """--reproducibility-check / --no-reproducibility-check (None: as configured)."""
    return click.option(
        "--reproducibility-check/--no-reproducibility-check", "reproducibility_check", default=None,
        help="Render everything a second time (another hash seed, the clock moved forward) to find "
        "revisions whose SQL is not the same twice. Default: [tool.distill] reproducibility_check, "
        "else on.")(func)


def cache_option(func):
    """--no-cache (given to the command as ``cache``: True unless given)."""

    @functools.wraps(func)
    def wrapper(*args, no_cache: bool, **kwargs):
        return func(*args, cache=not no_cache, **kwargs)

    return click.option(
        "--no-cache", is_flag=True,
        help="Render everything again: neither read nor write the render cache ([tool.distill] "
        "cache_dir, else $XDG_CACHE_HOME/distill or ~/.cache/distill).")(wrapper)


def reproducibility_notes() -> None:
    """What the reproducibility check said about itself (a clock it could not move), on stderr."""
    from .offline import reproducible

    for note in reproducible.NOTES:
        click.echo(f"distill: {note}", err=True)


def timeout_options(func):
    """--lock-timeout / --statement-timeout, given to the command as one ``timeouts`` (Timeouts)."""

    @functools.wraps(func)
    def wrapper(*args, lock_timeout: str | None, statement_timeout: str | None, **kwargs):
        timeouts = Timeouts(*(None if text is None else parse_duration(text, option) for text, option in (
            (lock_timeout, "--lock-timeout"), (statement_timeout, "--statement-timeout"))))
        return func(*args, timeouts=timeouts, **kwargs)

    wrapper = click.option(
        "--statement-timeout", default=None, metavar="DURATION",
        help="Stop a statement that runs longer (500ms, 5s, 2min), set at the top of every file "
        "where the dialect has such a setting.")(wrapper)
    return click.option(
        "--lock-timeout", default=None, metavar="DURATION",
        help="Stop a statement that waits longer for a lock (500ms, 5s, 2min) instead of queueing "
        "every query behind it. Default: [tool.distill] lock_timeout, else none.")(wrapper)
