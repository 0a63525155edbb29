"""Customers tables: one customer per real person or company in a group, and everything known about them.

Visibility (tenant scoping) is decided here and nowhere else: a store sees a customer, and the rows
that hang off the customer, only through a store relationship with that customer; the store's own
business (its relationships, leads, service visits) is `StoreScoped`.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from decimal import Decimal

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, Numeric, String, Text,
                        UniqueConstraint, exists, or_, select)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus import bus_tables
from shared.db import NAMING, Conventions, id_column, utcnow
from shared.tenancy import Scope, Scoped, StoreScoped


class Base(Conventions, DeclarativeBase):
    """The service's declarative base: its own metadata, the shared conventions."""

    metadata = MetaData(naming_convention=NAMING)


OUTBOX, INBOX = bus_tables(Base.metadata)
MONEY = Numeric(14, 2)


class StoreRef(Scoped, Base):
    __tablename__ = "store_refs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    brand_id: Mapped[str] = mapped_column(String(36))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class StoreRelationship(StoreScoped, Base):
    """The customer as one store knows them; `customer_class` is derived from the facts (domain.derive_class)."""

    __tablename__ = "store_relationships"
    __table_args__ = (UniqueConstraint("customer_id", "store_id"),  # also the index by customer
                      Index("ix_store_relationships_class", "group_id", "customer_class", "last_visit_on"))
    group_id_index = False  # looked up by customer, or by the class index
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    brand_id: Mapped[str] = mapped_column(String(36))
    customer_class: Mapped[str] = mapped_column(String(30), default="intent")
    level: Mapped[str | None] = mapped_column(String(12), nullable=True)
    owner_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    defeated: Mapped[bool] = mapped_column(Boolean, default=False)
    churned: Mapped[bool] = mapped_column(Boolean, default=False)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    last_visit_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


def related_to_scope(customer_id_col, scope: Scope):
    """The one visibility rule for customer data: a store sees it through a relationship with the customer."""
    return exists(select(StoreRelationship.id).where(
        StoreRelationship.customer_id == customer_id_col,
        StoreRelationship.store_id.in_(sorted(scope.store_ids or ())),
    ))


class CustomerOwned(Scoped):
    """Rows that belong to a customer: visible to a store only when the customer is."""

    if TYPE_CHECKING:  # each table declares its own column; only the type checker needs to know here
        customer_id: Mapped[str]

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = crit & related_to_scope(cls.customer_id, scope)
        return crit


class Customer(Scoped, Base):
    """The unified customer record (统一客户视图)."""

    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_group_phone", "group_id", "phone"),
                      Index("ix_customers_group_name_key", "group_id", "name_key", "phone_last4"),
                      Index("ix_customers_group_birthday", "group_id", "birthday_md"))
    group_id_index = False  # looked up by id, or by the indexes above, which lead with the group
    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(String(20), default="individual")
    name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)  # primary mobile, E.164
    phone_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    id_number_masked: Mapped[str | None] = mapped_column(String(40), nullable=True)
    id_number_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # AES-GCM, see pii.py
    wechat: Mapped[str | None] = mapped_column(String(80), nullable=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True)
    address: Mapped[str | None] = mapped_column(String(300), nullable=True)
    birthday: Mapped[date | None] = mapped_column(Date, nullable=True)
    birthday_md: Mapped[str | None] = mapped_column(String(5), nullable=True)  # 'MM-DD' for the daily run
    preferred_store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    preferred_consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    known_at: Mapped[list] = mapped_column(JSON, default=list)  # store ids with a relationship (existence only)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[dict] = mapped_column(JSON, default=dict)
    spend_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    value_tier: Mapped[str] = mapped_column(String(4), default="D")
    satisfaction: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1 … 5
    recommend: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0 … 10
    repurchase: Mapped[str | None] = mapped_column(String(10), nullable=True)  # high medium low
    open_complaints: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active merged erased
    merged_into: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:  # a store sees the customers related to it
            crit = crit & related_to_scope(cls.id, scope)
        return crit


class Identifier(CustomerOwned, Base):
    """Exact-match keys of a customer: every phone (E.164) and the ID number's keyed hash (never the number)."""

    __tablename__ = "identifiers"
    __table_args__ = (Index("ix_identifiers_lookup", "group_id", "kind", "value"),)
    group_id_index = False  # looked up by value (the index above) or by customer
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # phone | id_number
    value: Mapped[str] = mapped_column(String(64))
    label: Mapped[str | None] = mapped_column(String(20), nullable=True)  # mobile home work
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Vehicle(CustomerOwned, Base):
    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("group_id", "vin"), Index("ix_vehicles_group_plate", "group_id", "plate"),
                      Index("ix_vehicles_next_maintenance", "group_id", "next_maintenance_on"))
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    vin: Mapped[str] = mapped_column(String(17))
    plate: Mapped[str | None] = mapped_column(String(20), nullable=True)
    brand_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    model: Mapped[str | None] = mapped_column(String(80), nullable=True)
    purchase_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    selling_store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    price: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    mileage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_service_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_maintenance_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ServiceVisit(StoreScoped, Base):
    """A repair order (维修/保养工单) from the dealer management system."""

    __tablename__ = "service_visits"
    __table_args__ = (UniqueConstraint("group_id", "store_id", "repair_order"),)
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    repair_order: Mapped[str] = mapped_column(String(40))
    vin: Mapped[str | None] = mapped_column(String(17), nullable=True, index=True)
    visit_date: Mapped[date] = mapped_column(Date)
    mileage: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InsurancePolicy(CustomerOwned, Base):
    __tablename__ = "insurance_policies"
    __table_args__ = (UniqueConstraint("group_id", "policy_no"), Index("ix_policies_ends", "group_id", "ends_on"))
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    policy_no: Mapped[str] = mapped_column(String(60))
    vin: Mapped[str | None] = mapped_column(String(17), nullable=True, index=True)
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    insurer: Mapped[str] = mapped_column(String(80))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    premium: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomerLead(StoreScoped, Base):
    """A lead of the customer at one store, kept from leads events (orders and defeats included)."""

    __tablename__ = "customer_leads"
    group_id_index = False  # looked up by lead or by customer
    lead_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    brand_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    source: Mapped[str | None] = mapped_column(String(40), nullable=True)
    level: Mapped[str | None] = mapped_column(String(12), nullable=True)
    model: Mapped[str | None] = mapped_column(String(80), nullable=True)
    consultant_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    order_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    order_price: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)  # delivered defeated invalid
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Activity(Scoped, Base):
    """One line of the 360 timeline. A store sees its own lines and the group-wide ones (no store)."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_customer_time", "customer_id", "occurred_at"),)
    group_id_index = False  # read by customer, newest first
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    kind: Mapped[str] = mapped_column(String(30))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    ref_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    actor: Mapped[str | None] = mapped_column(String(36), nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            mine = cls.store_id.in_(sorted(scope.store_ids))
            crit = crit & or_(mine, cls.store_id.is_(None) & related_to_scope(cls.customer_id, scope))
        return crit


class MatchCandidate(Scoped, Base):
    """A likely duplicate waiting for review (same name and phone tail, same company name...)."""

    __tablename__ = "match_candidates"
    __table_args__ = (UniqueConstraint("customer_a", "customer_b"), Index("ix_match_status", "group_id", "status"))
    group_id_index = False  # the review queue reads by status (the index above, which leads with the group)
    id: Mapped[str] = id_column()
    customer_a: Mapped[str] = mapped_column(String(36))
    customer_b: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open merged rejected
    decided_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = crit & related_to_scope(cls.customer_a, scope) & related_to_scope(cls.customer_b, scope)
        return crit


class MergeRecord(Scoped, Base):
    """A merge and everything needed to undo it (the absorbed record's rows and both records' fields)."""

    __tablename__ = "merges"
    id: Mapped[str] = id_column()
    survivor_id: Mapped[str] = mapped_column(String(36), index=True)
    merged_id: Mapped[str] = mapped_column(String(36), index=True)
    snapshot: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    merged_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    merged_at: Mapped[datetime] = mapped_column(default=utcnow)
    unmerged_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    unmerged_at: Mapped[datetime | None] = mapped_column(nullable=True)

    @classmethod
    def scope_criteria(cls, scope: Scope):
        crit = super().scope_criteria(scope)
        if scope.store_ids is not None:
            crit = crit & related_to_scope(cls.survivor_id, scope)
        return crit


class AccessLog(CustomerOwned, Base):
    """Who read, revealed, exported, erased or matched which customer's personal data, when and why (PIPL).

    A store (its manager) sees the rows about the customers it has a relationship with; HQ every row.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_customer", "customer_id", "at"),)
    id: Mapped[str] = id_column()
    customer_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[str] = mapped_column(String(36))
    username: Mapped[str] = mapped_column(String(80), default="")
    role: Mapped[str] = mapped_column(String(30))
    store_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    action: Mapped[str] = mapped_column(String(20))  # view_360 reveal_phone reveal_id_number export erase
    #                                                   cross_store_match
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupSettings(Scoped, Base):
    """Per-group care settings: churn period, tier thresholds, maintenance rules per brand, notices."""

    __tablename__ = "group_settings"
    id: Mapped[str] = id_column()
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleLog(Scoped, Base):
    """Schedules already published: the stable schedule id is the key, so a re-run never duplicates."""

    __tablename__ = "schedule_log"
    schedule_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    customer_id: Mapped[str] = mapped_column(String(36))
    due_on: Mapped[date] = mapped_column(Date)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
