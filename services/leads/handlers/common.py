"""Helpers every leads use case shares: the store and consultant of a call, group rules, cadence, events."""
from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.auth import Principal
from shared.bus import emit
from shared.db import utcnow
from shared.errors import Forbidden, Invalid, NotFound
from shared.events import Event
from shared.permissions import CONSULTANT, can
from shared.refcache import ReferenceCache

from ..domain import GroupRules, next_round_robin
from ..domain.timing import BusinessHours, Due, due_from, next_follow_up_due
from ..adapters.models import GroupSettings, Lead, StaffRef, StoreRef

T = TypeVar("T")


def now() -> datetime:
    return utcnow()


RULES = "leads_rules"  # session.info: (the transaction, group id → its rules as read in it)
REFERENCE = "leads_reference"  # session.info: the process's `ReferenceCache` (`bootstrap.build`)


def reference(s: Session, kind: str, key: Hashable, load: Callable[[], T]) -> T:
    """`load()`, a read of reference data, through the process's cache (`shared.refcache`: per group,
    renewed when any process commits a change to it); without a cache (a session made elsewhere), read."""
    cache: ReferenceCache | None = s.info.get(REFERENCE)
    return load() if cache is None else cache.get(s, (kind, key), load)


def rules_of(s: Session, group_id: str) -> GroupRules:
    """The group's lead rules over the domain.md defaults, read once per transaction (a use case asks
    several times; a group that keeps no settings of its own would be looked up again each time, as
    the session's identity map does not remember a row that is not there), and kept by the process
    until they change (`reference`). `update_rules` forgets them."""
    tx, known = s.info.get(RULES, (None, {}))
    if tx is not s.get_transaction() or tx is None:
        known = {}
    rules = known.get(group_id)
    if rules is None:
        def load() -> GroupRules:
            row = s.get(GroupSettings, group_id)
            return GroupRules.from_dict(row.data if row else None)
        rules = known[group_id] = reference(s, "rules", group_id, load)
        s.info[RULES] = (s.get_transaction(), known)
    return rules


def forget_rules(s: Session, group_id: str) -> None:
    """The group's rules changed in this transaction: the next `rules_of` reads them again."""
    s.info.get(RULES, (None, {}))[1].pop(group_id, None)


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """A store's row as a value, as `resolve_store` gives it from the process's cache: everything but
    the round-robin pointer (`round_robin` reads the row for it). The migration that renews the cache's
    version on a change names these columns (`tests/leads/test_reference_cache.py` checks)."""

    id: str
    group_id: str
    brand_id: str
    code: str
    name: str
    timezone: str
    active: bool
    round_robin: bool
    consultants_may_export: bool
    weekly_sales_target: int

    @classmethod
    def of(cls, row: StoreRef) -> StoreInfo:
        return cls(**{f: getattr(row, f) for f in cls.__slots__})


AnyStore = StoreRef | StoreInfo


def hours_of(rules: GroupRules, store: AnyStore) -> BusinessHours:
    return BusinessHours(rules.open_at, rules.close_at, clock.zone_name(store.timezone))


def resolve_store(s: Session, p: Principal, store_id: str | None) -> StoreInfo:
    """The store a new record belongs to: the caller's own, or the one an HQ role names."""
    if not p.is_hq:
        if store_id and not p.scope.sees_store(store_id):
            raise NotFound("store")
        store_id = p.home_store
    elif not store_id:
        raise Invalid("store_id is required for group roles", errors={"store_id": ["required for HQ roles"]})
    store = _store(s, store_id)
    if store is None:
        raise Invalid("unknown store", errors={"store_id": ["no such store in this group"]})
    return store


def _store(s: Session, store_id: str | None) -> StoreInfo | None:
    def load() -> StoreInfo | None:
        row = s.get(StoreRef, store_id)
        return StoreInfo.of(row) if row is not None else None
    return reference(s, "store", store_id, load)


def store_info(s: Session, store_id: str) -> StoreInfo:
    """The store of a record the caller already holds (a lead's), from the process's cache."""
    store = _store(s, store_id)
    if store is None:
        raise NotFound("store")
    return store


def store_of(s: Session, p: Principal, store_id: str) -> StoreRef:
    """A store the caller may see (404 otherwise)."""
    store = s.get(StoreRef, store_id)
    if store is None or not p.scope.sees_store(store_id):
        raise NotFound("store")
    return store


def consultant_of(s: Session, store: AnyStore, consultant_id: str, field: str = "consultant_id") -> StaffRef:
    staff = s.get(StaffRef, consultant_id)
    if staff is None or staff.store_id != store.id or staff.role != CONSULTANT or not staff.active:
        raise Invalid("unknown consultant", errors={field: ["not an active consultant of this store"]})
    return staff


def on_duty_consultants(s: Session, store_id: str, exclude: str | None = None) -> list[str]:
    ids = s.scalars(select(StaffRef.id).where(
        StaffRef.store_id == store_id, StaffRef.role == CONSULTANT, StaffRef.active.is_(True),
        StaffRef.on_duty.is_(True)).order_by(StaffRef.id)).all()
    return [i for i in ids if i != exclude]


def round_robin(s: Session, store: AnyStore, exclude: str | None = None) -> str | None:
    """The next on-duty consultant after the last one given a lead (the store remembers who that was)."""
    row = s.get_one(StoreRef, store.id)
    chosen = next_round_robin(on_duty_consultants(s, store.id, exclude), row.last_assigned_id)
    if chosen:
        row.last_assigned_id = chosen
    return chosen


def resolve_consultant(s: Session, p: Principal, store: AnyStore, consultant_id: str | None) -> str | None:
    """Who owns a new lead: the consultant who registers it, the one named, or round-robin if the store wants it."""
    if p.role == CONSULTANT:
        return p.user_id
    if consultant_id is None:
        return round_robin(s, store) if store.round_robin else None
    return consultant_of(s, store, consultant_id).id


def get_lead(s: Session, lead_id: str) -> Lead:
    lead = s.get(Lead, lead_id)
    if lead is None:
        raise NotFound("lead")
    return lead


def check_may(p: Principal, action: str, message: str) -> None:
    """A use case checks the caller's role itself (shared.permissions), whoever calls it: API, page or command."""
    if not can(p.role, action):
        raise Forbidden(message)


def set_due(s: Session, lead: Lead, rules: GroupRules, tz: str) -> None:
    """Recompute the next follow-up due date from the last contact (or the arrival) and the level's cadence.

    A contact the consultant planned (`planned_on`) survives grading and cadence changes: the lead is due
    on the planned day, or earlier when the level's cadence asks for contact sooner ("at least every N
    days"). A closed lead is due never. The change is published by `publish_due` at the end of the use case.
    """
    s.info.setdefault(DUE_BEFORE, {}).setdefault(lead, due_of(lead))
    due = due_for(lead.last_contact_at or lead.created_at, lead.level, lead.planned_on, rules, tz)
    lead.due_on, lead.overdue_at = (due.due_on, due.overdue_at) if due else (None, None)


def due_for(last_contact: datetime, level: str, planned_on, rules: GroupRules, tz: str) -> Due | None:
    """The due date of a lead: the level's cadence from the last contact, or the planned day if sooner."""
    due = next_follow_up_due(last_contact, rules.cadence_for(level), tz)
    if due is not None and planned_on is not None and planned_on < due.due_on:
        due = due_from(planned_on, tz)
    return due


DUE_BEFORE = "leads_due_before"  # session.info: lead → its (due_on, overdue_at) when the use case began


def due_of(lead: Lead) -> tuple:
    return lead.due_on, lead.overdue_at


def publish_due(s: Session, actor: str | None) -> None:
    """Publish `leads.lead.due_changed` for every lead whose due date this use case moved (once each)."""
    for lead, before in s.info.pop(DUE_BEFORE, {}).items():
        if due_of(lead) != before:
            emit_for(s, "leads.lead.due_changed", lead, actor, due_payload(lead))


def forget_due(s: Session, lead: Lead) -> None:
    """The lead's due date is already in the event that announced it (a new lead's `created`)."""
    s.info.get(DUE_BEFORE, {}).pop(lead, None)


def due_payload(lead: Lead) -> dict:
    return {"lead_id": lead.id, "due_on": lead.due_on, "overdue_at": lead.overdue_at,
            "planned": lead.planned_on is not None and lead.planned_on == lead.due_on,
            "consultant_id": lead.consultant_id}


def lead_event(type_: str, lead: Lead, actor: str | None, data: dict) -> Event:
    return Event(type=type_, group_id=lead.group_id, brand_id=lead.brand_id, store_id=lead.store_id,
                 actor=actor, data=data)


def emit_for(s: Session, type_: str, lead: Lead, actor: str | None, data: dict) -> None:
    emit(s, lead_event(type_, lead, actor, data))
