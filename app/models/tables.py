"""The journal's tables, typed SQLAlchemy 2 declarative models.

`entries` is the truth. `cards` is a projection of it (see `projection.py`) kept in the same
transaction as every write so that reads are cheap; `journal verify` rebuilds it from the
entries and reports any difference. `desk_meta` holds the desk's identity and counters.
"""

from __future__ import annotations

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EntryRow(Base):
    __tablename__ = "entries"

    # Local insertion order; the sync outbox and the timeline's tie-break use it.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True)
    card_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    hlc: Mapped[str] = mapped_column(String(80), index=True)
    desk_id: Mapped[str] = mapped_column(String(40))
    operator: Mapped[str] = mapped_column(String(80))
    schema: Mapped[int] = mapped_column(Integer)
    # Sync bookkeeping (revision 2): NULL until the store has acknowledged the entry.
    server_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CardRow(Base):
    __tablename__ = "cards"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(24))
    priority: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(40))
    site: Mapped[str] = mapped_column(String(120))
    registered_at: Mapped[str] = mapped_column(String(40))
    # Every other field, as JSON: the set of card fields grows without a migration per field.
    state: Mapped[str] = mapped_column(Text)
    last_hlc: Mapped[str] = mapped_column(String(80))

    __table_args__ = (Index("ix_cards_status_priority", "status", "priority"),)


class DeskMeta(Base):
    __tablename__ = "desk_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class SetAsideRow(Base):
    """An entry set aside (revision 3): see app/models/quarantine.py."""

    __tablename__ = "set_aside"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    direction: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    card_id: Mapped[str | None] = mapped_column(String(80), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(80), nullable=True)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    noted_at: Mapped[str] = mapped_column(String(40))
    resolved_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
