"""The monitoring doors: integration keys, the open intake item of each dedup key, the
occurrences already recorded (replays), and the refused calls (app/store/intake_store).

The keys are projected from the integration entries already stored (a desk may have pushed
some before its store was upgraded).

Revision ID: s0005
Revises: s0004
"""

import json

import sqlalchemy as sa
from alembic import op

from app.store.intake_store import fold_integrations

revision = "s0005"
down_revision = "s0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_keys",
        sa.Column("key_hash", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, index=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("settings", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("hlc", sa.String(80), nullable=False),
    )
    op.create_table(
        "intake_open",
        sa.Column("dedup_key", sa.String(300), primary_key=True),
        sa.Column("item_id", sa.String(36), nullable=False, index=True),
        sa.Column("card_id", sa.String(36), nullable=True, index=True),
        sa.Column("opened_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "intake_seen",
        sa.Column("occurrence", sa.String(64), primary_key=True),
        sa.Column("item_id", sa.String(36), nullable=False),
        sa.Column("seen_at", sa.String(40), nullable=False, index=True),
    )
    op.create_table(
        "intake_refusals",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("reason", sa.String(20), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.String(40), nullable=False),
    )
    # Only the columns this revision knows (a later one may add more).
    stored = sa.table("entries", sa.column("hlc"), sa.column("kind"), sa.column("payload"),
                      sa.column("card_id"))
    keys = sa.table("intake_keys", *(sa.column(c) for c in ("key_hash", "name", "kind",
                                                            "settings", "state", "hlc")))
    conn = op.get_bind()
    rows = conn.execute(sa.select(stored.c.hlc, stored.c.kind, stored.c.payload).where(
        stored.c.card_id == "integrations")).all()
    folded = fold_integrations((r.hlc, r.kind, json.loads(r.payload)) for r in rows
                               if r.kind in ("integration.added", "integration.revoked"))
    if folded:
        conn.execute(sa.insert(keys), folded)


def downgrade() -> None:
    for name in ("intake_refusals", "intake_seen", "intake_open", "intake_keys"):
        op.drop_table(name)
