"""Release ranges from ``[tool.distill.releases]``: version -> revision, in release order, and
the dialects each release is built for."""

from __future__ import annotations

from pathlib import Path

from ..config import Settings
from ..errors import ConfigError, DistillError
from ..names import check_release_name


def versions(settings: Settings) -> list[str]:
    """The release versions of ``[tool.distill.releases]``, in release order."""
    if not settings.releases:
        raise ConfigError(f"{settings.source} has no [tool.distill.releases] map (version -> revision)")
    return list(settings.releases)


def release_range(settings: Settings, version: str, from_version: str | None = None) -> tuple[str, str]:
    """(from spec, to spec) of release ``version``: from the previous version (or base)."""
    check_release_name(version)
    if from_version is not None:
        check_release_name(from_version)
    known = versions(settings)
    if version not in known:
        raise ConfigError(f"release {version!r} is not in [tool.distill.releases] of {settings.source}; "
                          f"known versions: {', '.join(known)}")
    index = known.index(version)
    if from_version is None:
        return (known[index - 1] if index else "base"), version
    if from_version not in known[:index]:
        raise ConfigError(f"--from {from_version!r} must be a release before {version!r}: "
                          f"{', '.join(known[:index]) or 'there is none'}")
    return from_version, version


def release_dialects(settings: Settings, version: str) -> tuple[str, ...]:
    """The dialects release ``version`` is built for: those it declares in
    ``[tool.distill.releases]`` (``{ to = "...", dialects = [...] }``), else the project's."""
    return settings.release_dialects.get(version, settings.dialects)


def bundle_name(version: str, from_version: str | None) -> str:
    """The bundle directory's name: the version, or ``V-from-F`` for a cumulative bundle."""
    return version if from_version is None else f"{version}-from-{from_version}"


def default_releases_dir(settings: Settings) -> Path:
    """``releases/`` of the project; in the working directory for the embedded example."""
    if settings.source == "the embedded bookshop example":
        return Path.cwd() / "releases"
    return settings.root / "releases"


def built_bundle(settings: Settings, version: str) -> Path:
    """Where release ``version``'s bundle is: its directory under the releases folder, else its
    archive next to it; a DistillError when it has not been built."""
    base = default_releases_dir(settings) / version
    for candidate in (base, base.parent / f"{version}.tar.gz"):
        if candidate.exists():
            return candidate
    raise DistillError(f"release {version} has not been built: no {base} (run distill release {version})")
