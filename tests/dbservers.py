"""Throwaway database servers for the tests: PostgreSQL and MariaDB in temp dirs, on their own
sockets, started and stopped by the suite; SQLite files. Each gives URLs for SQLAlchemy and the
command line of the dialect's real client."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from distill.rehearsal.clients import driver_url

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


class ServerUnavailable(RuntimeError):
    pass


def _run(cmd: list[str], *, user: str | None = None, **kw) -> subprocess.CompletedProcess:
    if user and IS_ROOT:
        cmd = ["runuser", "-u", user, "--", *cmd]
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise ServerUnavailable(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _private_dir(prefix: str, owner: str) -> Path:
    """A temp dir the server's user can reach (CI runs as root; servers refuse to)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    if IS_ROOT:
        shutil.chown(path, owner, owner)
    return path


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


class PostgresServer:
    def __init__(self) -> None:
        bindir = None
        if shutil.which("pg_config"):
            bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        candidates = [Path(bindir)] if bindir else []
        candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
        found = [d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()]
        if not found or not shutil.which("psql"):
            raise ServerUnavailable("PostgreSQL server binaries (initdb, pg_ctl) or psql not found")
        self.bindir = found[0]
        self.dir = _private_dir("distill-pg-", "postgres")
        self.port = "5432"  # the socket lives in our own directory: no clash with other servers
        data = self.dir / "data"
        _run([str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
              "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"], user="postgres")
        _run([str(self.bindir / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "log"), "-w",
              "-o", f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off",
              "start"], user="postgres")

    def create(self) -> Database:
        name = unique_name("distill")
        self.psql(["-c", f'CREATE DATABASE "{name}"'])
        return Database(
            "postgresql",
            # the driver distill itself would pick (psycopg, or psycopg2 under SQLAlchemy 1.4)
            f"{driver_url(make_url('postgresql://')).drivername}://postgres@/{name}"
            f"?host={self.dir}&port={self.port}",
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.dir), "-p", self.port,
             "-U", "postgres", "-d", name, "-f", "-"],
            [str(self.bindir / "pg_dump"), "-h", str(self.dir), "-p", self.port, "-U", "postgres",
             "--no-owner", name],
        )

    def psql(self, args: list[str]) -> None:
        _run(["psql", "-X", "-q", "-h", str(self.dir), "-p", self.port, "-U", "postgres",
              "-d", "postgres", *args])

    def stop(self) -> None:
        subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m",
                        "immediate", "stop"] if not IS_ROOT else
                       ["runuser", "-u", "postgres", "--", str(self.bindir / "pg_ctl"), "-D",
                        str(self.dir / "data"), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)


class MariaDBServer:
    def __init__(self) -> None:
        mariadbd = shutil.which("mariadbd") or next(
            (p for p in ("/usr/sbin/mariadbd",) if Path(p).exists()), None
        )
        install = shutil.which("mariadb-install-db")
        self.client_program = shutil.which("mariadb") or shutil.which("mysql")
        if not (mariadbd and install and self.client_program):
            raise ServerUnavailable("MariaDB (mariadbd, mariadb-install-db, mariadb) not found: "
                                    "apt-get install mariadb-server")
        self.dir = _private_dir("distill-maria-", "mysql")
        self.socket = self.dir / "mysqld.sock"
        data = self.dir / "data"
        user = ["--user=mysql"] if IS_ROOT else []
        _run([install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
              "--skip-test-db", *user])
        self.process = subprocess.Popen(
            [mariadbd, "--no-defaults", f"--datadir={data}", f"--socket={self.socket}",
             "--skip-networking", f"--pid-file={self.dir / 'pid'}", f"--log-error={self.dir / 'err.log'}",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci",
             "--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=0", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ping = subprocess.run([self.client_program, "--no-defaults", "-uroot",
                                   f"--socket={self.socket}", "-e", "SELECT 1"], capture_output=True)
            if ping.returncode == 0:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        log = (self.dir / "err.log").read_text(errors="replace") if (self.dir / "err.log").exists() else ""
        self.stop()
        raise ServerUnavailable(f"mariadbd did not start:\n{log[-2000:]}")

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

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


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
