"""merge the reviews branch into the main line

Revision ID: bc9f1b0c4d11
Revises: ab8e2a1b5c10, 9c7d3f2a6b09
Create Date: 2025-06-02 09:00:00

"""

revision = "bc9f1b0c4d11"
down_revision = ("ab8e2a1b5c10", "9c7d3f2a6b09")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
