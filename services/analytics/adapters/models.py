"""Analytics tables: its own copy of every event, facts derived per entity, rollups, labels, targets."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Index, Integer, MetaData, String, UniqueConstraint, and_
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus import bus_tables
from shared.db import NAMING, Conventions, id_column, utcnow
from shared.tenancy import Scope, Scoped, StoreScoped


class Base(Conventions, DeclarativeBase):
    """The service's declarative base: its own metadata, the shared conventions."""

    metadata = MetaData(naming_convention=NAMING)


OUTBOX, INBOX = bus_tables(Base.metadata)
BIGINT = BigInteger().with_variant(Integer, "sqlite")


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


class DimBrand(Scoped, Base):
    """A brand's label, from identity.brand.created."""

    __tablename__ = "dim_brand"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[datetime]


class DimStore(StoreScoped, Base):
    """A store's label and brand, from identity.store.*; `store_id` equals `id` so scoping applies."""

    __tablename__ = "dim_store"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    brand_id: Mapped[str] = mapped_column(String(36))
    city: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    as_of: Mapped[datetime]


class DimUser(Scoped, Base):
    """A user's label, role and store, from identity.user.*; a store sees only its own staff."""

    __tablename__ = "dim_user"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    as_of: Mapped[datetime]

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = and_(crit, cls.store_id.in_(sorted(scope.store_ids)))
        return crit


class Fact(StoreScoped, Base):
    """One entity's event summaries (lead, task, complaint, relationship, report, schedule) and the
    columns the live queries need (overdue follow-ups, pending defeats, callbacks past due, pipeline)."""

    __tablename__ = "fact"
    __table_args__ = (
        Index("ix_fact_open_level", "group_id", "kind", "is_open", "level", "last_contact_at"),
        Index("ix_fact_open_due", "group_id", "kind", "is_open", "due_at"),
    )
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    brand_id: Mapped[str] = mapped_column(String(36), default="")
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    level: Mapped[str | None] = mapped_column(String(20), nullable=True)
    level_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_contact_at: Mapped[datetime | None] = mapped_column(nullable=True)
    expected_delivery: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)
    pending: Mapped[bool] = mapped_column(Boolean, default=False)
    events: Mapped[dict] = mapped_column(JSON)


class RollupCell(StoreScoped):
    """A rollup row, scoped like the rest; rollups are found by their cell's unique index, which
    leads with the group: no single-column group and store indexes to maintain on every upsert."""

    group_id: Mapped[str] = mapped_column(String(36), nullable=False)
    store_id: Mapped[str] = mapped_column(String(36), nullable=False)


class RollupFine(RollupCell, Base):
    """Changes per local day and every dimension: store, brand, consultant, model, source, channel.

    A ledger: each batch appends its summed changes, so a cell's figure is the sum of its rows (every
    reader adds up anyway). No unique index on the ten columns of a cell: keeping one up to date was
    most of the cost of ingestion once the table passed a few million rows (issue 6).
    """

    __tablename__ = "rollup_fine"
    __table_args__ = (Index("ix_rollup_fine_metric_day", "group_id", "metric", "day"),)
    id: Mapped[int] = mapped_column(BIGINT, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    brand_id: Mapped[str] = mapped_column(String(36))
    consultant_id: Mapped[str] = mapped_column(String(36))
    model: Mapped[str] = mapped_column(String(80))
    source: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    metric: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[int] = mapped_column(BIGINT)


class RollupCube(RollupCell, Base):
    """The dashboard's pre-aggregates: per store and month (`2026-05`) by one dimension
    (`dim` = '' total, consultant, source, channel or model), and per store and day (`2026-05-14`)."""

    __tablename__ = "rollup_cube"
    __table_args__ = (
        UniqueConstraint("group_id", "period", "dim", "store_id", "dim_value", "metric", "key", "brand_id",
                         name="uq_rollup_cube_cell"),
        # one metric over a range of days (daily reports for compliance, deliveries for the forecast)
        Index("ix_rollup_cube_metric_period", "group_id", "metric", "dim", "period"),
    )
    id: Mapped[int] = mapped_column(BIGINT, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(10))
    dim: Mapped[str] = mapped_column(String(12))
    dim_value: Mapped[str] = mapped_column(String(80))
    brand_id: Mapped[str] = mapped_column(String(36))
    metric: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[int] = mapped_column(BIGINT)


class RollupRunning(RollupCell, Base):
    """Running totals (base customers, owners, pending defeats) as of the end of each month, per store
    and by one dimension like the cube. A cell has a row for every month from its first change up to
    the group's horizon (the latest month any of its running totals changed in), so a month's total
    is one row per cell, not a sum over every month before it (services/analytics/running.py)."""

    __tablename__ = "rollup_running"
    __table_args__ = (
        UniqueConstraint("group_id", "month", "dim", "store_id", "dim_value", "metric", "key", "brand_id",
                         name="uq_rollup_running_cell"),
    )
    id: Mapped[int] = mapped_column(BIGINT, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7))
    dim: Mapped[str] = mapped_column(String(12))
    dim_value: Mapped[str] = mapped_column(String(80))
    brand_id: Mapped[str] = mapped_column(String(36))
    metric: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(120))
    value: Mapped[int] = mapped_column(BIGINT)


class Target(Scoped, Base):
    """A monthly target HQ sets for the group, a brand, a store or a consultant."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("group_id", "month", "level", "node_id", "kpi", name="uq_target_cell"),)
    id: Mapped[str] = id_column()
    month: Mapped[str] = mapped_column(String(7))
    level: Mapped[str] = mapped_column(String(12))  # group | brand | store | consultant
    node_id: Mapped[str] = mapped_column(String(36))
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    kpi: Mapped[str] = mapped_column(String(40))
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(36), nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = and_(crit, cls.store_id.in_(sorted(scope.store_ids)))
        return crit


class GroupSetting(Scoped, Base):
    """The group's analytics settings (forecast probabilities, horizons, follow-up cadence)."""

    __tablename__ = "group_setting"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the group id
    data: Mapped[dict] = mapped_column(JSON)


class ForecastSnapshot(StoreScoped, Base):
    """What the forecast said on a day, kept to show beside what was actually delivered."""

    __tablename__ = "forecast_snapshot"
    __table_args__ = (UniqueConstraint("group_id", "store_id", "made_on", "window", name="uq_forecast_cell"),)
    id: Mapped[str] = id_column()
    made_on: Mapped[date] = mapped_column(Date)
    window: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)


class ErasedSubject(Scoped, Base):
    """A record id (the customer, a record merged into them, one of their leads) of a person erased on
    request: an event about it that arrives after the erasure is forgotten before it is logged."""

    __tablename__ = "erased_subject"
    group_id_index = False  # looked up by id
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the customer's or the lead's id
    customer_id: Mapped[str] = mapped_column(String(36))  # whose pseudonym stands in for the names
    erasure_id: Mapped[str] = mapped_column(String(36))
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReconcileRun(Scoped, Base):
    """One nightly comparison of analytics with one source's own counts: the days compared, how many
    (KPI, store, day) cells, and every cell that drifted (`reconcile.drift` rows, days as ISO strings)."""

    __tablename__ = "reconcile_run"
    group_id_index = False  # the unique constraint leads with it
    __table_args__ = (UniqueConstraint("group_id", "request_id", "source", name="uq_reconcile_run"),)
    id: Mapped[str] = id_column()
    request_id: Mapped[str] = mapped_column(String(36))
    source: Mapped[str] = mapped_column(String(20))
    day_from: Mapped[date] = mapped_column(Date)
    day_to: Mapped[date] = mapped_column(Date)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    drift: Mapped[list] = mapped_column(JSON, default=list)
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)
