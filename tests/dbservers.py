"""Throwaway database servers for the tests: distill's own temporary PostgreSQL and MariaDB
servers (shadow/servers.py: temp dirs, their own sockets), started and stopped by the suite;
SQLite files. Each gives URLs for SQLAlchemy and the
command line of the dialect's real client."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from distill.shadow.clients import driver_url
from distill.shadow.servers import LocalMariaDB, LocalPostgres, ServerUnavailable


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServerUnavailable(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


class Database:
    """One empty database on a server (or one SQLite file)."""

    def __init__(self, dialect: str, url: str, client: list[str], dumper: list[str]) -> None:
        self.dialect = dialect
        self.url = url
        self.client = client  # reads the script on stdin
        self.dumper = dumper  # writes a full dump (schema and data) to stdout

    def dump(self) -> bytes:
        """A full dump by the dialect's own dump tool, for before/after comparisons."""
        result = subprocess.run(self.dumper, capture_output=True, timeout=120)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        # pg_dump >= 15.14 brackets its output with \restrict <random key>: not content
        return b"".join(line for line in result.stdout.splitlines(True)
                        if not line.startswith((b"\\restrict ", b"\\unrestrict ")))

    def apply(self, sql: str, *, check: bool = True) -> subprocess.CompletedProcess:
        """Run ``sql`` with the dialect's real command-line client."""
        result = subprocess.run(
            self.client, input=sql.encode("utf-8"), capture_output=True, timeout=300,
            env={**os.environ, "PGCLIENTENCODING": "UTF8", "LC_ALL": "C.UTF-8"},
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{self.client[0]} failed (exit {result.returncode}):\n"
                f"{result.stderr.decode(errors='replace')}"
            )
        return result


class PostgresServer(LocalPostgres):
    """distill's own temporary PostgreSQL server (the throwaway shadow's), plus databases and psql."""

    def __init__(self) -> None:
        if not shutil.which("psql"):
            raise ServerUnavailable("psql not found")
        super().__init__()

    def create(self) -> Database:
        name = unique_name("distill")
        self.psql(["-c", f'CREATE DATABASE "{name}"'])
        return Database(
            "postgresql",
            # the driver distill itself would pick (psycopg, or psycopg2 under SQLAlchemy 1.4)
            f"{driver_url(make_url('postgresql://')).drivername}://postgres@/{name}"
            f"?host={self.directory}&port={self.port}",
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.directory), "-p", self.port,
             "-U", "postgres", "-d", name, "-f", "-"],
            [str(self.bindir / "pg_dump"), "-h", str(self.directory), "-p", self.port, "-U", "postgres",
             "--no-owner", name],
        )

    def psql(self, args: list[str]) -> None:
        _run(["psql", "-X", "-q", "-h", str(self.directory), "-p", self.port, "-U", "postgres",
              "-d", "postgres", *args])


class MariaDBServer(LocalMariaDB):
    """distill's own temporary MariaDB server (the throwaway shadow's), plus databases and a client."""

    def __init__(self) -> None:
        self.client_program = shutil.which("mariadb") or shutil.which("mysql")
        if not self.client_program:
            raise ServerUnavailable("the mariadb client not found: apt-get install mariadb-server")
        super().__init__()

    def client(self, database: str) -> list[str]:
        return [self.client_program, "--no-defaults", "-uroot", f"--socket={self.socket}", database]

    def create(self, dialect: str = "mariadb") -> Database:
        name = unique_name("distill")
        _run([*self.client(""), "-e", f"CREATE DATABASE `{name}`"])
        driver = "mariadb+pymysql" if dialect == "mariadb" else "mysql+pymysql"
        dump = shutil.which("mariadb-dump") or shutil.which("mysqldump")
        return Database(
            dialect,
            f"{driver}://root@localhost/{name}?unix_socket={self.socket}&charset=utf8mb4",
            self.client(name),
            [dump, "--no-defaults", "-uroot", f"--socket={self.socket}", "--skip-dump-date",
             "--routines", "--triggers", name],
        )


class SQLiteFiles:
    def __init__(self, directory: Path) -> None:
        if not shutil.which("sqlite3"):
            raise ServerUnavailable("the sqlite3 shell is not installed: apt-get install sqlite3")
        self.dir = directory

    def create(self) -> Database:
        path = self.dir / f"{unique_name('db')}.sqlite"
        return Database("sqlite", f"sqlite:///{path}", ["sqlite3", "-bail", str(path)],
                        ["sqlite3", str(path), ".dump"])

    def stop(self) -> None:
        pass
