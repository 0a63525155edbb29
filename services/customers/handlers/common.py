"""Helpers every customers use case shares: settings, the active record behind an id, timeline, events."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.bus import emit
from shared.db import add_row, utcnow
from shared.errors import NotFound
from shared.events import Event

from ..domain import CareSettings, default_consent
from ..adapters.models import Activity, Customer, GroupSettings, StoreRef


def settings_of(s: Session, group_id: str) -> CareSettings:
    """The group's care settings, read once per unit of work (an import or a batch asks per row)."""
    key = ("care_settings", group_id)
    if key not in s.info:
        row = s.scalar(select(GroupSettings).where(GroupSettings.group_id == group_id))
        s.info[key] = CareSettings.from_dict(row.values if row else None)
    return s.info[key]


def forget_settings(s: Session, group_id: str) -> None:
    """After a change: the unit of work reads the group's care settings again."""
    s.info.pop(("care_settings", group_id), None)


def active(s: Session, customer_id: str | None) -> Customer | None:
    """The live record behind an id: follows merges to the survivor; None if unknown, erased or out of scope."""
    seen = 0
    c = s.get(Customer, customer_id) if customer_id else None
    while c is not None and c.status == "merged" and c.merged_into and seen < 10:
        c, seen = s.get(Customer, c.merged_into), seen + 1
    if c is None or c.status != "active":
        return None
    return c


def visible(s: Session, customer_id: str | None) -> Customer:
    """The live customer behind the id if the session's scope sees it; NotFound otherwise (never 403)."""
    c = active(s, customer_id)
    if c is None:
        raise NotFound("customer")
    return c


def active_many(s: Session, customer_ids) -> dict[str, Customer]:
    """Batch form of `active`: the live record behind each id, loaded in one query (merges followed)."""
    ids = {i for i in customer_ids if i}
    loaded = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    found = {i: loaded[i] if i in loaded and loaded[i].status == "active" else active(s, i) for i in ids}
    return {i: c for i, c in found.items() if c is not None}


def store_brand(s: Session, store_id: str | None) -> str | None:
    ref = s.get(StoreRef, store_id) if store_id else None
    return ref.brand_id if ref else None


def add_activity(s: Session, c: Customer, kind: str, detail: dict, *, store_id: str | None = None,
                 ref_id: str | None = None, actor: str | None = None, at=None) -> None:
    """One line on the customer's 360 timeline."""
    add_row(s, Activity, group_id=c.group_id, customer_id=c.id, store_id=store_id, kind=kind, ref_id=ref_id,
            detail=detail, actor=actor, occurred_at=at or utcnow())


def consent_of(c: Customer) -> dict:
    return {**default_consent(), **(c.consent or {})}


def profile_payload(c: Customer) -> dict:
    """The customer as other services copy it (callcenter contact list, analytics)."""
    return {"customer_id": c.id, "name": c.name, "phone": c.phone, "kind": c.kind,
            "do_not_call": c.do_not_call, "consent": consent_of(c), "erased": c.status == "erased"}


def emit_customer(s: Session, c: Customer, verb: str, actor: str | None) -> None:
    """customers.customer.created / .updated with the profile others keep."""
    c.updated_at = utcnow()
    emit(s, Event(type=f"customers.customer.{verb}", group_id=c.group_id, actor=actor, data=profile_payload(c)))


def emit_consent(s: Session, c: Customer, actor: str | None) -> None:
    emit(s, Event(type="customers.consent.changed", group_id=c.group_id, actor=actor,
                  data={"customer_id": c.id, "do_not_call": c.do_not_call, "consent": consent_of(c)}))
