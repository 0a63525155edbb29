"""Identity tables: the org tree (group → brand → store), users, and the login throttles."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, MetaData, String, UniqueConstraint, and_
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
