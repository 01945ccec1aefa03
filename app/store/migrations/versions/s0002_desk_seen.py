"""Desks: when each was last seen (its heartbeat: another desk takes over its ladders when it
goes dark, and the wallboard shows each desk's link).

Revision ID: s0002
Revises: s0001
"""

import sqlalchemy as sa
from alembic import op

revision = "s0002"
down_revision = "s0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("desks") as batch:
        batch.add_column(sa.Column("last_seen", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("last_seen")
