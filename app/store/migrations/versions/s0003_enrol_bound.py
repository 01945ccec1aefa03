"""Enrolment codes: the desk id a code may re-enrol (NULL: only a desk the store has never seen).

Codes made before this revision get NULL, so from now on they enrol new desks only.

Revision ID: s0003
Revises: s0002
"""

import sqlalchemy as sa
from alembic import op

revision = "s0003"
down_revision = "s0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("enrol_codes") as batch:
        batch.add_column(sa.Column("bound_to", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("enrol_codes") as batch:
        batch.drop_column("bound_to")
