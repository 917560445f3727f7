"""reviews.customer_id: the reviews branch needs the main line's customers

Revision ID: ab8e2a1b5c10
Revises: 8b6c4e3f7a08
Depends on: 9c7d3f2a6b09
Create Date: 2025-05-19 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "ab8e2a1b5c10"
down_revision = "8b6c4e3f7a08"
branch_labels = None
depends_on = "9c7d3f2a6b09"


def upgrade() -> None:
    op.add_column("reviews", sa.Column("customer_id", sa.Integer, nullable=True))
    op.create_index(op.f("ix_reviews_customer_id"), "reviews", ["customer_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reviews_customer_id"), table_name="reviews")
    op.drop_column("reviews", "customer_id")
