"""Heartbeat monitors at the store: each monitor's last beat and the miss raised for it
(app/store/heartbeat_routes.py).

Revision ID: s0006
Revises: s0005
"""

import sqlalchemy as sa
from alembic import op

revision = "s0006"
down_revision = "s0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("last_beat", sa.String(40), nullable=False),
        sa.Column("raised_for", sa.String(40), nullable=True),
        sa.Column("item_id", sa.String(36), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("heartbeats")
