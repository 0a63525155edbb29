"""The lead (意向客户) and the campaign it may come from."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, Index, Numeric, String, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import id_column, utcnow
from shared.privacy import Holder
from shared.tenancy import Scope, StoreScoped

from .base import Base


class Lead(StoreScoped, Base):
    """A prospective buyer at one store (意向客户).

    `due_on` / `overdue_at` are kept with every contact, grading and settings change, so that the
    overdue list is an index range scan: `overdue_at` is the first instant the lead is overdue.
    """

    __tablename__ = "leads"
    __table_args__ = (
        UniqueConstraint("group_id", "created_by", "idempotency_key", name="uq_leads_idempotency_key"),  # per caller
        Index("ix_leads_store_level", "store_id", "level"),
        Index("ix_leads_store_phone", "store_id", "phone"),
        Index("ix_leads_store_level_overdue", "store_id", "level", "overdue_at"),
        Index("ix_leads_store_overdue", "store_id", "overdue_at"),
        Index("ix_leads_consultant_level_overdue", "consultant_id", "level", "overdue_at"),
        Index("ix_leads_store_last_contact", "store_id", "last_contact_at"),
    )
    id: Mapped[str] = id_column()
    brand_id: Mapped[str] = mapped_column(String(36))
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    level: Mapped[str] = mapped_column(String(12), default="N")
    model: Mapped[str | None] = mapped_column(String(80), nullable=True)
    #: the model's catalogue entry when the brand keeps a catalogue (`model` is then the catalogue's name)
    model_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    # cadence
    last_contact_at: Mapped[datetime | None] = mapped_column(nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    overdue_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the next contact the consultant planned (local day): grading and cadence changes keep it
    planned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    level_changed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expected_by: Mapped[date | None] = mapped_column(Date, nullable=True)
    # first response (phone-in and online leads)
    response_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    first_contact_at: Mapped[datetime | None] = mapped_column(nullable=True)
    response_seconds: Mapped[int | None] = mapped_column(nullable=True)
    within_sla: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    # card audit and closing
    audited_at: Mapped[datetime | None] = mapped_column(nullable=True)
    defeat_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: the customer customers matched the lead to (customers.relationship.linked): the lead page links to
    #: their 360 view by this id
    customer_id: Mapped[str | None] = mapped_column(String(36), nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.personal:
            crit = and_(crit, cls.consultant_id == scope.user_id)  # a consultant sees their own leads
        return crit

    @staticmethod
    def holder_of(lead) -> Holder:
        """Whose number it is to see whole (shared.privacy): the consultant who owns the lead and the store's
        manager. `lead`: a Lead, or a row of its columns that has `consultant_id` and `store_id` (the API's list)."""
        return Holder.of(lead.consultant_id, [lead.store_id])

    @property
    def holder(self) -> Holder:
        return Lead.holder_of(self)

    @property
    def is_open(self) -> bool:
        from ...domain import is_open

        return is_open(self.level)


class Campaign(StoreScoped, Base):
    """A marketing action leads can come from: event, test-drive day, roadshow, ad, SMS push."""

    __tablename__ = "campaigns"
    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=0)
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
