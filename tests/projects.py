"""Small Alembic projects written into a temp dir by a test: one env.py, the given revisions."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runner import run_distill  # noqa: F401 - where the tests import it from

ENV_PY = '''
import os
from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

REVISION = '''"""{message}"""
import sqlalchemy as sa
from alembic import op
{imports}
revision = {revision!r}
down_revision = {down!r}
branch_labels = None
depends_on = None

{body}
'''


def write_project(root: Path, revisions: list[dict], *, distill_toml: str = "") -> Path:
    """Write alembic.ini, env.py and one file per revision; returns ``root``.

    Each revision: {"revision", "down", "message", "body" (upgrade/downgrade source), "imports"}.
    """
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = %(here)s\n"
        "path_separator = os\nsqlalchemy.url = sqlite://\n"
    )
    (root / "migrations" / "env.py").write_text(ENV_PY)
    for number, rev in enumerate(revisions, 1):
        text = REVISION.format(
            message=rev.get("message", rev["revision"]),
            imports=rev.get("imports", ""),
            revision=rev["revision"],
            down=rev.get("down"),
            body=textwrap.dedent(rev["body"]).strip() + "\n",
        )
        (versions / f"{number:03d}_{rev['revision']}.py").write_text(text, encoding="utf-8")
    if distill_toml:
        (root / "distill.toml").write_text(distill_toml)
    return root


# The first revision of several small projects: a table t with an id, dropped on downgrade.
CREATE_T = {"revision": "a1", "message": "create t", "body": '''
    def upgrade():
        op.create_table("t", sa.Column("id", sa.Integer, primary_key=True))

    def downgrade():
        op.drop_table("t")
'''}


# a small history of common operations (tables, constraints, data, column changes), written
# for every dialect
SHELF = [
    {"revision": "f1", "message": "tables", "body": '''
def upgrade():
    op.create_table("shelf", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("label", sa.String(40), nullable=False, server_default="none"),
                    sa.Column("note", sa.Text), sa.UniqueConstraint("label", name="uq_shelf_label"),
                    sa.CheckConstraint("id > 0", name="ck_shelf_id"))
    op.create_index("ix_shelf_note", "shelf", ["label", "id"])

def downgrade():
    op.drop_index("ix_shelf_note", table_name="shelf")
    op.drop_table("shelf")
'''},
    {"revision": "f2", "down": "f1", "message": "data and changes", "body": '''
def upgrade():
    shelf = sa.table("shelf", sa.column("id", sa.Integer), sa.column("label", sa.String))
    op.bulk_insert(shelf, [{"id": 1, "label": "it's; -- a / label"}, {"id": 2, "label": "GO"}])
    op.add_column("shelf", sa.Column("size", sa.Integer, nullable=True))
    op.alter_column("shelf", "label", type_=sa.String(80), existing_type=sa.String(40),
                    existing_nullable=False)
    op.execute("UPDATE shelf SET size = 1 WHERE label <> 'x'")

def downgrade():
    op.alter_column("shelf", "label", type_=sa.String(40), existing_type=sa.String(80),
                    existing_nullable=False)
    op.drop_column("shelf", "size")
    op.execute("DELETE FROM shelf")
'''},
]
