"""Options several distill commands share, and how they become API arguments."""

from __future__ import annotations

import functools
import json

import click

from .cli_completion import complete_dialects, complete_revision
from .errors import DistillError
from .names import did_you_mean
from .statements.timeouts import Timeouts, parse_duration
from .terminal import echo


def json_text(value) -> str:
    """What --json prints: indented, keys sorted."""
    return json.dumps(value, indent=2, sort_keys=True)


class DialectNames(click.ParamType):
    """``--dialect``: one dialect name, or (``several``) a comma-separated list of them, checked
    while the options are parsed, so that a typo is a usage error (exit 2) with a suggestion.
    ``postgres`` is not an alias of ``postgresql`` (a dialect has one name, the one its files and
    manifests carry): it is suggested."""

    name = "dialect"

    def __init__(self, several: bool) -> None:
        self.several = several

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str:  # noqa: ARG002 - click's
        return "D,..." if self.several else "[" + "|".join(_dialect_names()) + "]"

    def convert(self, value, param, ctx):
        known = _dialect_names()
        # a list may hold empty names (``postgresql,``), as the configuration's may; one name may not
        names = [n.strip() for n in value.split(",") if n.strip()] if self.several else [value]
        for name in names:
            if name not in known:
                self.fail(f"{name!r} is not a dialect distill knows ({', '.join(known)})"
                          + did_you_mean(name, known), param, ctx)
        return value

    def shell_complete(self, ctx, param, incomplete):
        return complete_dialects(ctx, param, incomplete)


def usage_checked(parse):
    """An option's callback: ``parse(value)`` checks the value while the options are parsed, and
    its DistillError is a usage error (exit 2), not the exit code of the command's own answer."""
    def callback(ctx: click.Context, _param: click.Parameter, value):
        if value is not None:
            try:
                parse(value)
            except DistillError as exc:
                raise click.UsageError(exc.message, ctx) from None
        return value
    return callback


def _dialect_names() -> tuple[str, ...]:
    from .dialects import available  # the data files' names: no dialect is parsed

    return available()


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
        spec = None
        if shadow or shadow_url:
            from .shadow import ShadowSpec  # imports SQLAlchemy: only for a command that uses it

            spec = ShadowSpec(url=shadow_url)
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
        echo(f"distill: {note}", err=True)


def timeout_options(func):
    """--lock-timeout / --statement-timeout, given to the command as one ``timeouts`` (Timeouts)."""

    @functools.wraps(func)
    def wrapper(*args, lock_timeout: str | None, statement_timeout: str | None, **kwargs):
        timeouts = Timeouts(*(None if text is None else parse_duration(text, option) for text, option in (
            (lock_timeout, "--lock-timeout"), (statement_timeout, "--statement-timeout"))))
        return func(*args, timeouts=timeouts, **kwargs)

    wrapper = click.option(
        "--statement-timeout", default=None, metavar="DURATION",
        callback=usage_checked(lambda text: parse_duration(text, "--statement-timeout")),
        help="Stop a statement that runs longer (500ms, 5s, 2min), set at the top of every file "
        "where the dialect has such a setting.")(wrapper)
    return click.option(
        "--lock-timeout", default=None, metavar="DURATION",
        callback=usage_checked(lambda text: parse_duration(text, "--lock-timeout")),
        help="Stop a statement that waits longer for a lock (500ms, 5s, 2min) instead of queueing "
        "every query behind it. Default: [tool.distill] lock_timeout, else none.")(wrapper)


_GLOBAL_FLAGS = ("-q", "--quiet", "--example")
_GLOBAL_VALUED = ("-C", "--directory", "--config")


class DistillGroup(click.Group):
    """distill's group: its own options (``-q``, ``-C DIR``, ``--config FILE``, ``--example``)
    may also follow the command (``distill check -q``), where the command has no option of that
    name; they are moved before it, and nothing after ``--`` is."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _globals_first(self, ctx, list(args)))


def _globals_first(group: click.Group, ctx: click.Context, args: list[str]) -> list[str]:
    at = 0  # the command's name: after the group's own options
    while at < len(args) and args[at].startswith("-") and args[at] != "--":
        at += 2 if args[at] in _GLOBAL_VALUED else 1
    command = group.get_command(ctx, args[at]) if at < len(args) else None
    if command is None:
        return args
    takes_value = {name: not (param.is_flag or param.count) for param in command.params
                   if isinstance(param, click.Option) for name in (*param.opts, *param.secondary_opts)}
    moved: list[str] = []
    kept: list[str] = []
    rest = args[at + 1:]
    index = 0
    while index < len(rest):
        word, name = rest[index], rest[index].split("=", 1)[0]
        step = 2 if takes_value.get(word) or word in _GLOBAL_VALUED and word not in takes_value else 1
        if word == "--":
            kept += rest[index:]
            break
        if name not in takes_value and (name in _GLOBAL_FLAGS or name in _GLOBAL_VALUED):
            moved += rest[index:index + step]
        else:
            kept += rest[index:index + step]
        index += step
    return [*args[:at], *moved, args[at], *kept]
