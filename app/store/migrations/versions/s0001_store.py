"""The central store: entries numbered in commit order, desks, enrolment codes, card numbers.

Revision ID: s0001
Revises:
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "s0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "store_meta",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    counter = op.create_table(
        "seq_counter",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "desks",
        sa.Column("desk_id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("desk_code", sa.String(3), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("enrolled_at", sa.String(40), nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "enrol_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.String(40), nullable=False),
        sa.Column("used_by", sa.String(40), nullable=True),
    )
    op.create_table(
        "entries",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("card_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("hlc", sa.String(80), nullable=False),
        sa.Column("desk_id", sa.String(40), nullable=False),
        sa.Column("operator", sa.String(80), nullable=False),
        sa.Column("schema", sa.Integer, nullable=False),
        sa.Column("stored_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_entries_card_id", "entries", ["card_id"])
    op.create_table(
        "card_numbers",
        sa.Column("number", sa.String(20), primary_key=True),
        sa.Column("card_id", sa.String(36), nullable=False),
    )
    op.create_table(
        "desk_counters",
        sa.Column("desk_code", sa.String(3), primary_key=True),
        sa.Column("counter", sa.Integer, nullable=False),
    )
    op.create_table(
        "renumbers",
        sa.Column("entry_id", sa.String(36), primary_key=True),
        sa.Column("number", sa.String(20), nullable=False),
    )
    # The store's identity and epoch go into every cursor; a new store gets a new id.
    op.bulk_insert(
        meta,
        [{"key": "store_id", "value": "s" + secrets.token_hex(6)}, {"key": "epoch", "value": "1"}],
    )
    op.bulk_insert(counter, [{"id": 1, "last_seq": 0}])


def downgrade() -> None:
    for name in ("renumbers", "desk_counters", "card_numbers", "entries", "enrol_codes", "desks"):
        op.drop_table(name)
    op.drop_table("seq_counter")
    op.drop_table("store_meta")
