"""Complaints: opened by an agent or a low score, owned by the store's manager, tracked to confirmation."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus import emit
from shared.db import utcnow
from shared.errors import fail
from shared.events import Event

from ..domain.complaints import SEVERITIES, TransitionRefused, next_state, sla_due
from ..models import Complaint, Contact, StaffRef, StoreRef, Task
from .config import settings_for, sla_hours


def store_manager(s: Session, store_id: str) -> str | None:
    """The store's active showroom manager (the first one by username when there are several)."""
    return s.scalar(select(StaffRef.id).where(StaffRef.store_id == store_id, StaffRef.role == "store_manager",
                                              StaffRef.active.is_(True)).order_by(StaffRef.username).limit(1))


def open_complaint(s: Session, *, actor_id: str | None, store_id: str, brand_id: str | None, customer_id: str | None,
                   customer_name: str, severity: str, source: str, summary: str, task_id: str | None = None,
                   response_id: str | None = None, group_id: str | None = None) -> Complaint:
    if severity not in SEVERITIES:
        fail(422, "unknown severity", errors={"severity": [f"one of {', '.join(SEVERITIES)}"]})
    if not summary.strip():
        fail(422, "describe the complaint", errors={"summary": ["required"]})
    scope = s.info["scope"]
    group_id = group_id or scope.group_id
    cfg = settings_for(s, group_id)
    now = utcnow()
    c = Complaint(group_id=group_id, store_id=store_id, brand_id=brand_id, customer_id=customer_id,
                  customer_name=customer_name, task_id=task_id, response_id=response_id, severity=severity,
                  source=source, summary=summary.strip()[:4000], status="open",
                  assignee_id=store_manager(s, store_id), due_at=sla_due(severity, now, sla_hours(cfg)),
                  history=[{"at": now.isoformat(), "by": actor_id, "action": "open", "status": "open"}],
                  created_by=actor_id, created_at=now)
    s.add(c)
    s.flush()
    emit(s, Event(type="callcenter.complaint.opened", group_id=group_id, brand_id=brand_id, store_id=store_id,
                  actor=actor_id, data={"complaint_id": c.id, "customer_id": customer_id or "", "severity": severity,
                                        "source": source, "summary": c.summary, "due_at": c.due_at,
                                        "task_id": task_id, "response_id": response_id,
                                        "assignee_id": c.assignee_id, "customer_name": customer_name}))
    return c


def open_from_agent(s: Session, p: Principal, data: dict) -> Complaint:
    """An agent (or HQ) records a complaint, from a task or for a customer and store."""
    t = s.get(Task, data["task_id"]) if data.get("task_id") else None
    if data.get("task_id") and t is None:
        fail(404, "task not found")
    store_id = t.store_id if t else data.get("store_id")
    store = s.get(StoreRef, store_id) if store_id else None
    if store is None:
        fail(422, "unknown store", errors={"store_id": ["name the store the complaint is about"]})
    customer_id = t.customer_id if t else data.get("customer_id")
    contact = s.get(Contact, customer_id) if customer_id else None
    name = (t.customer_name if t else "") or (contact.name if contact else "")
    return open_complaint(s, actor_id=p.user_id, store_id=store.id, brand_id=store.brand_id, customer_id=customer_id,
                          customer_name=name, severity=data["severity"], source="agent", summary=data["summary"],
                          task_id=t.id if t else None)


def transition_complaint(s: Session, p: Principal | None, complaint_id: str, action: str,
                         note: str = "") -> Complaint:
    """Move a complaint through open → in progress → resolved → confirmed (or reopened).

    Who may do it is the caller's guard (`require_roles` on the API, `page_roles` on the page)."""
    from .tasks import create_tasks

    c = s.scalar(select(Complaint).where(Complaint.id == complaint_id).with_for_update())
    if c is None:
        fail(404, "complaint not found")
    try:
        c.status = next_state(c.status, action)
    except TransitionRefused as exc:
        fail(409, str(exc), "invalid_transition")
    if action == "resolve" and not note.strip():
        fail(422, "say how the complaint was resolved", errors={"note": ["required to resolve"]})
    now, actor = utcnow(), (p.user_id if p else None)
    c.history = [*c.history, {"at": now.isoformat(), "by": actor, "action": action, "status": c.status,
                              "note": note.strip()[:2000]}]
    base = {"complaint_id": c.id, "customer_id": c.customer_id or "", "severity": c.severity}
    if action == "resolve":
        c.resolved_at, c.resolution = now, note.strip()[:4000]
        resolutions = sum(1 for h in c.history if h["action"] == "resolve")
        emit(s, Event(type="callcenter.complaint.resolved", group_id=c.group_id, brand_id=c.brand_id,
                      store_id=c.store_id, actor=actor,
                      data={**base, "within_sla": c.resolved_at <= c.due_at, "confirmed": False,
                            "resolution": c.resolution, "resolved_at": c.resolved_at}))
        create_tasks(s, group_id=c.group_id, store_id=c.store_id, brand_id=c.brand_id, task_type="complaint_followup",
                     anchor=now.date(), subject=f"{c.id}/{resolutions}", customer_id=c.customer_id,
                     name=c.customer_name, detail={"complaint_id": c.id, "summary": c.summary[:200]}, actor=actor)
    elif action == "confirm":
        c.confirmed_at = now
        emit(s, Event(type="callcenter.complaint.resolved", group_id=c.group_id, brand_id=c.brand_id,
                      store_id=c.store_id, actor=actor,
                      data={**base, "within_sla": (c.resolved_at or now) <= c.due_at, "confirmed": True,
                            "resolution": c.resolution, "resolved_at": c.resolved_at}))
    elif action == "reopen":
        c.resolved_at = c.confirmed_at = None
        emit(s, Event(type="callcenter.complaint.reopened", group_id=c.group_id, brand_id=c.brand_id,
                      store_id=c.store_id, actor=actor, data={**base, "note": note.strip()[:2000] or None}))
    return c
