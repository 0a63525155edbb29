"""Analytics consumes every event: log it, then update the rollups it feeds."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.bus.consumer import EventHandlers
from shared.events import Event

from .models import EventLog, LeadDaily

handlers = EventHandlers("analytics")
TZ = ZoneInfo("Asia/Shanghai")


@handlers.on("#")
def log_event(s: Session, ev: Event) -> None:
    s.add(EventLog(id=str(ev.id), group_id=ev.group_id, type=ev.type, version=ev.version,
                   occurred_at=ev.occurred_at, brand_id=ev.brand_id, store_id=ev.store_id, actor=ev.actor,
                   data=ev.data))


@handlers.on("leads.lead.created")
def count_lead(s: Session, ev: Event) -> None:
    day = ev.occurred_at.astimezone(TZ).date()
    row = s.scalar(select(LeadDaily).where(LeadDaily.day == day, LeadDaily.store_id == ev.store_id,
                                           LeadDaily.source == ev.data["source"]))
    if row is None:
        row = LeadDaily(group_id=ev.group_id, day=day, store_id=ev.store_id, brand_id=ev.brand_id,
                        source=ev.data["source"], channel=ev.data.get("channel") or "other", leads=0)
        s.add(row)
    row.leads += 1
