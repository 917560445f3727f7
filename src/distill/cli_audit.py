"""The distill command line's audit commands (verify, status, sign, check, diff, rehearse):
options parsed, the API called, results printed. ``cli`` adds them to its group."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .audit.fail_on import KINDS as FAIL_ON_KINDS
from .cli_completion import complete_dialects, complete_revision
from .cli_options import cache_option, json_text, reproducibility_option, shadow_options
from .lazy import LazyModule

# imported by the command that runs (see cli)
api = LazyModule("distill.api")
atomic = LazyModule("distill.atomic")
check_policy = LazyModule("distill.audit.check_policy")
diff_report = LazyModule("distill.audit.diff_report")


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Also render the bundle again from the current sources.")
@click.option("--allowed-signers", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Require a valid signature by a key in this OpenSSH allowed_signers file.")
@click.option("--identity", default=None, help="The signer to require (default: any allowed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify_command(project: api.Project, bundle, rebuild, allowed_signers, identity, as_json) -> None:
    """Check a bundle or archive: checksums, manifest, signature, (--rebuild) the sources.

    Exit 0 verified, 1 not verified, 2 could not run."""
    report = api.verify(bundle, project=project, rebuild=rebuild, allowed_signers=allowed_signers,
                        identity=identity)
    click.echo(json_text(report.to_json()) if as_json else report.text())
    if not report.verified:
        raise SystemExit(1)


@click.command("status")
@click.option("--url", required=True, help="The database (dialect://user:password@host/database); only read.")
@click.argument("bundle", required=False)
@click.option("--drift", is_flag=True,
              help="Also compare its schema with what online Alembic builds at its revision on a "
              "throwaway database of the same dialect.")
@click.option("--standalone", is_flag=True, help="Do not run env.py (for --drift).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def status_command(project: api.Project, url, bundle, drift, standalone, as_json) -> None:
    """Where a database is: revision, release, applied files, the bundle (BUNDLE: a path or a
    release version; default: those under releases/) that applies next, and (--drift) how its
    schema differs from the history's.

    Exit 0 in order, 1 drift / unknown revision / BUNDLE does not apply here, 2 could not run."""
    report = api.status(project, url, bundle, drift=drift, standalone=standalone)
    click.echo(json_text(report.to_json()) if as_json else report.text())
    if not report.ok:
        raise SystemExit(1)


@click.command("sign")
@click.argument("bundle", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--key", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The SSH private key to sign with (ssh-keygen -Y sign).")
def sign_command(bundle, key) -> None:
    """Sign a bundle's SHA256SUMS (writes SHA256SUMS.sig next to it)."""
    click.echo(f"{api.sign(bundle, key)}: signed")


@click.command("check")
@click.option("--from", "from_spec", default="base", show_default=True, help="Where the range starts.",
              shell_complete=complete_revision)
@click.option("--to", "to_spec", default="heads", show_default=True, help="Where the range ends.",
              shell_complete=complete_revision)
@click.option("--dialect", "dialect_spec", default=None, shell_complete=complete_dialects,
              help="Comma-separated dialects. Default: [tool.distill] dialects.")
@click.option("--standalone", is_flag=True, help="Do not run env.py.")
@click.option("--fail-on", "fail_on", default=None, metavar="KINDS",
              help=f"Comma-separated kinds of findings that make the check fail (exit 1): "
              f"{', '.join(FAIL_ON_KINDS)}, or all. Default: [tool.distill] fail_on, else unrenderable.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github"]), default="text",
              show_default=True, help="github: one ::error (a failing kind) or ::warning line per finding, "
              "at the revision script's line, for GitHub Actions annotations.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@shadow_options
@reproducibility_option
@cache_option
@click.pass_obj
def check_command(project: api.Project, from_spec, to_spec, dialect_spec, standalone, fail_on,
                  output_format, as_json, shadow, reproducibility_check, cache) -> None:
    """Render every revision on its own, per dialect, up and down, and report at once what
    cannot render, what is irreversible, destructive, loses data, risks locks, is not
    reproducible, asks for manual steps.

    Exit 1 when a finding of a --fail-on kind is found (by default only a revision that cannot
    render), 0 otherwise, 2 when the check could not run."""
    kinds = project.fail_on(fail_on)
    report = api.check(project, from_spec=from_spec, to_spec=to_spec, dialect_names=dialect_spec,
                       standalone=standalone, shadow=shadow, reproducibility_check=reproducibility_check,
                       cache=cache)
    failed = check_policy.failing(report, kinds)
    output_format = "json" if as_json else output_format
    if output_format == "github":
        click.echo("\n".join(check_policy.github_lines(report, project.history, kinds)))
    elif output_format == "json":
        click.echo(json_text({**report.to_json(), "fail_on": sorted(kinds), "failed": bool(failed)}))
    else:
        click.echo(report.text())
        if failed and kinds != check_policy.DEFAULT:
            click.echo(f"FAILED (--fail-on {','.join(sorted(kinds))}): {len(failed)} finding(s)")
    if failed:
        raise SystemExit(1)


@click.command("diff")
@click.argument("old")
@click.argument("new", required=False)
@click.option("--rebuild", is_flag=True, help="Compare OLD with a fresh build from the current sources.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True)
@click.option("--ignore-formatting", is_flag=True, help="Compare SQL token by token: layout changes vanish.")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the report to this file (atomically) instead of stdout.")
@click.pass_obj
def diff_command(project: api.Project, old, new, rebuild, output_format, ignore_formatting, output) -> None:
    """Compare two bundles (directories, archives or release versions), or one with --rebuild.

    Exit 0 no differences, 1 differences, 2 could not run.
    """
    if bool(new) == rebuild:
        raise click.UsageError("give OLD and NEW, or one bundle with --rebuild")
    report = api.diff(old, new, project=project, rebuild=rebuild, ignore_formatting=ignore_formatting)
    text = {"text": diff_report.as_text, "json": diff_report.as_json,
            "html": diff_report.as_html}[output_format](report)
    if output is None:  # colour only on a terminal (click), and never with NO_COLOR set
        click.echo(click.unstyle(text) if os.environ.get("NO_COLOR") else text, nl=False)
    else:
        atomic.write_atomically(output, click.unstyle(text).encode("utf-8"))
    if report.differs:
        raise SystemExit(1)


@click.command("rehearse")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--dialect", "dialect_name", default=None,
              help="Which of the bundle's dialects. Default: sqlite, or the --url's.")
@click.option("--url", default=None,
              help="A server (SQLAlchemy URL) on which distill creates and drops scratch databases. "
              "Default: temporary SQLite files.")
@click.option("--data-from", default=None,
              help="Rehearse on copies (schema and rows) of this database, e.g. a staging copy: it is "
              "only read, in read-only transactions; the copies are on a throwaway server distill starts.")
@click.option("--standalone", is_flag=True, help="Run online Alembic without env.py.")
@click.option("--record", is_flag=True, help="Write the report next to the bundle (VERSION.rehearsal.json).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def rehearse_command(project: api.Project, bundle, dialect_name, url, data_from, standalone, record,
                     as_json) -> None:
    """Apply a bundle's exact files with the real client on scratch databases, up, down, up again
    and once more (the guard must refuse), whole and step by step, comparing each phase with
    online Alembic. Exit 0 passed, 1 failed, 2 could not run."""
    report = api.rehearse(project, bundle, dialect=dialect_name, url=url, standalone=standalone,
                          record=record, data_from=data_from)
    click.echo(json_text(report.to_json()) + "\n" if as_json else report.text(), nl=not as_json)
    if not report.passed:
        raise SystemExit(1)


COMMANDS = [verify_command, status_command, sign_command, check_command, diff_command, rehearse_command]
