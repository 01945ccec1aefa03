"""The triage tray reads the intake entries by kind, and only those that arrived since it last
looked (by local seq): an index on (kind, seq) keeps that a short range scan however long the
journal grows.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_entries_kind_seq", "entries", ["kind", "seq"])


def downgrade() -> None:
    op.drop_index("ix_entries_kind_seq", "entries")
