"""While revision scripts load or render (``process_kept``), a script cannot end distill's process
without a word or leave a copy of it running: ``os._exit()`` raises SystemExit (which the caller
reports, naming the script and line), ``os.fork()`` and ``os.forkpty()`` raise ``ForkRefused``.
A copy made some other way (a C library's fork) ends itself at once when the block ends in it,
before it could print or write anything."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

_REAL = {name: getattr(os, name) for name in ("_exit", "fork", "forkpty") if hasattr(os, name)}
_lock = threading.Lock()
_depth = 0


class ForkRefused(OSError):
    """A revision script (or env.py) called ``os.fork()`` while distill loaded or rendered it. An
    OSError, as a fork that fails raises: the copy would go on running distill."""

    def __init__(self, call: str) -> None:
        super().__init__(f"{call} is refused while distill runs revision scripts: the copy of the "
                         "process would go on running distill")


def _exit(code: Any = 0) -> None:
    raise SystemExit(code)


def _refuse(name: str) -> Any:
    def refused(*_: Any, **__: Any) -> Any:
        raise ForkRefused(f"os.{name}()")
    return refused


@contextlib.contextmanager
def process_kept() -> Iterator[None]:
    """While inside (re-entrant): ``os._exit()`` raises SystemExit, ``os.fork()`` and
    ``os.forkpty()`` raise ForkRefused; a process forked some other way ends itself (status 1)
    when it leaves the block."""
    global _depth
    pid = os.getpid()
    with _lock:
        if _depth == 0:
            os._exit = _exit  # type: ignore[assignment]
            for name in ("fork", "forkpty"):
                if name in _REAL:
                    setattr(os, name, _refuse(name))
        _depth += 1
    try:
        yield
    finally:
        if os.getpid() != pid:  # a copy forked behind our back: it must not go on as distill
            _REAL["_exit"](1)
        with _lock:
            _depth -= 1
            if _depth == 0:
                for name, real in _REAL.items():
                    setattr(os, name, real)
