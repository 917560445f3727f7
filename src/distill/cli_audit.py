"""The distill command line's audit commands (verify, status, sign, check, diff, rehearse):
options parsed, the API called, results printed. ``cli`` adds them to its group."""

from __future__ import annotations

import os
from pathlib import Path

import click

from .cli_completion import complete_revision
from .cli_options import (
    DialectNames,
    cache_option,
    json_text,
    reproducibility_option,
    shadow_options,
    usage_checked,
)
from .lazy import LazyModule
from .statements.fail_on import KINDS as FAIL_ON_KINDS
from .statements.fail_on import parse_fail_on
from .terminal import echo, visible

# imported by the command that runs (see cli)
api = LazyModule("distill.api")
atomic = LazyModule("distill.atomic")
check_policy = LazyModule("distill.audit.check_policy")
sarif = LazyModule("distill.audit.sarif")
diff_report = LazyModule("distill.audit.diff_report")


@click.command("verify")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Also render the bundle again from the current sources.")
@click.option("--allowed-signers", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Trusted keys: require valid signatures by keys in this OpenSSH allowed_signers "
              "file. Default: [tool.distill] verify_signers.")
@click.option("--require", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many distinct allowed signers must have signed (two-person sign-off: 2).")
@click.option("--identity", default=None, help="A signer who must be among them (default: any allowed).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def verify_command(project: api.Project, bundle, rebuild, allowed_signers, require, identity,
                   as_json) -> None:
    """Check a bundle or archive: checksums, manifest, signatures, (--rebuild) the sources.

    VERIFIED: intact and signed by enough allowed signers (trusted keys given). INTACT
    (authenticity NOT checked): the files match, but without trusted keys nobody knows who made
    them. Exit 0 VERIFIED or INTACT, 1 NOT VERIFIED (with trusted keys, too few valid
    signatures too), 2 could not run."""
    report = api.verify(bundle, project=project, rebuild=rebuild, allowed_signers=allowed_signers,
                        identity=identity, require=require)
    echo(json_text(report.to_json()) if as_json else report.text())
    if not report.intact:
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
    echo(json_text(report.to_json()) if as_json else report.text())
    if not report.ok:
        raise SystemExit(1)


@click.command("sign")
@click.argument("bundle", type=click.Path(path_type=Path, exists=True))
@click.option("--key", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The SSH private key to sign with (ssh-keygen -Y sign).")
@click.option("--rebuild", is_flag=True, help="Also check the bundle against a rebuild from the current "
              "sources before signing.")
@click.pass_obj
def sign_command(project: api.Project, bundle, key, rebuild) -> None:
    """Verify a bundle, then add a signature of its SHA256SUMS (SHA256SUMS.sig, or SHA256SUMS.N.sig
    for a further signer); its .tar.gz next to it is rewritten to carry it. BUNDLE: the directory
    or its .tar.gz. Refuses, writing nothing, a bundle that does not verify."""
    done = api.sign(bundle, key, project=project, rebuild=rebuild)
    if done.added:
        echo(f"{bundle}: signed ({done.signature}); written: {', '.join(done.written)}")
    else:
        echo(f"{bundle}: already signed with this key ({done.signature}); "
                   + (f"written: {', '.join(done.written)}" if done.written else "nothing written"))


@click.command("check")
@click.option("--from", "from_spec", default="base", show_default=True, help="Where the range starts.",
              shell_complete=complete_revision)
@click.option("--to", "to_spec", default="heads", show_default=True, help="Where the range ends.",
              shell_complete=complete_revision)
@click.option("--dialect", "dialect_spec", default=None, type=DialectNames(several=True),
              help="Comma-separated dialects. Default: [tool.distill] dialects.")
@click.option("--standalone", is_flag=True, help="Do not run env.py.")
@click.option("--fail-on", "fail_on", default=None, metavar="KINDS",
              callback=usage_checked(lambda value: parse_fail_on(value, "--fail-on")),
              help=f"Comma-separated kinds of findings that make the check fail (exit 1): "
              f"{', '.join(FAIL_ON_KINDS)}, or all. Default: [tool.distill] fail_on, else unrenderable.")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "github", "sarif"]),
              default="text", show_default=True,
              help="github: one ::error (a failing kind) or ::warning line per finding, at the revision "
              "script's line, for GitHub Actions annotations. sarif: a SARIF 2.1.0 log for code scanning.")
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
    render), 0 otherwise, 2 when the check could not run. A finding a waiver acknowledges
    ([[tool.distill.waivers]]) is listed with its reason and approver and fails nothing; a waiver
    that covers nothing fails the check like a finding of the kind it waives."""
    kinds = project.fail_on(fail_on)
    report = api.check(project, from_spec=from_spec, to_spec=to_spec, dialect_names=dialect_spec,
                       standalone=standalone, shadow=shadow, reproducibility_check=reproducibility_check,
                       cache=cache)
    failed = check_policy.failing(report, kinds)
    output_format = "json" if as_json else output_format
    if output_format == "github":
        echo("\n".join(check_policy.github_lines(report, project.history, kinds)))
    elif output_format == "sarif":
        echo(json_text(sarif.sarif(report, project.history, kinds)))
    elif output_format == "json":
        echo(json_text({**report.to_json(), "fail_on": sorted(kinds), "failed": bool(failed)}))
    else:
        echo(report.text())
        if failed and kinds != check_policy.DEFAULT:
            echo(f"FAILED (--fail-on {','.join(sorted(kinds))}): {len(failed)} finding(s)")
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
        echo(click.unstyle(text) if os.environ.get("NO_COLOR") else text, nl=False,
             styled=output_format == "text")  # the text report's own colours stay
    else:
        atomic.write_atomically(output, visible(click.unstyle(text)).encode("utf-8"))
    if report.differs:
        raise SystemExit(1)


@click.command("rehearse")
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--dialect", "dialect_name", default=None, type=DialectNames(several=False),
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
    echo(json_text(report.to_json()) + "\n" if as_json else report.text(), nl=not as_json)
    if not report.passed:
        raise SystemExit(1)


COMMANDS = [verify_command, status_command, sign_command, check_command, diff_command, rehearse_command]
