"""``python -m distill`` and the ``distill`` console script."""

import logging
import os
import sys

from .cli import run


def entry() -> None:
    code = run()
    # Every file distill writes is closed and every temp dir removed by now; what is left is the
    # interpreter tearing down the loaded history object by object (0.15 s for 1,000 revisions,
    # seconds for 10,000). Flush what is buffered and leave without it, as mypy does.
    try:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # e.g. a closed pipe: let the normal exit report it
        sys.exit(code)
    os._exit(code)


if __name__ == "__main__":
    entry()
