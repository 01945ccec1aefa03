"""Signed desk requests: the nonces seen in the last few minutes, and when a desk was revoked
(app/store/nonces.py, app/store/enrol.py).

Revision ID: s0007
Revises: s0006
"""

import sqlalchemy as sa
from alembic import op

revision = "s0007"
down_revision = "s0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_nonces",
        sa.Column("desk_id", sa.String(40), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False, index=True),
    )
    # NULL for a desk revoked before this revision: the store says it does not know when.
    op.add_column("desks", sa.Column("revoked_at", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("desks") as batch:
        batch.drop_column("revoked_at")
    op.drop_table("desk_nonces")
