"""Every patch distill makes to the standard library, and nowhere else (Alembic's and
SQLAlchemy's internals are in ``alembic_compat``). Each is a context manager: the patch holds only
while distill loads the revision scripts or renders them, and the original is back on the way out.

* ``log_records_through``: ``logging.Logger.callHandlers``, so a log record a revision (or
  env.py) writes to stdout while rendering becomes a comment instead of SQL.
* ``warnings_captured``: ``warnings.showwarning`` (inside ``catch_warnings``), so each warning a
  rendering raises is noted every time instead of printed once.
* ``loads_observed``: ``SourceFileLoader.exec_module``, to count loaded scripts on the progress line.
* ``compiled_code_from``: ``SourceFileLoader.source_to_code``, to take code objects compiled on the
  second core (``history.parallel_compile``). Plain bytecode caching does not serve there: it is
  what is missing on a fresh CI machine, a read-only checkout or under PYTHONDONTWRITEBYTECODE,
  and a ``sys.pycache_prefix`` would hide the project's own ``__pycache__``.
* ``watch``: what loading and rendering read and import, for the render cache's keys
  (``SourceFileLoader.exec_module`` while watching, and an audit hook, inert outside it).
"""

from . import watch
from .stdlib import compiled_code_from, loads_observed, log_records_through, warnings_captured

__all__ = ["compiled_code_from", "loads_observed", "log_records_through", "warnings_captured", "watch"]
