"""The central store's tables (SQLAlchemy Core): the same on SQLite and PostgreSQL.

`entries` holds every accepted journal entry exactly as the desk sent it, numbered by `seq`
in commit order; `seq_counter` is the one row that hands those numbers out (locked for the
length of a push, so numbers and commits go in the same order). `card_numbers` and
`desk_counters` catch a desk restored from an old backup that issues a card number again.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", Text, nullable=False),
)

seq_counter = Table(
    "seq_counter",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

desks = Table(
    "desks",
    metadata,
    Column("desk_id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("desk_code", String(3), nullable=False),
    # sha256 of the secret: the secret is 256 random bits, so a slow hash adds nothing.
    Column("secret_hash", String(64), nullable=False),
    Column("enrolled_at", String(40), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("last_seen", String(40), nullable=True),  # ISO UTC; the desk's heartbeat
)

enrol_codes = Table(
    "enrol_codes",
    metadata,
    Column("code_hash", String(64), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("expires_at", String(40), nullable=False),
    Column("used_by", String(40), nullable=True),
    # The one desk id the code may re-enrol; NULL: only a desk id the store has never seen.
    Column("bound_to", String(40), nullable=True),
)

entries = Table(
    "entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("id", String(36), nullable=False, unique=True),
    Column("card_id", String(36), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("hlc", String(80), nullable=False),
    Column("desk_id", String(40), nullable=False),
    Column("operator", String(80), nullable=False),
    Column("schema", Integer, nullable=False),
    Column("stored_at", String(40), nullable=False),
    # Why the entry is sent to desks as a placeholder (revision s0004; see storage.recheck).
    Column("set_aside", Text, nullable=True),
)

card_numbers = Table(
    "card_numbers",
    metadata,
    Column("number", String(20), primary_key=True),
    Column("card_id", String(36), nullable=False),
)

desk_counters = Table(
    "desk_counters",
    metadata,
    Column("desk_code", String(3), primary_key=True),
    Column("counter", Integer, nullable=False),
)

# A registration stored under a number another card already held, and the number it was given
# instead: a desk that lost the push reply learns it again from the duplicate answer.
renumbers = Table(
    "renumbers",
    metadata,
    Column("entry_id", String(36), primary_key=True),
    Column("number", String(20), nullable=False),
)
