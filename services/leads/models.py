"""Leads tables, plus local copies of the stores and users that identity publishes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column

from shared.bus import bus_tables
from shared.db import id_column, make_base, utcnow
from shared.tenancy import Scope, Scoped, StoreScoped

Base = make_base()
OUTBOX, INBOX = bus_tables(Base.metadata)


class StoreRef(Scoped, Base):
    """A store as identity announced it (id, brand, time zone)."""

    __tablename__ = "store_refs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(60), default="Asia/Shanghai")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


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


class Lead(StoreScoped, Base):
    """A prospective buyer at one store (意向客户)."""

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("group_id", "idempotency_key"),
        Index("ix_leads_store_level", "store_id", "level"),
        Index("ix_leads_store_phone", "store_id", "phone"),
    )
    id: Mapped[str] = id_column()
    brand_id: Mapped[str] = mapped_column(String(36))
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(12), default="N")
    model: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.role == "sales_consultant":
            crit = and_(crit, cls.consultant_id == scope.user_id)  # a consultant sees their own leads
        return crit
