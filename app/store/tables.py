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
    # sha256 of the secret: the secret is 256 random bits, so a slow hash adds nothing. It is
    # also the key that checks the desk's request signatures (app/sync/signing.py).
    Column("secret_hash", String(64), nullable=False),
    Column("enrolled_at", String(40), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("last_seen", String(40), nullable=True),  # ISO UTC; the desk's heartbeat
    # ISO UTC, set by revoke (revision s0007): the store tells a revoked desk since when.
    Column("revoked_at", String(40), nullable=True),
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

# -- the monitoring doors (revision s0005; app/store/intake_store.py) -----------------

# Every integration key the store has heard of, projected from the `integration.*` entries
# (whoever wrote them: a desk's push or `dispatch-desk server integration add`).
intake_keys = Table(
    "intake_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("name", String(80), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("settings", Text, nullable=False),  # the integration.added payload (JSON)
    Column("state", String(10), nullable=False),  # live | revoked | replaced
    Column("hlc", String(80), nullable=False),  # the stamp of the entry that set the state
)

# The open intake item of each dedup key: a repeat while it is open adds to it.
intake_open = Table(
    "intake_open",
    metadata,
    Column("dedup_key", String(300), primary_key=True),
    Column("item_id", String(36), nullable=False, index=True),
    Column("card_id", String(36), nullable=True, index=True),  # once accepted or attached
    Column("opened_at", String(40), nullable=False),
)

# Occurrences already recorded (intake_formats.occurrence_key), so a replay changes nothing.
intake_seen = Table(
    "intake_seen",
    metadata,
    Column("occurrence", String(64), primary_key=True),
    Column("item_id", String(36), nullable=False),
    Column("seen_at", String(40), nullable=False, index=True),
)

# Refused calls at the doors, per integration ('' for a key nobody knows) and reason.
intake_refusals = Table(
    "intake_refusals",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("reason", String(20), primary_key=True),
    Column("count", BigInteger, nullable=False),
    Column("last_at", String(40), nullable=False),
)

# -- heartbeat monitors (revision s0006; app/store/heartbeat_routes.py) ----------------

# One row per monitor that has beaten at this store: armed by its first beat.
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("name", String(80), primary_key=True),  # the integration's name
    Column("last_beat", String(40), nullable=False),  # ISO UTC
    # The last_beat whose miss was raised (equal to last_beat while the monitor is missing),
    # and the intake item the miss went to (its alive-again is recorded there).
    Column("raised_for", String(40), nullable=True),
    Column("item_id", String(36), nullable=True),
)

# -- signed desk requests (revision s0007; app/store/nonces.py) ------------------------

# Every nonce a desk signed a request with, until its timestamp is out of the window: the
# primary key is what refuses a replay, on every store process at once.
desk_nonces = Table(
    "desk_nonces",
    metadata,
    Column("desk_id", String(40), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),  # unix seconds
)
