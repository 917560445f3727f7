"""authors: drop bio

IRREVERSIBLE DATA LOSS: the downgrade adds the column back, empty. The biographies that were in
it are gone; restore them from a backup taken before this revision if they are needed.

Revision ID: ab3a0c9d3e12
Revises: bc9f1b0c4d11
Create Date: 2025-06-16 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "ab3a0c9d3e12"
down_revision = "bc9f1b0c4d11"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_column("authors", "bio")


def downgrade() -> None:
    # Restores the column, not its data.
    op.add_column("authors", sa.Column("bio", sa.Text, nullable=True))
