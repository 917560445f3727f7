"""distill: reviewed, reproducible SQL from an Alembic migration history."""

__version__ = "0.1.0"
