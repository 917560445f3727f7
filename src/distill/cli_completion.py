"""Shell completion: ``distill completion bash|zsh|fish`` prints the script (click's), and the
options that name project things complete them: dialect names, release versions, branch labels
and revision ids of the project in the working directory (read when asked, as text: no script of
the project runs; nothing on an error)."""

from __future__ import annotations

import re

import click
from click.shell_completion import CompletionItem, get_completion_class

SHELLS = ("bash", "zsh", "fish")
_WORD = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+@-]{0,99}")


def _project_words(ctx: click.Context) -> list[str]:
    """Release versions, branch labels and revision ids of the project (sorted, each once), read
    from its configuration and, as text, from its revision scripts: nothing of the project is
    imported or run (no revision script, no env.py, no setup hook)."""
    from .history.declared import declared_words
    from .project import Project

    try:
        root = ctx.find_root().params
        project = Project(root.get("directory"), root.get("config_file"), example=bool(root.get("example")))
        words = set(project.settings.releases) | declared_words(project.settings)
        # only plain words reach the shell: a label with a newline or a quote is left out
        return sorted(w for w in words if _WORD.fullmatch(w)) + ["base", "head", "heads"]
    except Exception:  # noqa: BLE001 - a completion never fails the shell: it offers nothing
        return ["base", "head", "heads"]


def complete_revision(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    return [CompletionItem(word) for word in _project_words(ctx) if word.startswith(incomplete)]


def complete_dialects(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A comma-separated list: completes its last name."""
    from . import dialects

    done, _, last = incomplete.rpartition(",")
    prefix = f"{done}," if done else ""
    return [CompletionItem(prefix + name) for name in dialects.available() if name.startswith(last)]


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash: `eval "$(distill completion bash)"` in
    ~/.bashrc; zsh: the same in ~/.zshrc; fish: `distill completion fish | source`)."""
    root = ctx.find_root().command
    script = get_completion_class(shell)(root, {}, "distill", "_DISTILL_COMPLETE")
    click.echo(script.source())
