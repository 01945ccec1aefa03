"""The first journal: entries, the card projection, desk metadata.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "entries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("card_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("hlc", sa.String(80), nullable=False),
        sa.Column("desk_id", sa.String(40), nullable=False),
        sa.Column("operator", sa.String(80), nullable=False),
        sa.Column("schema", sa.Integer, nullable=False),
    )
    op.create_index("ix_entries_card_id", "entries", ["card_id"])
    op.create_index("ix_entries_hlc", "entries", ["hlc"])
    op.create_table(
        "cards",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False, unique=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("site", sa.String(120), nullable=False),
        sa.Column("registered_at", sa.String(40), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("last_hlc", sa.String(80), nullable=False),
    )
    op.create_index("ix_cards_status_priority", "cards", ["status", "priority"])
    op.create_table(
        "desk_meta",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("desk_meta")
    op.drop_table("cards")
    op.drop_table("entries")
