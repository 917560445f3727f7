"""distill's Python API (distill.api), driven in-process without the CLI: plan, sql, check, build,
release, releases_of, verify, diff and rehearse on the example project, compared with the
committed releases under releases/. Nothing is written into the repository: every bundle,
output file and rehearsal record goes to a temp dir."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from distill import api, dialects
from distill.errors import CouldNotRun, DistillError, RangeError

REPO = Path(__file__).resolve().parent.parent
RELEASES = REPO / "releases"
VERSIONS = ["1.0", "1.1", "2.0", "2.1"]


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def manifest(version: str) -> dict:
    return json.loads((RELEASES / version / "manifest.json").read_text(encoding="utf-8"))


def manifest_revisions(version: str) -> list[str]:
    return [step["revision"] for step in manifest(version)["steps"]]


@pytest.fixture(scope="module")
def project(example_settings) -> api.Project:
    """The example, configured by the repository's pyproject.toml; its history loaded once."""
    loaded = api.Project(directory=REPO)
    assert loaded.settings.alembic_config_path == example_settings.alembic_config_path
    return loaded


# -- Project ---------------------------------------------------------------------------------


def test_project_from_the_working_directory(monkeypatch, project):
    monkeypatch.chdir(REPO)
    here = api.Project()
    assert here.settings.project == "bookshop"
    assert list(here.settings.releases) == VERSIONS
    assert here.dialect_names("sqlite,postgresql") == ("sqlite", "postgresql")
    assert here.dialect_names(["mysql"]) == ("mysql",)
    assert project.dialect_names(None) == tuple(manifest("1.1")["options"]["dialects"])


# -- plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_plan_of_each_release_lists_the_shipped_steps(project, version):
    index = VERSIONS.index(version)
    result = api.plan(project, VERSIONS[index - 1] if index else None, version)
    assert result.direction == "upgrade"
    assert [s.revision for s in result.steps] == manifest_revisions(version)
    shipped = manifest(version)["range"]
    assert list(result.start) == shipped["from"] and list(result.target) == shipped["to"]
    assert [s["revision"] for s in result.to_json()["steps"]] == manifest_revisions(version)


def test_plan_defaults_to_base_to_heads(project):
    whole = api.plan(project)
    assert [s.revision for s in whole.steps] == [r for v in VERSIONS for r in manifest_revisions(v)]
    assert whole.start == () and whole.target == (manifest("2.1")["range"]["to"][0],)


def test_plan_downgrade(project):
    down = api.plan(project, "1.1", "1.0", down=True)
    assert down.direction == "downgrade"
    assert [s.revision for s in down.steps] == manifest_revisions("1.1")[::-1]
    for ends in ({"from_spec": "1.1"}, {"to_spec": "1.0"}, {}):
        with pytest.raises(RangeError, match="needs both"):
            api.plan(project, down=True, **ends)
    with pytest.raises(RangeError, match="wrong way"):
        api.plan(project, "1.0", "1.1", down=True)


# -- sql -------------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_sql_is_the_body_of_the_shipped_upgrade(project, tmp_path, dialect):
    output = tmp_path / "out" / "upgrade.sql"
    output.parent.mkdir()  # an output's folder must exist
    result = api.sql(project, dialect=dialect, from_spec="1.0", to_spec="1.1", output=output)
    assert result.dialect == dialect
    stop = dialects.get(dialect).guard.stop_on_error
    lines = result.text.splitlines()
    assert lines[0].startswith("-- ") and tuple(lines[1:1 + len(stop)]) == stop
    assert "-- guard: stop unless the database is at the expected revision" in result.text
    assert "6f4a6c5d9e06" in result.text  # the guard names the revision it expects
    assert output.read_bytes() == result.text.encode("utf-8")
    assert result.stats.formatted > 0
    # the bundle's upgrade.sql is this text under a header paragraph
    shipped = (RELEASES / "1.1" / dialect / "upgrade.sql").read_text(encoding="utf-8")
    assert shipped.partition("\n\n")[2] == result.text
    unguarded = api.sql(project, dialect=dialect, from_spec="1.0", to_spec="1.1", guard=False)
    assert "-- guard:" not in unguarded.text and "-- guard:" in result.text


def test_sql_downgrade_refusals_write_nothing(project, tmp_path):
    output = tmp_path / "down.sql"
    with pytest.raises(RangeError, match="allow-base"):
        api.sql(project, dialect="sqlite", from_spec="1.0", to_spec="base", down=True, output=output)
    with pytest.raises(RangeError, match="cannot be reverted"):
        api.sql(project, dialect="sqlite", from_spec="2.1", to_spec="2.0", down=True, output=output)
    assert not output.exists() and list(tmp_path.iterdir()) == []
    allowed = api.sql(project, dialect="sqlite", from_spec="1.0", to_spec="base", down=True,
                      allow_base=True, output=output)
    assert "DROP TABLE" in allowed.text and output.read_text(encoding="utf-8") == allowed.text
    kept = api.sql(project, dialect="sqlite", from_spec="2.1", to_spec="2.0", down=True,
                   allow_irreversible=True)
    assert "f03d6b5a4c15" in kept.text


# -- check -----------------------------------------------------------------------------------


def test_check_the_whole_example(project):
    report = api.check(project)
    data = report.to_json()
    assert report.ok is True and data["ok"] is True and data["cannot_render"] == []
    assert data["revisions"] == len(api.plan(project).steps) == 15
    assert data["dialects"] == manifest("1.1")["options"]["dialects"]
    assert [i["revision"] for i in data["irreversible"]] == ["f03d6b5a4c15"]  # 2.1's data migration
    assert data["destructive"]  # the downgrades drop tables


def test_check_a_range_for_chosen_dialects(project):
    data = api.check(project, from_spec="1.0", to_spec="1.1", dialect_names="sqlite,mysql").to_json()
    assert data["revisions"] == len(manifest_revisions("1.1"))
    assert data["dialects"] == ["sqlite", "mysql"]
    assert data["irreversible"] == []


# -- build -----------------------------------------------------------------------------------


def test_build_reproduces_the_committed_bundle(project, tmp_path):
    out = tmp_path / "1.1"
    options = manifest("1.1")["options"]
    kwargs = {"from_spec": "1.0", "to_spec": "1.1", "name": "1.1", "dialect_names": options["dialects"],
              "style": options["format"]}
    first = api.build(project, out, **kwargs, archive=True)
    assert first.status == "written" and first.path == out
    assert tree(out) == tree(RELEASES / "1.1")
    assert first.archive == tmp_path / "1.1.tar.gz"
    assert first.archive.read_bytes() == (RELEASES / "1.1.tar.gz").read_bytes()
    again = api.build(project, out, **kwargs)
    assert again.status == "unchanged" and tree(out) == tree(RELEASES / "1.1")
    # an edited bundle is never overwritten silently; force replaces it
    readme = out / "README.md"
    readme.write_text("local edit\n")
    with pytest.raises(DistillError, match="already exists and differs"):
        api.build(project, out, **kwargs)
    assert readme.read_text() == "local edit\n"
    assert api.build(project, out, **kwargs, force=True).status == "replaced"
    assert tree(out) == tree(RELEASES / "1.1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.1", "1.1.tar.gz"]  # no temp dirs left


def test_build_names_and_dialects(project, tmp_path):
    built = api.build(project, tmp_path / "nightly", to_spec="2b7e", dialect_names="sqlite")
    data = json.loads((built.path / "manifest.json").read_text())
    assert data["release"] == "nightly" and data["options"]["dialects"] == ["sqlite"]
    assert sorted(p.name for p in built.path.iterdir() if p.is_dir()) == ["sources", "sqlite"]
    with pytest.raises(DistillError, match="plain release name"):
        api.build(project, tmp_path / "ok", to_spec="2b7e", name="../x")
    assert not (tmp_path / "ok").exists()


# -- release, releases_of --------------------------------------------------------------------


def test_releases_of(project):
    assert api.releases_of(project) == VERSIONS


def test_release_reproduces_the_committed_release(project, tmp_path):
    published = api.release(project, ["2.0"], releases_dir=tmp_path)
    assert [(p.path, p.status) for p in published] == [(tmp_path / "2.0", "written")]
    assert tree(tmp_path / "2.0") == tree(RELEASES / "2.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2.0"]
    again = api.release(project, ["2.0"], releases_dir=tmp_path)
    assert [p.status for p in again] == ["unchanged"]


def test_release_cumulative_and_unknown(project, tmp_path):
    published = api.release(project, ["1.1"], from_version="1.0", releases_dir=tmp_path,
                            dialect_names=["sqlite"])
    assert [p.path for p in published] == [tmp_path / "1.1-from-1.0"]
    data = json.loads((tmp_path / "1.1-from-1.0" / "manifest.json").read_text())
    assert [s["revision"] for s in data["steps"]] == manifest_revisions("1.1")
    with pytest.raises(DistillError, match="known versions: 1.0, 1.1, 2.0, 2.1"):
        api.release(project, ["9.9"], releases_dir=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.1-from-1.0"]


# -- verify ----------------------------------------------------------------------------------


def test_verify_the_committed_releases(monkeypatch, project):
    monkeypatch.chdir(REPO)
    report = api.verify("releases/1.1")
    assert report.intact is True and report.findings == [] and report.result == "INTACT"
    assert report.verified is False  # no trusted keys: never VERIFIED
    assert report.files == len(tree(RELEASES / "1.1"))
    assert api.verify(RELEASES / "1.1.tar.gz").intact
    rebuilt = api.verify(RELEASES / "2.0", project=project, rebuild=True)
    assert rebuilt.intact, rebuilt.text()


def test_verify_a_tampered_copy(tmp_path, project):
    bundle = tmp_path / "1.1"
    shutil.copytree(RELEASES / "1.1", bundle)
    sql = bundle / "sqlite" / "upgrade.sql"
    data = bytearray(sql.read_bytes())
    data[-2] ^= 0x01
    sql.write_bytes(bytes(data))
    report = api.verify(bundle)
    assert report.intact is False and report.verified is False
    assert ("modified", "sqlite/upgrade.sql") in {(f.kind, f.path) for f in report.findings}
    assert report.to_json()["verified"] is False
    assert not api.verify(bundle, project=project, rebuild=True).intact


def test_verify_what_does_not_exist(tmp_path):
    with pytest.raises(CouldNotRun) as raised:
        api.verify(tmp_path / "nope")
    assert raised.value.exit_code == 2 and "does not exist" in raised.value.message


# -- diff ------------------------------------------------------------------------------------


def test_diff_identical_bundles():
    report = api.diff(RELEASES / "2.0", RELEASES / "2.0")
    assert report.differs is False and report.to_json()["summary"] == {
        "added_revisions": 0, "removed_revisions": 0, "edited_after_release": 0,
        "generator_changes": 0, "option_changes": 0, "sql_differences": 0, "runbook_lines_changed": 0,
        "manifest_fields_changed": 0}


def test_diff_two_releases():
    report = api.diff(RELEASES / "1.1", RELEASES / "2.0")
    assert report.differs is True
    assert [s["revision"] for s in report.added] == manifest_revisions("2.0")
    assert [s["revision"] for s in report.removed] == manifest_revisions("1.1")
    assert report.edited == [] and report.options == []


def test_diff_release_versions_and_rebuild(project):
    rebuilt = api.diff("2.0", project=project, rebuild=True)
    assert rebuilt.differs is False, rebuilt.to_json()["summary"]
    assert rebuilt.new.label == "rebuilt from the current sources"
    archived = api.diff(RELEASES / "2.0.tar.gz", "2.0", project=project)
    assert archived.differs is False and archived.new.label == "releases/2.0"


def test_diff_cannot_run(project, tmp_path):
    with pytest.raises(CouldNotRun, match="neither a bundle directory"):
        api.diff(tmp_path / "nope", RELEASES / "2.0")
    with pytest.raises(CouldNotRun, match="neither a bundle directory"):
        api.diff("9.9", "2.0", project=project)
    with pytest.raises(CouldNotRun, match="OLD and NEW"):
        api.diff(RELEASES / "2.0")
    with pytest.raises(CouldNotRun, match="needs the project"):
        api.diff(RELEASES / "2.0", rebuild=True)


# -- rehearse --------------------------------------------------------------------------------


def test_rehearse_the_committed_release(monkeypatch, project):
    monkeypatch.chdir(REPO)
    record = RELEASES / "1.1.rehearsal.json"
    recorded_before = record.exists()
    report = api.rehearse(project, "releases/1.1")
    assert report.passed is True, report.text()
    assert report.dialect == "sqlite"
    assert [p.name for p in report.phases] == [
        "verify", "sources", "upgrade.sql", "downgrade.sql", "upgrade.sql again", "upgrade.sql once more",
        "steps up", "steps down", "steps up again", "first step once more"]
    assert record.exists() == recorded_before  # nothing written without record=True


def test_rehearse_records_next_to_a_copy(project, tmp_path):
    bundle = tmp_path / "1.1"
    shutil.copytree(RELEASES / "1.1", bundle)
    report = api.rehearse(project, bundle, record=True)
    assert report.passed is True, report.text()
    record = tmp_path / "1.1.rehearsal.json"
    assert record.is_file()
    assert json.loads(record.read_text()) == report.to_json() and report.to_json()["passed"] is True
    assert not list(bundle.rglob("*rehearsal*"))  # next to the bundle, never inside it
    assert tree(bundle) == tree(RELEASES / "1.1") and api.verify(bundle).intact


def test_rehearse_a_bundle_that_does_not_verify(project, tmp_path):
    bundle = tmp_path / "1.1"
    shutil.copytree(RELEASES / "1.1", bundle)
    (bundle / "sqlite" / "upgrade.sql").write_text("DROP TABLE books;\n")
    with pytest.raises(CouldNotRun, match="does not verify") as raised:
        api.rehearse(project, bundle, record=True)
    assert raised.value.exit_code == 2 and "sqlite/upgrade.sql" in raised.value.message
    assert not (tmp_path / "1.1.rehearsal.json").exists()
