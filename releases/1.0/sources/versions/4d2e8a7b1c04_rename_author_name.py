"""authors: rename name to full_name

Revision ID: 4d2e8a7b1c04
Revises: 3c1d9e8f2a03
Create Date: 2025-02-17 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "4d2e8a7b1c04"
down_revision = "3c1d9e8f2a03"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "authors",
        "name",
        new_column_name="full_name",
        existing_type=sa.String(200),
        existing_nullable=False,
    )


def downgrade() -> None:
    op.alter_column(
        "authors",
        "full_name",
        new_column_name="name",
        existing_type=sa.String(200),
        existing_nullable=False,
    )
