"""Running a dialect's real command-line client against a database given by a SQLAlchemy URL.

Which program, its arguments, how the password reaches it and which driver distill connects
with all come from the dialect's data file (``[client]``, ``[server]``); this module only fills
them in from a URL (the password goes through the client's environment variable, never argv).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import sqlalchemy as sa

from .. import dialects
from ..dialects import Dialect
from ..errors import DistillError

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


# what creating an engine raises for a URL distill cannot use (unknown driver, bad arguments)
UNUSABLE_URL = (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError, TypeError)


def first_line(exc: sa.exc.DBAPIError) -> str:
    """The first line of what the database (or its driver) said."""
    return (str(exc.orig).strip().splitlines() or [""])[0]


def dialect_of(url: sa.URL) -> Dialect:
    """The dialect of a server URL (``postgresql://``, ``mariadb+pymysql://`` ...)."""
    return dialects.get(url.get_backend_name())


def driver_url(url: sa.URL) -> sa.URL:
    """``url`` with the driver distill uses for its dialect (a driver the URL names is kept): the
    dialect file's driver, or its fallback where that one is not installed or not known to this
    SQLAlchemy."""
    if "+" in url.drivername or url.drivername not in dialects.available():
        return url
    server = dialects.get(url.drivername).server
    if not server.driver:
        return url
    for driver, module in ((server.driver, server.driver_module),
                           (server.fallback_driver, server.fallback_driver_module)):
        if driver and _usable(driver, module):
            return url.set(drivername=driver)
    extras = " or ".join(f"pip install '{extra}'"
                         for extra in (server.driver_extra, server.fallback_driver_extra) if extra)
    modules = " or ".join(m for m in (server.driver_module, server.fallback_driver_module) if m)
    raise DistillError(f"{url.drivername} URLs need the {modules} driver (one this SQLAlchemy "
                       f"{sa.__version__} has a dialect for): {extras}")


def _usable(driver: str, module: str) -> bool:
    try:
        __import__(module)
        sa.dialects.registry.load(driver.replace("+", "."))
    except (ImportError, sa.exc.NoSuchModuleError):
        return False
    return True


def _program(dialect: Dialect) -> str:
    for name in (dialect.client.program, *dialect.client.alternatives):
        found = shutil.which(name)
        if found:
            return found
    raise DistillError(f"the {dialect.client.program} client is not installed; it comes with "
                       f"{dialect.client.package}")


def _url_values(url: sa.URL, dialect: Dialect) -> dict[str, str]:
    uri = url.set(drivername=dialect.sqlalchemy_dialect, password=None)
    return {
        "uri": uri.render_as_string(hide_password=False),
        "username": url.username or "",
        "host": url.host or "",
        "port": str(url.port or ""),
        "socket": str(url.query.get("unix_socket") or ""),
        "database": str(url.database or ""),
    }


def client_command(dialect: Dialect, url: sa.URL) -> tuple[list[str], dict[str, str]]:
    """(argv, extra environment) that run a script read on stdin against ``url``."""
    client = dialect.client
    if not client.arguments:
        supported = [d for d in dialects.available() if dialects.get(d).client.arguments]
        raise DistillError(f"distill cannot run {dialect.title}'s client here; rehearse supports "
                           f"{', '.join(supported)}")
    return tool_command(dialect, url, _program(dialect), client.arguments)


def tool_command(dialect: Dialect, url: sa.URL, program: str,
                 arguments: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    """(argv, extra environment) that run ``program`` of ``dialect``'s client tools against
    ``url``: ``arguments`` filled in from it ({uri}, {username}, {host}, {port}, {socket},
    {database}; one whose values are all empty is left out), the password in the environment."""
    client = dialect.client
    values = _url_values(url, dialect)
    argv = [program]
    for argument in arguments:
        names = _PLACEHOLDER.findall(argument)
        if all(values[name] for name in names):
            argv.append(argument.format(**values))
    env = dict(client.environment)
    if url.password and client.password_variable:
        env[client.password_variable] = str(url.password)
    return argv, env


def run_script(dialect: Dialect, url: sa.URL, script: Path | str) -> subprocess.CompletedProcess:
    """Apply a SQL file (or text) with the real client; the completed process is returned."""
    argv, env = client_command(dialect, url)
    data = Path(script).read_bytes() if isinstance(script, Path) else script.encode("utf-8")
    return subprocess.run(argv, input=data, capture_output=True, timeout=3600,
                          env={**os.environ, **env})
