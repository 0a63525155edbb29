"""Outbox, inbox and known-groups tables, added to each service's own metadata."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, Text

from shared.db import UTCDateTime

_SEQ = BigInteger().with_variant(Integer, "sqlite")
#: what a commit that records a newly known group notifies in-process (`shared.wake.wake_after_commit`):
#: the worker's scheduler reads `known_groups` again when it moves (`shared.scheduler.Scheduler.groups`)
KNOWN_GROUPS_CHANNEL = "crm_known_groups"


def bus_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Declare `outbox`, `inbox` and `known_groups` on one service's metadata; returns the first two
    (the consumer finds `known_groups` beside its inbox: `known_groups_of(inbox)`). The service's
    `idempotency_keys` (shared.idempotency) and `job_runs` (shared.scheduler) are declared beside them."""
    from shared.idempotency import idempotency_table
    from shared.scheduler import job_runs_table

    idempotency_table(metadata)
    job_runs_table(metadata)
    outbox = Table(
        "outbox",
        metadata,
        Column("seq", _SEQ, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("routing_key", String(120), nullable=False),
        Column("body", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("sent_at", UTCDateTime(), nullable=True),
    )
    from sqlalchemy import Index

    Index(
        "ix_outbox_unsent",
        outbox.c.seq,
        postgresql_where=outbox.c.sent_at.is_(None),
        sqlite_where=outbox.c.sent_at.is_(None),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(60), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("event_type", String(120), nullable=False),
        Column("handled_at", UTCDateTime(), nullable=False),
    )
    # the groups this service has learnt of from identity.group.created: a consumer applies an event
    # only for one of them (shared.bus.consumer, "the tenant rule"); with the group's time zone, in which
    # the worker's daily jobs run (shared.scheduler; NULL for a group known from before: the default zone)
    Table(
        "known_groups",
        metadata,
        Column("group_id", String(36), primary_key=True),
        Column("known_at", UTCDateTime(), nullable=False),
        Column("timezone", String(60), nullable=True),
    )
    return outbox, inbox


def known_groups_of(inbox: Table) -> Table:
    """The `known_groups` table declared beside a service's inbox."""
    return inbox.metadata.tables["known_groups"]
