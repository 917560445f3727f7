"""``python -m distill`` and the ``distill`` console script."""

import sys

from .cli import run


def entry() -> None:
    sys.exit(run())


if __name__ == "__main__":
    entry()
