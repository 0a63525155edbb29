"""Complaints: opened by an agent or a low score, owned by the store's manager, tracked to confirmation.

Confirming a resolution with the customer is the call center's or HQ's word, never the store's own
(`callcenter.complaints.confirm`): the store resolves, someone else checks with the customer.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.events import Event
from shared.permissions import can
from shared.uow import UnitOfWork

from ..domain.complaints import SEVERITIES, TRANSITIONS, TransitionRefused, next_state, severity_for_score, sla_due
from ..domain.events import ComplaintResolved, SurveyAnswered
from ..adapters.models import Complaint, Contact, QuestionnaireVersion, StaffRef, StoreRef, SurveyResponse, Task
from .config import settings_for, sla_hours

#: task types whose answers are about something else than the store's service (no complaint on a low score)
CHECKS = ("spot_check", "complaint_followup")


def store_manager(s: Session, store_id: str) -> str | None:
    """The store's active showroom manager (the first one by username when there are several)."""
    return s.scalar(select(StaffRef.id).where(StaffRef.store_id == store_id, StaffRef.role == "store_manager",
                                              StaffRef.active.is_(True)).order_by(StaffRef.username).limit(1))


def open_complaint(uow: UnitOfWork, *, actor_id: str | None, store_id: str, brand_id: str | None,
                   customer_id: str | None, customer_name: str, severity: str, source: str, summary: str,
                   group_id: str, task_id: str | None = None, response_id: str | None = None) -> Complaint:
    if severity not in SEVERITIES:
        raise Invalid("unknown severity", errors={"severity": [f"one of {', '.join(SEVERITIES)}"]})
    if not summary.strip():
        raise Invalid("describe the complaint", errors={"summary": ["required"]})
    s = uow.session
    now = utcnow()
    c = Complaint(group_id=group_id, store_id=store_id, brand_id=brand_id, customer_id=customer_id,
                  customer_name=customer_name, task_id=task_id, response_id=response_id, severity=severity,
                  source=source, summary=summary.strip()[:4000], status="open",
                  assignee_id=store_manager(s, store_id),
                  due_at=sla_due(severity, now, sla_hours(settings_for(s, group_id))),
                  history=[{"at": now.isoformat(), "by": actor_id, "action": "open", "status": "open"}],
                  created_by=actor_id, created_at=now)
    s.add(c)
    s.flush()
    uow.emit(Event(type="callcenter.complaint.opened", group_id=group_id, brand_id=brand_id, store_id=store_id,
                   actor=actor_id, data={"complaint_id": c.id, "customer_id": customer_id or "", "severity": severity,
                                         "source": source, "summary": c.summary, "due_at": c.due_at,
                                         "task_id": task_id, "response_id": response_id,
                                         "assignee_id": c.assignee_id, "customer_name": customer_name}))
    return c


def open_from_agent(uow: UnitOfWork, p: Principal, data: dict) -> Complaint:
    """An agent (or HQ) records a complaint, from a task or for a customer and store."""
    s = uow.session
    t = s.get(Task, data["task_id"]) if data.get("task_id") else None
    if data.get("task_id") and t is None:
        raise NotFound("task")
    store_id = t.store_id if t else data.get("store_id")
    store = s.get(StoreRef, store_id) if store_id else None
    if store is None:
        raise Invalid("unknown store", errors={"store_id": ["name the store the complaint is about"]})
    customer_id = t.customer_id if t else data.get("customer_id")
    contact = s.get(Contact, customer_id) if customer_id else None
    name = (t.customer_name if t else "") or (contact.name if contact else "")
    return open_complaint(uow, actor_id=p.user_id, store_id=store.id, brand_id=store.brand_id,
                          customer_id=customer_id, customer_name=name, severity=data["severity"], source="agent",
                          summary=data["summary"], group_id=p.group_id, task_id=t.id if t else None)


def transition_complaint(uow: UnitOfWork, p: Principal, complaint_id: str, action: str, note: str = "") -> Complaint:
    """Move a complaint through open → in progress → resolved → confirmed (or reopened).

    Who may handle complaints at all is the caller's guard (`callcenter.complaints.handle`); confirming
    with the customer is checked here, for the API and the pages alike."""
    c = _locked(uow.session, complaint_id)
    if action == "confirm" and not can(p.role, "callcenter.complaints.confirm"):
        raise Forbidden("Only the call center or HQ confirms a resolution with the customer; "
                        "the store resolves, and the customer is asked on the follow-up call.")
    return _move(uow, c, action, note, p.user_id)


def _locked(s: Session, complaint_id: str) -> Complaint:
    c = s.scalar(select(Complaint).where(Complaint.id == complaint_id).with_for_update())
    if c is None:
        raise NotFound("complaint")
    return c


def _move(uow: UnitOfWork, c: Complaint, action: str, note: str, actor: str | None) -> Complaint:
    try:
        c.status = next_state(c.status, action)
    except TransitionRefused as exc:
        raise Conflict(str(exc), "invalid_transition") from None
    if action == "resolve" and not note.strip():
        raise Invalid("say how the complaint was resolved", errors={"note": ["required to resolve"]})
    now = utcnow()
    c.history = [*c.history, {"at": now.isoformat(), "by": actor, "action": action, "status": c.status,
                              "note": note.strip()[:2000]}]
    base = {"complaint_id": c.id, "customer_id": c.customer_id or "", "severity": c.severity}
    where: dict[str, Any] = {"group_id": c.group_id, "brand_id": c.brand_id, "store_id": c.store_id, "actor": actor}
    if action == "resolve":
        c.resolved_at, c.resolution = now, note.strip()[:4000]
        uow.emit(Event(type="callcenter.complaint.resolved", **where,
                       data={**base, "within_sla": c.resolved_at <= c.due_at, "confirmed": False,
                             "resolution": c.resolution, "resolved_at": c.resolved_at}))
        uow.record(ComplaintResolved(c.id, sum(1 for h in c.history if h["action"] == "resolve"), actor))
    elif action == "confirm":
        c.confirmed_at = now
        uow.emit(Event(type="callcenter.complaint.resolved", **where,
                       data={**base, "within_sla": (c.resolved_at or now) <= c.due_at, "confirmed": True,
                             "resolution": c.resolution, "resolved_at": c.resolved_at}))
    elif action == "reopen":
        c.resolved_at = c.confirmed_at = None
        uow.emit(Event(type="callcenter.complaint.reopened", **where,
                       data={**base, "note": note.strip()[:2000] or None}))
    return c


# --- what survey answers set off (subscribers of SurveyAnswered) -----------------------------------

def open_on_low_score(uow: UnitOfWork, ev: SurveyAnswered) -> None:
    """A low score (or an alert answer) on a callback opens a complaint for the store's manager."""
    s = uow.session
    r, t = s.get_one(SurveyResponse, ev.response_id), s.get_one(Task, ev.task_id)
    if not r.low_score or t.task_type in CHECKS:
        return
    # the store reads this summary as written (in Chinese, like the questionnaire it quotes)
    reasons = "；".join(r.alerts) or f"得分 {r.score:g}"
    version = s.get(QuestionnaireVersion, r.version_id)
    open_complaint(uow, actor_id=ev.actor_id, store_id=t.store_id, brand_id=t.brand_id, customer_id=t.customer_id,
                   customer_name=t.customer_name, severity=severity_for_score(r.score), source="survey",
                   group_id=t.group_id, summary=f"{version.name if version else '回访'}低分：{reasons}", task_id=t.id,
                   response_id=r.id)


def settle_on_follow_up(uow: UnitOfWork, ev: SurveyAnswered) -> None:
    """On the follow-up call the customer confirms the resolution, or the complaint is reopened.

    A complaint someone already moved on (confirmed by HQ meanwhile) is left as it is: the answer is kept."""
    s = uow.session
    t = s.get_one(Task, ev.task_id)
    complaint_id = t.detail.get("complaint_id")
    if t.task_type != "complaint_followup" or not complaint_id:
        return
    values = {a["key"]: a["value"] for a in s.get_one(SurveyResponse, ev.response_id).answers}
    if "resolved_ok" not in values:
        return
    action = "confirm" if values["resolved_ok"] == "yes" else "reopen"
    c = _locked(s, complaint_id)
    if c.status in TRANSITIONS[action][0]:
        _move(uow, c, action, "confirmed by the customer on the follow-up call" if action == "confirm"
              else "the customer does not accept the resolution", ev.actor_id)
