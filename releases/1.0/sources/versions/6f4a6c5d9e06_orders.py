"""orders, with an order_status Enum

Revision ID: 6f4a6c5d9e06
Revises: 5e3f7b6c0d05
Create Date: 2025-03-17 09:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "6f4a6c5d9e06"
down_revision = "5e3f7b6c0d05"
branch_labels = None
depends_on = None

ORDER_STATUS = ("pending", "paid", "shipped", "cancelled")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("book_id", sa.Integer, sa.ForeignKey("books.id"), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "status",
            sa.Enum(*ORDER_STATUS, name="order_status"),
            nullable=False,
            server_default="pending",
        ),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )


def downgrade() -> None:
    op.drop_table("orders")
    if op.get_context().dialect.name == "postgresql":
        postgresql.ENUM(name="order_status").drop(op.get_bind(), checkfirst=False)
