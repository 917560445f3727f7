"""The layouts a statement can be given: ``sqlparse`` (reindented, verified token by token, see
``formatting``) or ``none`` (as Alembic wrote it)."""

import importlib.metadata

STYLES = ("sqlparse", "none")

# The sqlparse versions whose layouts ``closed_forms`` reproduces: each is proven in CI (``make
# sqlparse-corners`` runs tests/test_closed_forms.py on every one; patch releases have changed
# layout code). Under any other sqlparse, sqlparse lays out every shape itself, with a notice.
CLOSED_FORMS_SQLPARSE = ("0.5.0", "0.5.1", "0.5.2", "0.5.3", "0.5.4", "0.5.5", "0.6.0", "0.6.1")


def installed_sqlparse() -> str:
    """The installed sqlparse's version, read without importing it (``distill plan`` starts fast)."""
    return importlib.metadata.version("sqlparse")


def sqlparse_notice() -> str | None:
    """One line for stderr when the installed sqlparse is not one the closed forms were proven on."""
    version = installed_sqlparse()
    if version in CLOSED_FORMS_SQLPARSE:
        return None
    return (f"distill: notice: sqlparse {version} was not proven with distill's closed forms (proven: "
            f"{', '.join(CLOSED_FORMS_SQLPARSE)}); sqlparse lays out every statement itself, which is slower")
