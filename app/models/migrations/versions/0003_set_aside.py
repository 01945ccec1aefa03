"""Entries set aside: pulled entries this desk cannot apply, and its own entries the store
refused, each with the reason, until an operator retries or discards them.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "set_aside",
        # The entry's id as it arrived (or "seq:N" when it had none we could read).
        sa.Column("id", sa.String(80), primary_key=True),
        sa.Column("direction", sa.String(10), nullable=False),  # pulled, refused, local
        sa.Column("seq", sa.Integer, nullable=True),
        sa.Column("card_id", sa.String(80), nullable=True),
        sa.Column("kind", sa.String(80), nullable=True),
        sa.Column("raw", sa.Text, nullable=False),  # the entry as JSON, ASCII-escaped
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("noted_at", sa.String(40), nullable=False),
        sa.Column("resolved_at", sa.String(40), nullable=True),
        sa.Column("resolution", sa.Text, nullable=True),
    )
    op.create_index("ix_set_aside_open", "set_aside", ["direction"],
                    sqlite_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_set_aside_open", "set_aside")
    op.drop_table("set_aside")
