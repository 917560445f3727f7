"""The built wheel carries dialects/, templates/ and the example, and works from a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    return next(out.glob("distill-*.whl"))


def test_wheel_contains_the_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("postgresql", "mysql", "mariadb", "sqlite", "oracle", "mssql"):
        assert f"distill/_data/dialects/{name}.toml" in names
    assert "distill/_data/examples/bookshop/alembic.ini" in names
    assert "distill/_data/examples/bookshop/migrations/versions/7a5b5d4e8f07_genres_data.py" in names
    assert any(n.startswith("distill/_data/templates/") for n in names)


def test_fresh_venv_renders_the_embedded_example(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "-c", str(REPO / "constraints.txt"),
                    str(wheel)], check=True, capture_output=True, timeout=600)
    empty = tmp_path / "elsewhere"  # nothing configured here: the embedded example on request
    empty.mkdir()
    result = subprocess.run([str(env_dir / "bin" / "distill"), "--example", "sql", "--dialect", "oracle"],
                            cwd=empty, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "CREATE TABLE genres" in result.stdout and "SET DEFINE OFF" in result.stdout
    ours = subprocess.run([sys.executable, "-m", "distill", "sql", "--dialect", "oracle"], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert result.stdout == ours.stdout  # the installed copy renders the same bytes
