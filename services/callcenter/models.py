"""Call-center tables: who can be called (a copy from customers) and callback tasks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.bus import bus_tables
from shared.db import id_column, make_base, utcnow
from shared.tenancy import Scoped, StoreScoped

Base = make_base()
OUTBOX, INBOX = bus_tables(Base.metadata)


class Contact(Scoped, Base):
    """A customer as the call center needs them: how to reach them and whether we may."""

    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the customer id
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[dict] = mapped_column(JSON, default=dict)
    store_ids: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Task(StoreScoped, Base):
    """A callback task in a queue (回访任务)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_queue", "group_id", "status", "due_at"),)
    id: Mapped[str] = id_column()
    brand_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    customer_id: Mapped[str] = mapped_column(String(36), index=True)
    task_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")
    priority: Mapped[int] = mapped_column(default=5)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    source_event_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
