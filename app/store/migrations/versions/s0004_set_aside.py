"""Entries set aside: a stored entry that the entry catalogue refuses (stored by an older
version that checked less) keeps its seq but is sent to desks as a placeholder with the
reason, so every desk sets aside the same entry and no pull fails on it.

Revision ID: s0004
Revises: s0003
"""

import sqlalchemy as sa
from alembic import op

revision = "s0004"
down_revision = "s0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("set_aside", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("set_aside")
