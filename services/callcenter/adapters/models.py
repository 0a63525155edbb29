"""Call-center tables: copies kept from other services, rules, tasks and attempts, questionnaires and
answers, complaints, store callbacks for HQ spot checks."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, Index, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bus import bus_tables
from shared.config import DEFAULT_TIMEZONE
from shared.db import NAMING, Conventions, id_column, utcnow
from shared.tenancy import Scoped, StoreScoped


class Base(Conventions, DeclarativeBase):
    """The service's declarative base: its own metadata, the shared conventions."""

    metadata = MetaData(naming_convention=NAMING)


OUTBOX, INBOX = bus_tables(Base.metadata)
S36 = String(36)


# --- copies of other services' data ---------------------------------------------------------------

class StoreRef(Scoped, Base):
    """A store as identity announced it: brand and time zone (calling windows are local)."""

    __tablename__ = "store_refs"
    id: Mapped[str] = mapped_column(S36, primary_key=True)
    brand_id: Mapped[str] = mapped_column(S36)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(60), default=DEFAULT_TIMEZONE)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class BrandRef(Scoped, Base):
    """A brand as identity announced it (questionnaires and rules may differ per brand)."""

    __tablename__ = "brand_refs"
    id: Mapped[str] = mapped_column(S36, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))


class StaffRef(Scoped, Base):
    """A user as identity announced them: store managers own complaints, agents own tasks."""

    __tablename__ = "staff_refs"
    id: Mapped[str] = mapped_column(S36, primary_key=True)
    store_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    username: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Contact(Scoped, Base):
    """A customer as the call center needs them: how to reach them and whether we may."""

    __tablename__ = "contacts"
    id: Mapped[str] = mapped_column(S36, primary_key=True)  # the customer id
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    do_not_call: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[dict] = mapped_column(JSON, default=dict)
    callable: Mapped[bool] = mapped_column(Boolean, default=True)  # not do-not-call and phone consent not refused
    store_ids: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- configuration ---------------------------------------------------------------------------------

class GroupSettings(Scoped, Base):
    """The call center's settings for one group."""

    __tablename__ = "group_settings"
    id: Mapped[str] = mapped_column(S36, primary_key=True)  # the group id
    timezone: Mapped[str] = mapped_column(String(60), default=DEFAULT_TIMEZONE)
    window_start: Mapped[str] = mapped_column(String(5), default="09:00")
    window_end: Mapped[str] = mapped_column(String(5), default="20:00")
    lease_minutes: Mapped[int] = mapped_column(default=20)
    callback_release_minutes: Mapped[int] = mapped_column(default=30)
    spot_check_share: Mapped[float] = mapped_column(Float, default=0.1)
    low_score_threshold: Mapped[float] = mapped_column(Float, default=60.0)
    link_valid_hours: Mapped[int] = mapped_column(default=72)
    sla_hours: Mapped[dict] = mapped_column(JSON, default=dict)


class TaskRuleRow(Scoped, Base):
    """A group's (brand_id '') or one brand's override of a task type's default rule."""

    __tablename__ = "task_rules"
    __table_args__ = (UniqueConstraint("group_id", "brand_id", "task_type"),)
    id: Mapped[str] = id_column()
    brand_id: Mapped[str] = mapped_column(String(36), default="")
    task_type: Mapped[str] = mapped_column(String(40))
    offsets_days: Mapped[list] = mapped_column(JSON)
    valid_days: Mapped[int]
    priority: Mapped[int]
    max_attempts: Mapped[int]
    retry_minutes: Mapped[list] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str | None] = mapped_column(S36, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- queues ----------------------------------------------------------------------------------------

class Task(StoreScoped, Base):
    """A callback task in a queue (回访任务).

    `available_at` is when anyone may take it next: its due time, the end of the current lease, the
    next retry, or a promised call-back time (then only `reserved_for` until `reserved_until`).
    """

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("group_id", "dedupe_key"),
        Index("ix_tasks_queue", "group_id", "status", "priority", "due_at"),
        Index("ix_tasks_reserved", "reserved_for", "status"),
    )
    id: Mapped[str] = id_column()
    brand_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    customer_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    lead_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    customer_name: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    task_type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open done failed cancelled
    priority: Mapped[int] = mapped_column(default=5)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(default=utcnow)
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    agent_id: Mapped[str | None] = mapped_column(S36, nullable=True)  # the lease holder
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    reserved_for: Mapped[str | None] = mapped_column(S36, nullable=True)
    reserved_until: Mapped[datetime | None] = mapped_column(nullable=True)
    claims: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    retry_minutes: Mapped[list] = mapped_column(JSON, default=list)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    source_event_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)  # vin, model, order, complaint, store callback...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(S36, nullable=True)


class Attempt(StoreScoped, Base):
    """One call of a task and its outcome."""

    __tablename__ = "attempts"
    # an Idempotency-Key is its caller's own: another agent's same key is another request
    __table_args__ = (UniqueConstraint("group_id", "agent_id", "idempotency_key",
                                       name="uq_attempts_agent_idempotency_key"),)
    id: Mapped[str] = id_column()
    task_id: Mapped[str] = mapped_column(S36, index=True)
    agent_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    number: Mapped[int]
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(80), nullable=True)


# --- questionnaires --------------------------------------------------------------------------------

class Questionnaire(Scoped, Base):
    """The questionnaire of one task type, for all brands ('') or one brand."""

    __tablename__ = "questionnaires"
    __table_args__ = (UniqueConstraint("group_id", "task_type", "brand_id"),)
    id: Mapped[str] = id_column()
    task_type: Mapped[str] = mapped_column(String(40))
    brand_id: Mapped[str] = mapped_column(String(36), default="")
    name: Mapped[str] = mapped_column(String(120))
    current_version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class QuestionnaireVersion(Scoped, Base):
    """A frozen version: answers keep the version they were given on."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("questionnaire_id", "version"),)
    id: Mapped[str] = id_column()
    questionnaire_id: Mapped[str] = mapped_column(S36, index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(120))
    script: Mapped[str] = mapped_column(Text, default="")
    questions: Mapped[list] = mapped_column(JSON)
    low_score_threshold: Mapped[float] = mapped_column(Float, default=60.0)
    created_by: Mapped[str | None] = mapped_column(S36, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyResponse(StoreScoped, Base):
    """A customer's answers to one questionnaire version, with the score."""

    __tablename__ = "survey_responses"
    id: Mapped[str] = id_column()
    brand_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    task_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    task_type: Mapped[str] = mapped_column(String(40))
    questionnaire_id: Mapped[str] = mapped_column(S36)
    version_id: Mapped[str] = mapped_column(S36)
    version: Mapped[int]
    customer_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(10), default="phone")
    answers: Mapped[list] = mapped_column(JSON)
    score: Mapped[float] = mapped_column(Float)
    satisfaction: Mapped[int | None] = mapped_column(nullable=True)
    recommend: Mapped[int | None] = mapped_column(nullable=True)
    repurchase: Mapped[str | None] = mapped_column(String(10), nullable=True)
    low_score: Mapped[bool] = mapped_column(Boolean, default=False)
    alerts: Mapped[list] = mapped_column(JSON, default=list)
    agent_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SurveyLink(StoreScoped, Base):
    """A public, single-use, expiring link that lets a customer answer on the web."""

    __tablename__ = "survey_links"
    id: Mapped[str] = id_column()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    task_id: Mapped[str] = mapped_column(S36, index=True)
    version_id: Mapped[str] = mapped_column(S36)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    response_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    created_by: Mapped[str | None] = mapped_column(S36, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- complaints and spot checks --------------------------------------------------------------------

class Complaint(StoreScoped, Base):
    """A complaint (投诉) owned by the store's manager, tracked to the customer's confirmation."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_store_status", "store_id", "status"),)
    id: Mapped[str] = id_column()
    brand_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    customer_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    customer_name: Mapped[str] = mapped_column(String(120), default="")
    task_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    response_id: Mapped[str | None] = mapped_column(S36, nullable=True, unique=True)
    severity: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10))  # agent | survey
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    assignee_id: Mapped[str | None] = mapped_column(S36, nullable=True, index=True)
    due_at: Mapped[datetime]
    resolution: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[list] = mapped_column(JSON, default=list)
    created_by: Mapped[str | None] = mapped_column(S36, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StoreCallback(StoreScoped, Base):
    """A callback a store made itself; a sampled share is re-called by HQ (抽查)."""

    __tablename__ = "store_callbacks"
    id: Mapped[str] = id_column()
    brand_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    customer_id: Mapped[str] = mapped_column(S36, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    called_at: Mapped[datetime]
    reported_reached: Mapped[bool] = mapped_column(Boolean)
    reported_satisfaction: Mapped[int | None] = mapped_column(nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    by_user: Mapped[str | None] = mapped_column(S36, nullable=True)
    sampled: Mapped[bool] = mapped_column(Boolean, default=False)
    spot_task_id: Mapped[str | None] = mapped_column(S36, nullable=True)
    checked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    customer_confirms_call: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    customer_satisfaction: Mapped[int | None] = mapped_column(nullable=True)
    disagreement: Mapped[bool] = mapped_column(Boolean, default=False)
    disagreement_reasons: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
