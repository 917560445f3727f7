"""The project a distill command works on, and the defaults its configuration gives the options."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import dialects
from .config import Settings, embedded_example, load
from .history.generations import new_generation
from .statements.fail_on import parse_fail_on
from .statements.timeouts import Timeouts

if TYPE_CHECKING:
    from .cache import RenderCache, Result
    from .history.scripts import History
    from .shadow import ShadowSpec


class Project:
    """The project distill works on: its settings, and its history loaded on first use."""

    def __init__(self, directory: str | Path | None = None, config_file: str | Path | None = None, *,
                 example: bool = False, before_loading: Callable[[], str | None] | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        """``example``: the bookshop example that ships with distill, whatever the directory;
        ``before_loading``: called once before the command loads the history or starts what
        renders (the command line's compatibility check: Alembic is imported then), gives the
        warning to say, if any; ``warn``: says a warning (that one, or the one kept with a whole
        result found in the render cache, which loads no history), each text once."""
        self.directory = None if directory is None else Path(directory)
        self.config_file = None if config_file is None else Path(config_file)
        self.example = example
        self._before_loading, self._warn = before_loading, warn
        self._said: set[str] = set()
        # this project's load of its history: the second rendering loads the scripts again for
        # another Project of the same settings (an API caller's scripts may have changed)
        self.generation = new_generation()
        # once a command that uses the render cache asked for it before the history loaded: the
        # scripts' code objects kept there, which the load takes
        self._kept_code: Callable[[list[Path]], Any] | None = None

    @functools.cached_property
    def settings(self) -> Settings:
        """The project's settings (``[tool.distill]``, alembic.ini ...), read once."""
        return embedded_example() if self.example else load(self.directory, self.config_file)

    @functools.cached_property
    def history(self) -> History:
        """The loaded revision history (every revision script executed once)."""
        from .history.scripts import History

        settings = self.settings
        self.ready()
        return History(settings, kept_code=self._kept_code, generation=self.generation)

    def ready(self) -> None:
        """Before the history loads or anything that renders starts: ``before_loading``, once."""
        if self._before_loading is not None:
            self._say(self._before_loading())
            self._before_loading = None

    def found_whole(self, content: dict[str, Any]) -> None:
        """A whole result was found in the render cache: the warning kept with it is said again."""
        warning = content.get("compatibility_warning")
        self._say(warning if isinstance(warning, str) else None)

    def _say(self, warning: str | None) -> None:
        if warning and warning not in self._said and self._warn is not None:
            self._said.add(warning)
            self._warn(warning)

    def standalone(self, requested: bool) -> bool:
        """Standalone when asked for, or when the configuration says ``mode = "standalone"``."""
        return requested or self.settings.mode == "standalone"

    def shadow(self, requested: ShadowSpec | None) -> ShadowSpec | None:
        """The shadow asked for, or a throwaway one when the configuration says ``shadow = true``."""
        if requested:
            return requested
        if not self.settings.shadow:
            return None
        from .shadow import ShadowSpec  # imports SQLAlchemy: only where a shadow is used

        return ShadowSpec()

    def timeouts(self, requested: Timeouts) -> Timeouts:
        """The timeouts asked for, each falling back on the configured one."""
        configured = self.settings.timeouts
        return Timeouts(requested.lock_ms or configured.lock_ms,
                        requested.statement_ms or configured.statement_ms)

    def record_table(self, requested: bool) -> str | None:
        """The table files record themselves in, when asked for or configured (record_applied)."""
        return self.settings.record_table if requested or self.settings.record_applied else None

    def reproducibility_check(self, requested: bool | None) -> bool:
        """Whether to render a second time to find what is not reproducible: as asked
        (--reproducibility-check / --no-...), else as configured (reproducibility_check)."""
        return self.settings.reproducibility_check if requested is None else requested

    def render_cache(self, enabled: bool) -> RenderCache | None:
        """The render cache (``cache_dir``, else the user's cache directory) for this project's
        loaded history; None when not ``enabled`` (--no-cache) or when its keys cannot be
        computed with certainty."""
        if not enabled:
            return None
        from .cache import RenderCache, directory_of

        self.use_kept_code(enabled)
        return RenderCache.open(directory_of(self.settings), self.history, write=True)

    def use_kept_code(self, enabled: bool) -> None:
        """When ``enabled`` and the history has not loaded yet: it loads taking the scripts' code
        objects kept in the render cache (a command that uses the cache says so first)."""
        if "history" not in self.__dict__:
            self._kept_code = self.kept_code(enabled)

    def cache_directory(self, enabled: bool) -> Path | None:
        """The render cache's directory (``cache_dir``, else the user's cache directory); None
        when not ``enabled`` (--no-cache)."""
        from .cache import directory_of

        return directory_of(self.settings) if enabled else None

    def kept_code(self, enabled: bool) -> Callable[[list[Path]], Any] | None:
        """Given a history's version folders, the code objects of their scripts kept in the render
        cache (History's ``kept_code``; picklable, for the second rendering's process); None when
        not ``enabled``."""
        from .cache.compiled import KeptCode

        directory = self.cache_directory(enabled)
        return functools.partial(KeptCode, directory) if directory is not None else None

    def result_key(self, enabled: bool, command: str, options: tuple) -> Result:
        """Where ``command``'s whole result with ``options`` is cached (found before the history
        loads); a result that is never found nor kept when not ``enabled``."""
        from .cache import Result, directory_of

        return Result.for_command(directory_of(self.settings), self.settings, command, options) if enabled \
            else Result(None, None)

    def dialect_names(self, chosen: Iterable[str] | str | None) -> tuple[str, ...]:
        """The dialects asked for (names or a comma-separated string), or the configured ones."""
        if isinstance(chosen, str):
            chosen = chosen.split(",") if chosen else None
        return tuple(d.name for d in dialects.parse_list(list(chosen or self.settings.dialects)))

    def fail_on(self, requested: str | None) -> frozenset[str]:
        """The kinds that make `distill check` fail: --fail-on, else the configured fail_on."""
        if requested is not None:
            return parse_fail_on(requested, "--fail-on")
        return frozenset(self.settings.fail_on)
