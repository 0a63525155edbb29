"""What happens to a lead: visits, level changes, follow-ups, test drives, orders, defeats, assignments."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, Index, Numeric, String, and_
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import id_column, utcnow
from shared.tenancy import Scope, StoreScoped

from .base import Base


class Visit(StoreScoped, Base):
    """One line of the visitor log (来店/来电登记): a walk-in group or a phone-in."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_store_time", "store_id", "time_in"),)
    id: Mapped[str] = id_column()
    lead_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(12))
    time_in: Mapped[datetime] = mapped_column()
    time_out: Mapped[datetime | None] = mapped_column(nullable=True)
    party_size: Mapped[int] = mapped_column(default=1)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    model: Mapped[str | None] = mapped_column(String(80), nullable=True)
    source: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    first_visit: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)


class LevelChange(StoreScoped, Base):
    """A level judged at a contact: who, when, why and the signals ticked (等级推进)."""

    __tablename__ = "level_changes"
    __table_args__ = (Index("ix_level_changes_store_at", "store_id", "at"),)
    id: Mapped[str] = id_column()
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    from_level: Mapped[str] = mapped_column(String(12))
    to_level: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    signals: Mapped[list] = mapped_column(JSON, default=list)
    actor: Mapped[str | None] = mapped_column(String(36), nullable=True)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowUp(StoreScoped, Base):
    """A contact with the customer: call, visit, SMS/WeChat, DM or handout, its outcome and the next plan."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_store_at", "store_id", "at"),)
    id: Mapped[str] = id_column()
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    next_planned_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    first_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class TestDrive(StoreScoped, Base):
    """A test drive (试乘试驾), booked then completed or cancelled."""

    __tablename__ = "test_drives"
    id: Mapped[str] = id_column()
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    model: Mapped[str] = mapped_column(String(80))
    booked_for: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), default="booked")  # booked completed cancelled
    completed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Order(StoreScoped, Base):
    """A signed order (订单); delivery adds the VIN and the date; a cancellation its reason.

    A consultant sees the orders of their own leads (the order follows the lead when it moves).
    """

    __tablename__ = "orders"
    id: Mapped[str] = id_column()
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    model: Mapped[str] = mapped_column(String(80))
    model_id: Mapped[str | None] = mapped_column(String(36), nullable=True)  # its catalogue entry, if kept
    colour: Mapped[str | None] = mapped_column(String(40), nullable=True)
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    deposit: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    payment_method: Mapped[str] = mapped_column(String(20))
    trade_in: Mapped[bool] = mapped_column(Boolean, default=False)
    expected_delivery: Mapped[date | None] = mapped_column(Date, nullable=True)
    customer_kind: Mapped[str] = mapped_column(String(20), default="individual")
    sale_type: Mapped[str] = mapped_column(String(10), default="retail")
    status: Mapped[str] = mapped_column(String(12), default="placed")  # placed delivered cancelled
    vin: Mapped[str | None] = mapped_column(String(17), nullable=True)
    delivered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: the lead's level before the order, where a cancellation puts it back
    from_level: Mapped[str | None] = mapped_column(String(12), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    cancelled_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(String(500), nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.personal:
            crit = and_(crit, cls.consultant_id == scope.user_id)  # a consultant sees their own leads' orders
        return crit


class Defeat(StoreScoped, Base):
    """A proposed defeat (战败): the consultant's reason, the manager's decision."""

    __tablename__ = "defeats"
    id: Mapped[str] = id_column()
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(String(20))
    competitor_brand: Mapped[str | None] = mapped_column(String(60), nullable=True)
    competitor_model: Mapped[str | None] = mapped_column(String(80), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    from_level: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default="proposed")  # proposed approved sent_back withdrawn
    proposed_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decision_note: Mapped[str | None] = mapped_column(String(500), nullable=True)


class Assignment(StoreScoped, Base):
    """A change of the consultant who owns a lead (the lead stays with the store)."""

    __tablename__ = "assignments"
    id: Mapped[str] = id_column()
    lead_id: Mapped[str] = mapped_column(String(36), index=True)
    from_consultant: Mapped[str | None] = mapped_column(String(36), nullable=True)
    to_consultant: Mapped[str | None] = mapped_column(String(36), nullable=True)
    why: Mapped[str] = mapped_column(String(30))  # manual round_robin departure sla_breach
    actor: Mapped[str | None] = mapped_column(String(36), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
