"""authors

Revision ID: 1a0f3c5e7b01
Revises:
Create Date: 2025-01-06 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "1a0f3c5e7b01"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "authors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("bio", sa.Text, nullable=True),
        sa.Column(
            "created_at", sa.DateTime, nullable=False, server_default=sa.text("CURRENT_TIMESTAMP")
        ),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("authors")
