"""Analytics tables: its own copy of every event, and rollups built from it."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.bus import bus_tables
from shared.db import id_column, make_base, utcnow
from shared.tenancy import Scoped, StoreScoped

Base = make_base()
OUTBOX, INBOX = bus_tables(Base.metadata)


class EventLog(Scoped, Base):
    """Every event from every service, stored once (the id is the event id)."""

    __tablename__ = "event_log"
    __table_args__ = (Index("ix_event_log_group_type_time", "group_id", "type", "occurred_at"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(120))
    version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime]
    brand_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(36), nullable=True)
    data: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadDaily(StoreScoped, Base):
    """Leads per local day, store, brand, source and channel."""

    __tablename__ = "rollup_leads_daily"
    __table_args__ = (UniqueConstraint("group_id", "day", "store_id", "source"),)
    id: Mapped[str] = id_column()
    day: Mapped[date] = mapped_column(Date)
    brand_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    leads: Mapped[int] = mapped_column(Integer, default=0)
