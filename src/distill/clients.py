"""Running a dialect's real command-line client against a database given by a SQLAlchemy URL.

Which program, which package provides it and how it stops on errors come from ``dialects/``;
this module only turns a URL into that program's arguments (the password goes through the
client's environment variable, never the command line).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa

from .dialects import Dialect
from .errors import DistillError

# SQLAlchemy's default drivers for these are not installed with distill; these are (extras).
_DRIVERS = {"postgresql": ("postgresql+psycopg", "psycopg", "distill[postgresql]"),
            "mysql": ("mysql+pymysql", "pymysql", "distill[mysql]"),
            "mariadb": ("mariadb+pymysql", "pymysql", "distill[mysql]")}


def driver_url(url: sa.URL) -> sa.URL:
    """``url`` with a driver distill can use (postgresql -> psycopg 3, mysql/mariadb -> PyMySQL)."""
    if "+" in url.drivername or url.drivername not in _DRIVERS:
        return url
    drivername, module, extra = _DRIVERS[url.drivername]
    try:
        __import__(module)
    except ImportError:
        raise DistillError(f"{url.drivername} URLs need the {module} driver: pip install '{extra}'") from None
    return url.set(drivername=drivername)


def _program(dialect: Dialect) -> str:
    candidates = [dialect.client_program] + (["mysql"] if dialect.name in ("mysql", "mariadb") else [])
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise DistillError(f"the {dialect.client_program} client is not installed; it comes with "
                       f"{dialect.client_package}")


def client_command(dialect: Dialect, url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """(argv, extra environment) that run a script read on stdin against ``url``."""
    program = _program(dialect)
    env: dict[str, str] = {}
    if dialect.name == "sqlite":
        return [program, "-bail", str(url.database)], env
    if dialect.name == "postgresql":
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
        return [program, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", uri, "-f", "-"], {
            **env, "PGCLIENTENCODING": "UTF8"}
    if dialect.name in ("mysql", "mariadb"):
        if url.password:
            env["MYSQL_PWD"] = str(url.password)
        argv = [program, "--no-defaults", "--batch", "--default-character-set=utf8mb4"]
        if url.username:
            argv.append(f"--user={url.username}")
        if url.host:
            argv.append(f"--host={url.host}")
        if url.port:
            argv.append(f"--port={url.port}")
        if url.query.get("unix_socket"):
            argv.append(f"--socket={url.query['unix_socket']}")
        return [*argv, str(url.database)], env
    raise DistillError(f"distill cannot run {dialect.title}'s client here; rehearse supports "
                       "sqlite, postgresql, mysql and mariadb")


def run_script(dialect: Dialect, url: sa.URL, script: Path | str) -> subprocess.CompletedProcess:
    """Apply a SQL file (or text) with the real client; the completed process is returned."""
    argv, env = client_command(dialect, url)
    data = Path(script).read_bytes() if isinstance(script, Path) else script.encode("utf-8")
    return subprocess.run(argv, input=data, capture_output=True, timeout=3600,
                          env={**os.environ, **env})
