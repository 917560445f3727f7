"""Running ``distill ARGS`` from a test: in this process by default, in a fresh interpreter where
the test needs one.

In-process is the real entry point (``distill.cli.run``: the same click group, the same error
reporting and exit codes) with sys.argv, the working directory, the environment and the standard
streams swapped for the run and put back afterwards, also on failure. What a process would leave
behind and a later run must not see is undone after each run: modules the project imported (its
revision scripts' helpers, its setup hook's package) and the entries it put on sys.path, the
reproducibility check's child process (started with this run's environment), distill's record
of the directories it made, the SIGTERM handler, the logging configuration env.py's fileConfig()
installed. A fresh interpreter saves 0.7-1 s of imports per run; the tests that need one (signals,
start-up, umask, hash seed and time zone of the interpreter, os._exit) ask for ``process=True``.
DISTILL_TEST_PROCESSES=1 runs every one in a process, as the suite did before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import lent_servers
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]

# read by the interpreter when it starts (or by the C library once), not when distill runs
PROCESS_ENV = {"PYTHONHASHSEED", "TZ", "PYTHONPATH", "LD_PRELOAD"}

_KEEP_MODULES = tuple(str(Path(p).resolve()) for p in {sys.prefix, sys.base_prefix, REPO / "src"})


def run_distill(args: list[str], cwd: Path = REPO, env: dict[str, str] | None = None, *,
                process: bool = False, input: str | None = None, timeout: float = 300,
                umask: str | None = None) -> subprocess.CompletedProcess:
    """``distill ARGS`` in ``cwd`` as a user runs it (``env`` added to the environment); whatever
    the outcome, never a traceback. ``returncode``, ``stdout`` and ``stderr`` (text) as from
    subprocess.run."""
    args = [str(a) for a in args]
    if process or umask or PROCESS_ENV.intersection(env or {}) or os.environ.get("DISTILL_TEST_PROCESSES"):
        result = _in_a_process(args, Path(cwd), env or {}, input, timeout, umask)
    else:
        result = _in_this_process(args, Path(cwd), env or {}, input)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def _in_a_process(args: list[str], cwd: Path, env: dict[str, str], input: str | None, timeout: float,
                  umask: str | None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "distill", *args]
    if umask:
        command = ["sh", "-c", f'umask {umask} && exec "$@"', "sh", *command]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, input=input,
                          env={**os.environ, **env})


# set by conftest for each test: (request.getfixturevalue, a directory for lock files), or None
# where the test is marked own_shadow_servers
LEND: tuple[Callable[[str], object], Path] | None = None
_SERVER_OF = {"postgresql": "postgres_server", "mysql": "mariadb_server", "mariadb": "mariadb_server"}


def _servers_to_lend(args: list[str]) -> dict[str, Callable[[], object]]:
    """The session servers this run's throwaway shadow may use, started now (in this process, not
    in a forked worker of the run)."""
    if LEND is None or not {"--shadow", "--drift"}.intersection(args):
        return {}
    named = [a.split("=", 1)[1] for a in args if a.startswith("--dialect=")] + [
        args[i + 1] for i, a in enumerate(args[:-1]) if a == "--dialect"]
    dialects = {d for each in named for d in each.split(",")} if named and "--drift" not in args else set(_SERVER_OF)
    get_server, lock_dir = LEND
    started = {fixture: get_server(fixture) for d, fixture in _SERVER_OF.items() if d in dialects}
    return {kind: lend for kind, lend in lent_servers.lenders(started.__getitem__, lock_dir).items()
            if any(fixture in started for fixture in lent_servers.FIXTURES[kind])}


def _in_this_process(args: list[str], cwd: Path, env: dict[str, str], input: str | None) -> subprocess.CompletedProcess:
    from distill import cli
    from distill.shadow.servers import SERVERS

    runner = CliRunner()
    lent, own = _servers_to_lend(args), dict(SERVERS)
    with _isolated(), runner.isolation(input=input, env=env, color=False) as (out, err, _):
        SERVERS.update(lent)  # put back below
        os.chdir(cwd)
        original = cli.main.main
        # the real group and entry point, with this run's arguments and the name a user types
        cli.main.main = lambda **kw: original(args=args, prog_name="distill", **kw)  # type: ignore[method-assign]
        try:
            code = cli.run()
        finally:
            del cli.main.main
            sys.stdout.flush()
            sys.stderr.flush()
            SERVERS.clear()
            SERVERS.update(own)
        stdout, stderr = out.getvalue(), err.getvalue()
    return subprocess.CompletedProcess(["distill", *args], code, stdout.decode("utf-8", "replace"),
                                       stderr.decode("utf-8", "replace"))


@contextlib.contextmanager
def _isolated() -> Iterator[None]:
    cwd, argv, path = os.getcwd(), sys.argv[:], sys.path[:]
    modules = set(sys.modules)
    handler = signal.getsignal(signal.SIGTERM)
    logs = _logging_state()
    root = logging.getLogger()  # as in a fresh interpreter: no handler (pytest's own put back after)
    root.handlers[:] = []
    root.setLevel(logging.WARNING)
    try:
        yield
    finally:
        os.chdir(cwd)
        sys.argv[:], sys.path[:] = argv, path
        signal.signal(signal.SIGTERM, handler)
        _restore_logging(logs)
        _forget(modules)
        _reset_distill()


def _forget(modules: set[str]) -> None:
    """Drop the modules this run imported from outside the environment and distill's source: the
    project's own, which another test's project of the same name must not find imported."""
    for name in set(sys.modules) - modules:
        module = sys.modules[name]
        where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", None) or []), None)
        if where is not None and not str(Path(where).resolve()).startswith(_KEEP_MODULES):
            del sys.modules[name]


def _reset_distill() -> None:
    from distill.bundle import files
    from distill.history import app_setup
    from distill.offline import reproducible

    files._MADE_DIRS.clear()
    files.current_umask.cache_clear()
    app_setup._CALLED.clear()
    reproducible.NOTES.clear()
    if reproducible._child is not None:  # started with this run's environment
        reproducible._child.close()
        reproducible._child = None


def _logging_state() -> dict:
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    return {lg: (lg.level, lg.handlers[:], lg.disabled, lg.propagate) for lg in loggers}


def _restore_logging(state: dict) -> None:
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        level, handlers, disabled, propagate = state.get(logger, (logging.NOTSET, [], False, True))
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.disabled, logger.propagate = disabled, propagate

