"""Customers tables: one customer per real person or company in a group, and their store relationships."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, exists, select
from sqlalchemy.orm import Mapped, mapped_column

from shared.bus import bus_tables
from shared.db import id_column, make_base, utcnow
from shared.tenancy import Scope, Scoped, StoreScoped

Base = make_base()
OUTBOX, INBOX = bus_tables(Base.metadata)


class StoreRef(Scoped, Base):
    __tablename__ = "store_refs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class StoreRelationship(StoreScoped, Base):
    """The customer as one store knows them (class per domain.md: potential, intent, owner...)."""

    __tablename__ = "store_relationships"
    __table_args__ = (UniqueConstraint("customer_id", "store_id"),)
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    customer_class: Mapped[str] = mapped_column(String(30), default="intent")
    level: Mapped[str | None] = mapped_column(String(12), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class Customer(Scoped, Base):
    """The unified customer record (统一客户视图)."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_group_phone", "group_id", "phone"),)
    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(20), default="individual")
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:  # a store sees the customers related to it
            related = exists(
                select(StoreRelationship.id).where(
                    StoreRelationship.customer_id == cls.id,
                    StoreRelationship.store_id.in_(sorted(scope.store_ids)),
                )
            )
            crit = crit & related
        return crit
