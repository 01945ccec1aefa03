"""Sync bookkeeping: the store's sequence number on each acknowledged entry (the outbox is
every entry where it is still NULL).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("server_seq", sa.Integer, nullable=True))
    op.create_index(
        "ix_entries_outbox", "entries", ["seq"], sqlite_where=sa.text("server_seq IS NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_entries_outbox", "entries")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("server_seq")
