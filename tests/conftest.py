"""Shared fixtures: the example project, and real database servers started for the session.

With DISTILL_REQUIRE_DATABASES=1 (as in CI) a server that cannot start FAILS the run instead of
skipping the tests that need it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dbservers import MariaDBServer, PostgresServer, ServerUnavailable, SQLiteFiles

from distill.config import Settings, embedded_example, load
from distill.history.scripts import History

REPO = Path(__file__).resolve().parent.parent
REQUIRE_DATABASES = os.environ.get("DISTILL_REQUIRE_DATABASES") == "1"


def _start(factory, *args):
    try:
        return factory(*args)
    except ServerUnavailable as exc:
        if REQUIRE_DATABASES:
            pytest.fail(f"DISTILL_REQUIRE_DATABASES=1 but a database is unavailable: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def postgres_server():
    server = _start(PostgresServer)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mariadb_server():
    server = _start(MariaDBServer)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sqlite_files(tmp_path_factory):
    return _start(SQLiteFiles, tmp_path_factory.mktemp("sqlite"))


class Databases:
    """Creates empty databases of one dialect on the right server."""

    def __init__(self, dialect: str, request) -> None:
        self.dialect = dialect
        self._request = request

    def create(self):
        if self.dialect == "postgresql":
            return self._request.getfixturevalue("postgres_server").create()
        if self.dialect in ("mariadb", "mysql"):
            return self._request.getfixturevalue("mariadb_server").create(self.dialect)
        return self._request.getfixturevalue("sqlite_files").create()


# mysql output is applied to the MariaDB server too: no MySQL server can run here.
@pytest.fixture(params=["postgresql", "mariadb", "mysql", "sqlite"])
def databases(request) -> Databases:
    return Databases(request.param, request)


@pytest.fixture(autouse=True)
def _no_database_url_from_environment(monkeypatch):
    monkeypatch.delenv("BOOKSHOP_DATABASE_URL", raising=False)


@pytest.fixture(autouse=True)
def _own_render_cache(monkeypatch, tmp_path_factory):
    """Each test has a render cache of its own (a run twice in one test may hit it), never the
    user's ~/.cache/distill."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(scope="session")
def example_settings() -> Settings:
    settings = load(REPO)
    assert settings.alembic_config_path == embedded_example().alembic_config_path
    return settings


@pytest.fixture(scope="session")
def example_history(example_settings) -> History:
    return History(example_settings)


def pytest_configure(config):
    config.addinivalue_line("markers", "own_shadow_servers: distill's --shadow / --drift start their own "
                            "temporary servers in this test, as in a user's run (elsewhere in-process runs "
                            "borrow the session's: tests/lent_servers.py)")


@pytest.fixture(autouse=True)
def _lend_session_servers(request, tmp_path_factory):
    """In-process runs of distill (tests/runner.py) render --shadow / --drift on the session's
    servers, unless the test is marked own_shadow_servers."""
    import runner

    own = request.node.get_closest_marker("own_shadow_servers") is not None
    runner.LEND = None if own else (request.getfixturevalue, _lock_dir(tmp_path_factory))
    yield
    runner.LEND = None


def _lock_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.getbasetemp() / "shadow-locks"
    path.mkdir(exist_ok=True)
    return path
