"""What leads learns from other services: stores and staff from identity."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from .models import StaffRef, StoreRef

handlers = EventHandlers("leads")


@handlers.on("identity.store.*")
def store_changed(s: Session, ev: Event) -> None:
    d = ev.data
    ref = s.get(StoreRef, d["id"]) or StoreRef(id=d["id"], group_id=ev.group_id)
    ref.brand_id, ref.code, ref.name, ref.timezone, ref.active = (
        d["brand_id"], d["code"], d["name"], d["timezone"], d["active"])
    s.add(ref)


@handlers.on("identity.user.*")
def user_changed(s: Session, ev: Event) -> None:
    d = ev.data
    ref = s.get(StaffRef, d["id"]) or StaffRef(id=d["id"], group_id=ev.group_id)
    ref.store_id, ref.username, ref.name, ref.role, ref.active, ref.on_duty = (
        d["store_id"], d["username"], d["name"], d["role"], d["active"], d["on_duty"])
    s.add(ref)
