"""Moving the clock of the reproducibility check's second rendering forward, below Python.

The child process that renders a second time (``second_rendering``) starts with libfaketime
preloaded (``LD_PRELOAD``, Debian's ``faketime`` / ``libfaketime`` packages): the C library's
clock calls answer 3 days 7 h 11 min 13 s later, so ``datetime.now()``, ``date.today()`` and
``time.time()`` do, while ``datetime``, ``time`` and every other module stay exactly what they are
(a C extension that subclasses ``datetime``, pandas for one, imports as it does anywhere).
Monotonic clocks and file times are left alone. Where libfaketime is missing, the second
rendering still runs under another hash seed, and the check says the clock was not moved.
"""

from __future__ import annotations

import datetime
import glob
import os
import sysconfig

CLOCK_SHIFT = datetime.timedelta(days=3, hours=7, minutes=11, seconds=13)

# Where libfaketime is looked for, in order (``{multiarch}``: this Python's multiarch triple,
# e.g. x86_64-linux-gnu; ``*``: any multiarch directory). DISTILL_LIBFAKETIME names another file.
LIBFAKETIME_PATHS = (
    "/usr/lib/{multiarch}/faketime/libfaketime.so.1",
    "/usr/lib/*/faketime/libfaketime.so.1",
    "/usr/lib64/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/faketime/libfaketime.so.1",
    "/usr/local/lib/*/faketime/libfaketime.so.1",
)
INSTALL_HINT = "install Debian's faketime package (apt-get install faketime)"


def find_libfaketime() -> str | None:
    """The path of libfaketime, or None where it is not installed."""
    given = os.environ.get("DISTILL_LIBFAKETIME")
    if given:
        return given if os.path.isfile(given) else None
    multiarch = sysconfig.get_config_var("MULTIARCH") or "*"
    for pattern in LIBFAKETIME_PATHS:
        for path in sorted(glob.glob(pattern.format(multiarch=multiarch))):
            if os.path.isfile(path):
                return path
    return None


def shifted_environment(env: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """``env`` with libfaketime preloaded and the clock moved forward by CLOCK_SHIFT; and why not,
    where it cannot be (then ``env`` is returned unchanged)."""
    library = find_libfaketime()
    if library is None:
        where = os.environ.get("DISTILL_LIBFAKETIME") or "the multiarch library directories"
        return env, f"libfaketime was not found (looked in {where}); {INSTALL_HINT}"
    preload = " ".join(part for part in (library, env.get("LD_PRELOAD", "")) if part)
    return {**env, "LD_PRELOAD": preload, "FAKETIME": f"+{int(CLOCK_SHIFT.total_seconds())}",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1", "NO_FAKE_STAT": "1"}, None


def shifted(child_time: float, our_time: float) -> bool:
    """Whether the clock the child read (``child_time``, time.time() there) was moved forward,
    compared with ours read after its answer arrived."""
    return child_time - our_time > CLOCK_SHIFT.total_seconds() / 2
