"""Where distill's settings come from.

In order: ``--config FILE``; ``distill.toml`` or ``pyproject.toml`` with a ``[tool.distill]`` table in
the working directory; an ``alembic.ini`` (or pyproject ``[tool.alembic]``) there with distill's
defaults; and when nothing is configured at all, the embedded bookshop example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import dialects, tomlfile
from .errors import ConfigError, DistillError, NoProjectError
from .names import check_release_name, check_table_name, one_line
from .resources import data_dir
from .statements.applied_record import DEFAULT_TABLE, check_record_table
from .statements.fail_on import Waiver, parse_fail_on, parse_waivers
from .statements.timeouts import Timeouts, parse_duration

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

DEFAULT_DIALECTS = ("postgresql", "mysql", "sqlite")
_KNOWN_KEYS = {
    "project", "alembic_config", "dialects", "mode", "releases", "version_table",
    "version_table_schema", "version_table_pk", "transactional_ddl", "transaction_per_migration",
    "shadow", "lock_timeout", "statement_timeout", "record_applied", "record_table", "fail_on",
    "reproducibility_check", "setup", "waivers", "verify_signers", "server_version", "cache_dir",
}
# setup = "package.module:function": dotted module names, one function name, nothing else
_SETUP_HOOK = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class VersionTableOptions:
    """What ``--standalone`` passes to ``context.configure`` instead of what env.py would."""

    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    version_table_pk: bool = True
    transactional_ddl: bool | None = None  # None: the dialect's own default
    transaction_per_migration: bool = False


@dataclass(frozen=True)
class Settings:
    """Everything a distill command needs to know about the project it runs in."""

    root: Path  # the directory paths in the configuration are relative to
    source: str  # where the settings were read from, for messages
    project: str
    alembic_config_path: Path
    dialects: tuple[str, ...] = DEFAULT_DIALECTS
    mode: str = "project"  # "project" runs env.py, "standalone" never does
    releases: dict[str, str] = field(default_factory=dict)
    # the dialects a release declares ({ to = "...", dialects = [...] }): its bundle's dialects
    # instead of the project's
    release_dialects: dict[str, tuple[str, ...]] = field(default_factory=dict)
    standalone: VersionTableOptions = VersionTableOptions()
    shadow: bool = False  # render against a throwaway shadow database by default (--shadow)
    timeouts: Timeouts = Timeouts()  # lock_timeout / statement_timeout: the defaults of the options
    record_applied: bool = False  # every file records itself in the database (--record-applied)
    record_table: str = DEFAULT_TABLE  # ... in this table
    fail_on: tuple[str, ...] = ("unrenderable",)  # what makes `distill check` fail (--fail-on)
    # render a second time to find what is not reproducible (--no-reproducibility-check)
    reproducibility_check: bool = True
    setup: str | None = None  # "package.module:function", called before the revisions load
    waivers: tuple[Waiver, ...] = ()  # [[tool.distill.waivers]]: acknowledged findings (statements/fail_on)
    verify_signers: Path | None = None  # the allowed_signers file `distill verify` trusts by default
    # server_version = { postgresql = "15" }: (dialect, version) pairs, sorted; a dialect not
    # named is assumed at the oldest version its rules know (dialects/*.toml [server_version])
    server_versions: tuple[tuple[str, str], ...] = ()
    cache_dir: str | None = None  # the render cache (relative to root); None: the user's cache directory

    def alembic_config(self) -> AlembicConfig:
        """A fresh Alembic Config for this project (alembic.ini or pyproject [tool.alembic])."""
        import alembic  # here: a result found whole in the render cache needs no Alembic

        from . import alembic_compat as compat
        path = self.alembic_config_path
        pyproject = path if path.suffix == ".toml" else path.parent / "pyproject.toml"
        toml_file = str(pyproject) if _has_table(pyproject, "alembic") else None
        if toml_file and not compat.TOML_CONFIG:
            raise ConfigError(f"{pyproject} configures Alembic in [tool.alembic], which needs Alembic "
                              f"1.16 or newer (this is {alembic.__version__}); use an alembic.ini, or "
                              "upgrade Alembic")
        return compat.alembic_config(None if path.suffix == ".toml" else str(path), toml_file)

    def standalone_options(self) -> dict[str, Any]:
        """What ``--standalone`` passes to ``context.configure`` instead of env.py (offline
        rendering and online Alembic alike)."""
        options = self.standalone
        kw: dict[str, Any] = {
            "version_table": options.version_table,
            "version_table_schema": options.version_table_schema,
            "version_table_pk": options.version_table_pk,
            "transaction_per_migration": options.transaction_per_migration,
        }
        if options.transactional_ddl is not None:
            kw["transactional_ddl"] = options.transactional_ddl
        return kw


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomlfile.loads(path.read_text(encoding="utf-8"))
    except tomlfile.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from exc


def _has_table(path: Path, name: str) -> bool:
    return path.is_file() and name in _read_toml(path).get("tool", {})


def _distill_table(path: Path) -> dict[str, Any] | None:
    data = _read_toml(path)
    if path.name == "distill.toml":
        return data.get("tool", {}).get("distill", data)
    return data.get("tool", {}).get("distill")


def _from_table(table: dict[str, Any], root: Path, source: str) -> Settings:
    unknown = sorted(set(table) - _KNOWN_KEYS)
    if unknown:
        raise ConfigError(
            f"{source}: unknown [tool.distill] key(s) {', '.join(unknown)}; "
            f"known keys are {', '.join(sorted(_KNOWN_KEYS))}"
        )
    names = tuple(table.get("dialects", DEFAULT_DIALECTS))
    for name in names:
        try:
            dialects.get(name)  # fails early, naming the known dialects
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    alembic_path = root / table.get("alembic_config", "alembic.ini")
    if not alembic_path.is_file():
        pyproject = root / "pyproject.toml"
        if "alembic_config" not in table and _has_table(pyproject, "alembic"):
            alembic_path = pyproject
        else:
            raise ConfigError(
                f"{source}: the alembic configuration {alembic_path.name!r} does not exist in "
                f"{_display(alembic_path.parent, root)}; set alembic_config in [tool.distill]"
            )
    mode = table.get("mode", "project")
    if mode not in ("project", "standalone"):
        raise ConfigError(f"{source}: mode must be 'project' or 'standalone', not {mode!r}")
    releases, release_dialects = _releases(table.get("releases", {}), source)
    standalone = _version_table_options(table, source)
    return Settings(
        root=root,
        source=source,
        project=table.get("project", root.name),
        alembic_config_path=alembic_path,
        dialects=names,
        mode=mode,
        releases=releases,
        release_dialects=release_dialects,
        standalone=standalone,
        waivers=parse_waivers(table.get("waivers", []), source, dialects.available()),
        verify_signers=_verify_signers(table, root, source),
        server_versions=_server_versions(table.get("server_version", {}), source),
        **_option_defaults(table, source),
    )


_RELEASE_KEYS = ("to", "dialects")


def _releases(raw: Any, source: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """``[tool.distill.releases]``: version -> revision, or version -> { to = revision,
    dialects = [...] }; (the revisions, the dialects each release declares)."""
    where = f"{source}: [tool.distill.releases]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table of version = revision")
    revisions: dict[str, str] = {}
    declared: dict[str, tuple[str, ...]] = {}
    for version, value in raw.items():
        try:  # versions become folder names: full matches only
            check_release_name(version)
        except DistillError as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
        if isinstance(value, dict):
            unknown = sorted(set(value) - set(_RELEASE_KEYS))
            if unknown:
                raise ConfigError(f"{where}: release {version!r} has unknown key(s) "
                                  f"{one_line(', '.join(map(repr, unknown)))[:200]}; known keys are "
                                  f"{', '.join(_RELEASE_KEYS)}")
            if "dialects" in value:
                declared[version] = _release_dialects(value["dialects"], f"{where}: release {version!r}")
            value = value.get("to")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} maps each version to a revision string, or to a table with "
                              f"`to` (the revision) and `dialects`: release {version!r} has no revision "
                              f"string (write \"{version}\" = {{ to = \"<revision>\" }})")
        revisions[version] = value
    return revisions, declared


def _release_dialects(names: Any, where: str) -> tuple[str, ...]:
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{where}: dialects must be a non-empty list of dialect names")
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: dialects names a dialect twice")
    for name in names:
        try:
            dialects.get(name)  # fails early, naming the known dialects
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc.message}") from None
    return tuple(names)


def _verify_signers(table: dict[str, Any], root: Path, source: str) -> Path | None:
    value = table.get("verify_signers")
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: verify_signers names an OpenSSH allowed_signers file (a path "
                          "relative to the project)")
    return root / value


_VERSION = re.compile(r"\d{1,4}(\.\d{1,4}){0,2}")


def _server_versions(value: Any, source: str) -> tuple[tuple[str, str], ...]:
    """The ``server_version`` table, checked: each key a dialect with version-dependent rules,
    each value a version string of one to three numbers."""
    versioned = [name for name in dialects.available() if dialects.get(name).oldest_version]
    shape = (f"server_version names the version of the server each dialect's files are applied to, "
             f"as a table of strings, e.g. server_version = {{ postgresql = \"15\", mysql = \"8.0.36\" }} "
             f"(dialects with version-dependent findings: {', '.join(versioned)})")
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {shape}; it is {one_line(repr(value))[:100]}")
    for name, version in value.items():
        if name not in versioned:
            raise ConfigError(f"{source}: server_version names {one_line(repr(name))[:100]}, which is no "
                              f"dialect with version-dependent findings; {shape}")
        if not (isinstance(version, str) and _VERSION.fullmatch(version)):
            raise ConfigError(f"{source}: server_version.{name} is {one_line(repr(version))[:100]}, not a "
                              f"version such as \"15\" or \"8.0.36\"; {shape}")
    return tuple(sorted(value.items()))


def _version_table_options(table: dict[str, Any], source: str) -> VersionTableOptions:
    for key in ("version_table", "version_table_schema"):  # they reach SQL, literals, the runbook
        if table.get(key) is not None:
            try:
                check_table_name(table[key], key)
            except DistillError as exc:
                raise ConfigError(f"{source}: {exc.message}") from None
    return VersionTableOptions(**{k: table[k] for k in VersionTableOptions.__dataclass_fields__
                                  if k in table})


def _record_table(table: dict[str, Any], source: str) -> str:
    name = check_record_table(table.get("record_table", DEFAULT_TABLE), source)
    if name.lower() == str(table.get("version_table", "alembic_version")).lower():
        raise ConfigError(f"{source}: record_table {name!r} is the version table; name another table")
    return name


def _option_defaults(table: dict[str, Any], source: str) -> dict[str, Any]:
    """The keys that give command options their defaults: shadow, timeouts, record_applied, fail_on."""
    for key in ("shadow", "record_applied", "reproducibility_check"):
        if not isinstance(table.get(key, False), bool):
            raise ConfigError(f"{source}: {key} must be true or false")
    setup = table.get("setup")
    if setup is not None and not (isinstance(setup, str) and _SETUP_HOOK.fullmatch(setup)):
        raise ConfigError(f"{source}: setup must name a function as \"package.module:function\", "
                          f"not {one_line(repr(setup))[:200]}")
    cache_dir = table.get("cache_dir")
    if cache_dir is not None and not (isinstance(cache_dir, str) and cache_dir.strip()
                                      and "\0" not in cache_dir):
        raise ConfigError(f"{source}: cache_dir must be a directory path, "
                          f"not {one_line(repr(cache_dir))[:200]}")
    return {
        "cache_dir": cache_dir,
        "reproducibility_check": table.get("reproducibility_check", True),
        "setup": setup,
        "shadow": table.get("shadow", False),
        "timeouts": Timeouts(*(parse_duration(table[key], f"{source}: {key}") if key in table else None
                               for key in ("lock_timeout", "statement_timeout"))),
        "record_applied": table.get("record_applied", False),
        "record_table": _record_table(table, source),
        "fail_on": tuple(sorted(parse_fail_on(table.get("fail_on", "unrenderable"), f"{source}: fail_on"))),
    }


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root)) or "."
    except ValueError:
        return str(path)


def embedded_example() -> Settings:
    """The bookshop example that ships with distill."""
    root = data_dir("examples") / "bookshop"
    return _from_table(
        {"project": "bookshop", "alembic_config": "alembic.ini", "dialects": list(dialects.available())},
        root,
        "the embedded bookshop example",
    )


def load(cwd: Path | None = None, config_file: Path | None = None) -> Settings:
    """Find and read the settings for the project in ``cwd``; NoProjectError when there are none
    (the embedded example is used only where a configuration names it, or with --example)."""
    cwd = (cwd or Path.cwd()).resolve()
    if config_file is not None:
        config_file = config_file.resolve()
        if not config_file.is_file():
            raise ConfigError(f"configuration file {config_file} does not exist")
        if config_file.suffix == ".ini":
            return _from_table({"alembic_config": config_file.name}, config_file.parent,
                               config_file.name)
        table = _distill_table(config_file)
        if table is None:
            raise ConfigError(f"{config_file.name} has no [tool.distill] table")
        return _from_table(table, config_file.parent, config_file.name)
    for name in ("distill.toml", "pyproject.toml"):
        path = cwd / name
        if path.is_file():
            table = _distill_table(path)
            if table is not None:
                return _from_table(table, cwd, name)
    if (cwd / "alembic.ini").is_file() or _has_table(cwd / "pyproject.toml", "alembic"):
        return _from_table({}, cwd, "alembic configuration in the working directory")
    raise NoProjectError(
        f"no distill or Alembic configuration in {cwd} (looked for distill.toml, pyproject.toml with "
        "[tool.distill] or [tool.alembic], and alembic.ini). Run distill in the project's directory, "
        "or pass -C DIRECTORY or --config FILE; --example runs on the bookshop example that ships "
        "with distill.")
