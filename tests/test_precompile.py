"""Compiling revision scripts on the second core changes nothing but the time: the same bundle
bytes, the same error for a broken script, and a script edited meanwhile is compiled afresh."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import pytest

from distill.bundle.builder import build_files
from distill.bundle.manifest import BundleSpec
from distill.config import load
from distill.errors import ScriptLoadError
from distill.history import parallel_compile as precompile
from distill.history.scripts import History

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from generate_history import generate  # noqa: E402


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("DISTILL_JOBS", raising=False)
    return generate(tmp_path / "depends", 80, "depends")


def loaded(project: Path, monkeypatch, *, second_core: bool) -> History:
    monkeypatch.setattr(precompile, "MIN_FILES", 10 if second_core else 10**9)
    return History(load(project))


def test_the_second_half_comes_from_the_child_and_builds_the_same_bundle(project, monkeypatch):
    spec = BundleSpec("x", "base", "heads", ("postgresql", "sqlite"))
    with_child = loaded(project, monkeypatch, second_core=True)
    scripts = len(list((project / "migrations" / "versions").glob("*.py")))
    assert with_child.precompiled == scripts - scripts // 2
    files = build_files(with_child, spec)
    without = loaded(project, monkeypatch, second_core=False)
    assert without.precompiled == 0
    assert build_files(without, spec) == files


def test_a_broken_script_in_the_second_half_reports_the_same_error(project, monkeypatch):
    last = sorted((project / "migrations" / "versions").glob("*.py"))[-1]
    last.write_text(last.read_text() + "\ndef broken(:\n    pass\n")
    errors = []
    for second_core in (True, False):
        with pytest.raises(ScriptLoadError) as caught:
            loaded(project, monkeypatch, second_core=second_core)
        errors.append(caught.value.message)
    assert errors[0] == errors[1]
    assert last.name in errors[0] and "SyntaxError" in errors[0]


def test_a_script_edited_after_the_child_compiled_it_is_compiled_again(tmp_path, monkeypatch):
    monkeypatch.setattr(precompile, "MIN_FILES", 1)
    monkeypatch.delenv("DISTILL_JOBS", raising=False)
    paths = []
    for i in range(20):
        path = tmp_path / f"m{i:02d}.py"
        path.write_text(f"VALUE = {i}\n")
        paths.append(str(path))
    with precompile.compiled_on_second_core(paths) as handover:
        time.sleep(0.3)  # the child has compiled the old text of the second half by now
        Path(paths[-1]).write_text("VALUE = 'edited'\n")
        modules = [_load_module(p) for p in paths]
    assert [m.VALUE for m in modules] == [*range(19), "edited"]
    assert handover.used == 9  # the second half but the edited script


def _load_module(path: str):
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
