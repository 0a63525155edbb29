"""Identity tables: the org tree (group → brand → store), users, and the login throttles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, MetaData, String, UniqueConstraint, and_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus import bus_tables
from shared.config import DEFAULT_TIMEZONE
from shared.db import NAMING, Conventions, id_column, utcnow
from shared.tenancy import Scope, Scoped


class Base(Conventions, DeclarativeBase):
    """The service's declarative base: its own metadata, the shared conventions."""

    metadata = MetaData(naming_convention=NAMING)


OUTBOX, INBOX = bus_tables(Base.metadata)


class Group(Scoped, Base):
    """A dealer group (集团): the tenant. Its `group_id` is its own id."""

    __tablename__ = "groups"
    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(60), default=DEFAULT_TIMEZONE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Brand(Scoped, Base):
    __tablename__ = "brands"
    __table_args__ = (UniqueConstraint("group_id", "code"),)
    id: Mapped[str] = id_column()
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class Store(Scoped, Base):
    """A store (4S店); it sells one brand."""

    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("group_id", "code"),)
    id: Mapped[str] = id_column()
    brand_id: Mapped[str] = mapped_column(ForeignKey("brands.id"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(60), default="")
    timezone: Mapped[str] = mapped_column(String(60), default=DEFAULT_TIMEZONE)
    business_hours: Mapped[dict] = mapped_column(JSON, default=lambda: {"open": "09:00", "close": "18:00"})
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Scoped, Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("group_id", "username"),)
    id: Mapped[str] = id_column()
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(30))
    store_id: Mapped[str | None] = mapped_column(ForeignKey("stores.id"), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)
    #: raised whenever the user's access changes and on logout; tokens carry it, older ones stop working
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        """HQ sees the group's users; a store role only its store's colleagues."""
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = and_(crit, cls.store_id.in_(sorted(scope.store_ids)))
        return crit


class LoginThrottle(Base):
    """Failed logins counted against one account name (`account:<group code>/<username>`, whether or
    not that user exists) or one client address (`address:<ip>`); not a tenant's row."""

    __tablename__ = "login_throttles"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime | None] = mapped_column(nullable=True)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)


class TodoItem(Scoped, Base):
    """One piece of work waiting for one user (the to-do inbox), made and closed by the events of the
    service that owns the work (see `services.identity.handlers.todo`). `kind` says what it is, `ref` which
    record (a lead, a complaint, a task, a report); at most one per user, kind and record. `show_from`
    holds it back until it is due (a complaint's SLA, a promised call-back); `round` counts reopenings,
    so that a reopened item is notified again (one delivery per item, channel and round)."""

    __tablename__ = "todo_items"
    __table_args__ = (UniqueConstraint("group_id", "user_id", "kind", "ref"),
                      Index("ix_todo_items_user_open", "group_id", "user_id", "done_at"))
    group_id_index = False
    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(40))
    ref: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    link: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    show_from: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    round: Mapped[int] = mapped_column(Integer, default=1)


class NotifySettings(Scoped, Base):
    """How one user is told of new items beyond the in-app inbox (always on): e-mail, the group's
    WeCom robot, quiet hours (local time of the group, `quiet_start` to `quiet_end`, may cross midnight)."""

    __tablename__ = "notify_settings"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)
    group_id_index = False
    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(String(36))
    email: Mapped[bool] = mapped_column(Boolean, default=False)
    wecom: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet_start: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "22:00"
    quiet_end: Mapped[str | None] = mapped_column(String(5), nullable=True)  # "08:00"
    language: Mapped[str] = mapped_column(String(10), default="zh")


class GroupChannels(Scoped, Base):
    """The group's channels: its SMTP server and its WeCom group robot (webhook URL)."""

    __tablename__ = "group_channels"
    __table_args__ = (UniqueConstraint("group_id"),)
    group_id_index = False
    id: Mapped[str] = id_column()
    smtp_host: Mapped[str | None] = mapped_column(String(200), nullable=True)
    smtp_port: Mapped[int] = mapped_column(Integer, default=25)
    smtp_sender: Mapped[str | None] = mapped_column(String(200), nullable=True)
    smtp_starttls: Mapped[bool] = mapped_column(Boolean, default=False)
    wecom_webhook: Mapped[str | None] = mapped_column(String(500), nullable=True)
    public_url: Mapped[str | None] = mapped_column(String(200), nullable=True)  # links in messages


class Delivery(Scoped, Base):
    """One notice of one item on one channel (email | wecom) in one round: made with the item, sent
    by the identity worker (`handlers/notices.py`) with retries, marked sent once."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("item_id", "channel", "round"),
                      Index("ix_deliveries_due", "status", "next_at"))
    id: Mapped[str] = id_column()
    item_id: Mapped[str] = mapped_column(ForeignKey("todo_items.id"))
    channel: Mapped[str] = mapped_column(String(10))
    round: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending sending sent failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
