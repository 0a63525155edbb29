"""The declarative base, the bus tables, group settings and the copies of identity's stores and users."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, MetaData, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus import bus_tables
from shared.config import DEFAULT_TIMEZONE
from shared.db import NAMING, Conventions, utcnow
from shared.refcache import reference_version_table
from shared.tenancy import Scoped


class Base(Conventions, DeclarativeBase):
    """The service's declarative base: its own metadata, the shared conventions."""

    metadata = MetaData(naming_convention=NAMING)


OUTBOX, INBOX = bus_tables(Base.metadata)
REFERENCE_VERSION = reference_version_table(Base.metadata)  # `shared.refcache`: renewed by triggers


class StoreRef(Scoped, Base):
    """A store as identity announced it (id, brand, time zone), and the store's lead options."""

    __tablename__ = "store_refs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(60), default=DEFAULT_TIMEZONE)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: store options, set by the store manager
    round_robin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    consultants_may_export: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    weekly_sales_target: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_assigned_id: Mapped[str | None] = mapped_column(String(36), nullable=True)


class StaffRef(Scoped, Base):
    """A user as identity announced them: who can own leads, and who is on duty."""

    __tablename__ = "staff_refs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    #: when leads first heard of them: a consultant owes no report of a day before it (None: before this was kept)
    known_at: Mapped[datetime | None] = mapped_column(nullable=True, default=utcnow)


class GroupSettings(Scoped, Base):
    """A group's lead rules (cadence, horizons, stale period, SLA, business hours, sources), over the defaults."""

    __tablename__ = "group_settings"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # = group_id
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
