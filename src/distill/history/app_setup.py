"""The application setup hook: ``setup = "package.module:function"`` in ``[tool.distill]``.

Some histories import their application (a Flask app, a settings module) and need it initialised
before their revision scripts import: an app context pushed, a registry filled. distill calls the
hook once in each process that loads the history, before the scripts load: the main process
(whose forked workers inherit what it did) and the fresh interpreter of the reproducibility
check's second rendering. The module is imported with the project's directory on ``sys.path``.
"""

from __future__ import annotations

import importlib
import sys

from ..config import Settings
from ..errors import ConfigError
from ..names import one_line

_CALLED: set[tuple[str, str]] = set()  # (hook, project directory) already called in this process


def run_setup(settings: Settings) -> None:
    """Call the project's setup hook, once per process; ConfigError naming the configuration and
    the hook when it cannot be imported or fails."""
    hook = settings.setup
    if hook is None or (hook, str(settings.root)) in _CALLED:
        return
    module_name, _, function_name = hook.partition(":")
    root = str(settings.root)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        function = getattr(importlib.import_module(module_name), function_name)
        function()
    except (Exception, SystemExit) as exc:  # whatever the application raises, one paragraph
        raise ConfigError(
            f"{settings.source}: the setup hook {hook} (setup in [tool.distill]) failed: "
            f"{type(exc).__name__}: {one_line(exc)[:300]}. Fix the hook or the setting; it is called "
            "before the revision scripts load, in every process distill uses.") from None
    _CALLED.add((hook, root))
