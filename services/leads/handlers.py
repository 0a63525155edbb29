"""Leads use cases: one function per use case, run inside the caller's unit of work."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus import emit
from shared.errors import fail
from shared.events import Event
from shared.phones import normalize

from .domain import channel_of
from .models import Lead, StaffRef, StoreRef


def resolve_store(s: Session, p: Principal, store_id: str | None) -> StoreRef:
    """The store a new record belongs to: the caller's own, or the one an HQ role names."""
    if not p.is_hq:
        if store_id and store_id not in (p.store_ids or ()):
            fail(404, "store not found")
        store_id = p.home_store
    elif not store_id:
        fail(422, "store_id is required for group roles", errors={"store_id": ["required for HQ roles"]})
    store = s.get(StoreRef, store_id)
    if store is None:
        fail(422, "unknown store", errors={"store_id": ["no such store in this group"]})
    return store


def resolve_consultant(s: Session, p: Principal, store: StoreRef, consultant_id: str | None) -> str | None:
    if p.role == "sales_consultant":
        return p.user_id
    if consultant_id is None:
        return None
    staff = s.get(StaffRef, consultant_id)
    if staff is None or staff.store_id != store.id or staff.role != "sales_consultant" or not staff.active:
        fail(422, "unknown consultant", errors={"consultant_id": ["not an active consultant of this store"]})
    return staff.id


def create_lead(s: Session, p: Principal, data: dict, idempotency_key: str | None = None) -> tuple[Lead, bool]:
    """Register a lead; a retried request with the same Idempotency-Key returns the first lead."""
    if idempotency_key:
        existing = s.scalar(select(Lead).where(Lead.idempotency_key == idempotency_key))
        if existing is not None:
            return existing, False
    store = resolve_store(s, p, data.get("store_id"))
    lead = Lead(
        group_id=p.group_id,
        store_id=store.id,
        brand_id=store.brand_id,
        consultant_id=resolve_consultant(s, p, store, data.get("consultant_id")),
        name=data["name"].strip(),
        phone=normalize(data["phone"]),
        source=data["source"],
        model=data.get("model"),
        created_by=p.user_id,
        idempotency_key=idempotency_key,
    )
    s.add(lead)
    s.flush()
    emit(s, Event(
        type="leads.lead.created",
        group_id=lead.group_id, brand_id=lead.brand_id, store_id=lead.store_id, actor=p.user_id,
        data={"lead_id": lead.id, "name": lead.name, "phone": lead.phone, "source": lead.source,
              "level": lead.level, "consultant_id": lead.consultant_id, "model": lead.model,
              "channel": channel_of(lead.source)},
    ))
    return lead, True
