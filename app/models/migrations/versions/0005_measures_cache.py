"""The measures' figures cache (app/services/measures/cache.py), and partial indexes for the
report's reading of the entries (app/services/measures/reading.py).

`measures_cache` keeps one row per closed card: its figures, the card's highest entry seq
when they were computed, and the basis (code version and rules digest) they were computed
with. A row is written only while its card's highest entry seq is still the one it was
computed from (app/models/measures_cache.py); from then on the triggers drop it in the same
transaction as any change to the card's entries: a new entry (a reopen, a late note, a
pulled ladder fact), or one taken out or replaced in place (the sync's repairs of refused or
duplicated entries; those keep the seqs, so they also move the generation that a report
checks before it writes the rows it computed before). So a row that is there is good, and
the report reads it without looking at the entries.

The indexes make the report's three heaviest selects scans of a small index instead of
every entry of a kind with its payload parsed: a card's first page, its top ladder tier,
and the reopen check (a status other than Restored/Closed after one of them). Their
expressions must stay the same text as the reader's queries.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_BUMP = ("INSERT INTO desk_meta (key, value) VALUES ('measures_cache:generation', '1') "
         "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1;")


def upgrade() -> None:
    op.create_table(
        "measures_cache",
        sa.Column("card_id", sa.String(36), primary_key=True),
        sa.Column("last_seq", sa.Integer, nullable=False),
        sa.Column("basis", sa.String(80), nullable=False),
        # What a narrowed report selects by (microseconds since the epoch, UTC).
        sa.Column("registered_us", sa.Integer, nullable=False),
        sa.Column("closed_us", sa.Integer, nullable=False),
        sa.Column("review_owed", sa.Integer, nullable=False),
        sa.Column("review", sa.Text, nullable=True),  # the card's review as recorded (JSON)
        sa.Column("figures", sa.LargeBinary, nullable=False),  # measures.cache.encode
    )
    op.execute("CREATE TRIGGER measures_cache_entry_added AFTER INSERT ON entries BEGIN "
               "DELETE FROM measures_cache WHERE card_id = NEW.card_id; END")
    op.execute("CREATE TRIGGER measures_cache_entry_deleted AFTER DELETE ON entries BEGIN "
               "DELETE FROM measures_cache WHERE card_id = OLD.card_id; " + _BUMP + " END")
    op.execute("CREATE TRIGGER measures_cache_entry_replaced AFTER UPDATE OF card_id, kind, "
               "payload, hlc ON entries BEGIN DELETE FROM measures_cache WHERE card_id IN "
               "(OLD.card_id, NEW.card_id); " + _BUMP + " END")
    op.execute("CREATE INDEX ix_entries_first_page ON entries (card_id, hlc) "
               "WHERE kind = 'ladder.page'")
    op.execute("CREATE INDEX ix_entries_top_tier ON entries "
               "(card_id, json_extract(payload, '$.tier')) WHERE kind = 'ladder.step'")
    op.execute("CREATE INDEX ix_entries_status ON entries (card_id, hlc, "
               "coalesce(json_extract(payload, '$.status'), '') IN ('restored', 'closed')) "
               "WHERE kind = 'card.status'")


def downgrade() -> None:
    for index in ("ix_entries_status", "ix_entries_top_tier", "ix_entries_first_page"):
        op.execute(f"DROP INDEX {index}")
    op.execute("DROP TRIGGER measures_cache_entry_replaced")
    op.execute("DROP TRIGGER measures_cache_entry_deleted")
    op.execute("DROP TRIGGER measures_cache_entry_added")
    op.drop_table("measures_cache")
    op.execute("DELETE FROM desk_meta WHERE key = 'measures_cache:generation'")
