"""orders: cancel orders left pending (irreversible data migration)

IRREVERSIBLE: the downgrade cannot know which orders were 'pending' before this revision
cancelled them, so it does nothing. Going back past this revision means restoring a backup.

Revision ID: f03d6b5a4c15
Revises: ef2c8e7f1a14
Create Date: 2025-09-01 09:00:00

"""
from alembic import op

revision = "f03d6b5a4c15"
down_revision = "ef2c8e7f1a14"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE orders SET status = 'cancelled' WHERE status = 'pending' AND customer_id IS NULL"
    )


def downgrade() -> None:
    """Which orders were pending is not recorded anywhere: nothing can be restored."""
    pass
