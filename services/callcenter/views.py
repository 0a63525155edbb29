"""Read models of the call center: what the API and the pages list and show, with phones masked by role.

Every query runs in the caller's tenant scope (a store sees its own tasks, complaints, answers and
spot checks). A task's phone number carries a `shared.privacy.Holder`: the agent holding the task
(live lease, customer callable) and the stores with their own relationship with the customer (the call
center's copy, `Contact.store_ids`; and the store whose own lead the task comes from).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.privacy import Holder, sees_full_phone, shown_phone

from .domain.complaints import ACTIVE
from .handlers.tasks import holds
from .adapters.models import (
    Attempt,
    BrandRef,
    Complaint,
    Contact,
    Questionnaire,
    QuestionnaireVersion,
    StaffRef,
    StoreCallback,
    StoreRef,
    SurveyResponse,
    Task,
)

TASK_FIELDS = ("id", "task_type", "status", "store_id", "brand_id", "customer_id", "lead_id", "customer_name",
               "phone", "priority", "due_at", "expires_at", "available_at", "agent_id", "lease_until",
               "reserved_for", "reserved_until", "attempts", "failed_attempts", "max_attempts", "outcome",
               "detail", "created_at", "closed_at")


# --- paging --------------------------------------------------------------------------------------

@dataclass
class Page:
    rows: list
    total: int


def page_of(s: Session, stmt: Select, page: int, per_page: int) -> Page:
    """One page of a list query and the total it was cut from."""
    total = s.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    return Page(list(s.scalars(stmt.limit(per_page).offset((page - 1) * per_page))), total)


def filtered(stmt: Select, model, q: dict, keys: tuple[str, ...]) -> Select:
    for key in keys:
        if q.get(key):
            stmt = stmt.where(getattr(model, key) == q[key])
    return stmt


# --- tasks and who may see their numbers ------------------------------------------------------------

def _contacts(s: Session, customer_ids) -> dict[str, Contact]:
    ids = sorted({c for c in customer_ids if c})
    return {c.id: c for c in s.scalars(select(Contact).where(Contact.id.in_(ids)))} if ids else {}


def task_holder(t: Task, contact: Contact | None, now: datetime) -> Holder:
    """Who may see the task's number in full (see `shared.privacy`): its holder while the customer may be
    called, and the stores with their own relationship with the customer."""
    held = t.agent_id if holds(t, t.agent_id, now) and (contact is None or contact.callable) else None
    stores = list(contact.store_ids or []) if contact is not None else []
    if t.lead_id:  # a delivery or a defeat of the store's own lead
        stores.append(t.store_id)
    return Holder.of(store_ids=stores, held_by=held)


def task_rows(s: Session, tasks) -> list[dict]:
    """Tasks as the API shows them: `holder` says who sees the full number (`TaskOut.phone` masks it)."""
    tasks, now = list(tasks), utcnow()
    contacts = _contacts(s, (t.customer_id for t in tasks))
    return [{**{f: getattr(t, f) for f in TASK_FIELDS},
             "holder": task_holder(t, contacts.get(t.customer_id or ""), now)} for t in tasks]


def task_row(s: Session, t: Task) -> dict:
    return task_rows(s, [t])[0]


def find_tasks(s: Session, q: dict) -> Page:
    stmt = filtered(select(Task), Task, q, ("status", "task_type", "store_id", "brand_id", "customer_id", "lead_id"))
    return page_of(s, stmt.order_by(Task.priority, Task.due_at, Task.id), q["page"], q["per_page"])


def one_task(s: Session, task_id: str) -> Task | None:
    return s.get(Task, task_id)


def attempts_of(s: Session, task_id: str) -> list[Attempt]:
    return list(s.scalars(select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.number)))


def queue(s: Session) -> dict:
    """Queue depth and the next open tasks (expired tasks are counted apart: nobody will call them)."""
    now = utcnow()
    live = (Task.status == "open", Task.expires_at > now)
    tasks = s.scalars(select(Task).where(*live).order_by(Task.priority, Task.due_at).limit(20))
    return {"open_tasks": s.scalar(select(func.count(Task.id)).where(*live)),
            "expired_tasks": s.scalar(select(func.count(Task.id)).where(Task.status == "open",
                                                                        Task.expires_at <= now)),
            "contacts": s.scalar(select(func.count(Contact.id))),
            "tasks": [{"id": t.id, "type": t.task_type, "store_id": t.store_id, "due_at": t.due_at}
                      for t in tasks]}


def contact_view(s: Session, p: Principal, customer_id: str) -> dict | None:
    """What the call center knows of a customer; the number in full only to the agent holding one of their
    tasks (while they may be called) and to the stores with their own relationship."""
    c = s.get(Contact, customer_id)
    if c is None:
        return None
    mine = s.scalar(select(Task.id).where(Task.customer_id == c.id, Task.agent_id == p.user_id,
                                          Task.status == "open", Task.lease_until > utcnow()).limit(1))
    holder = Holder.of(store_ids=c.store_ids or [], held_by=p.user_id if mine and c.callable else None)
    return {"id": c.id, "name": c.name, "phone": shown_phone(p, c.phone, holder), "do_not_call": c.do_not_call,
            "consent": c.consent, "store_ids": c.store_ids, "callable": c.callable}


# --- the workbench --------------------------------------------------------------------------------

def workbench(s: Session, p: Principal, held: Task | None) -> dict:
    """The agent's page: the queue by type, their promised call-backs, and the task they hold."""
    now = utcnow()
    ctx: dict[str, Any] = {"task": held, "now": now,
           "stores": {st.id: st for st in s.scalars(select(StoreRef).order_by(StoreRef.code))},
           "due": dict(s.execute(select(Task.task_type, func.count(Task.id))
                                 .where(Task.status == "open", Task.available_at <= now, Task.expires_at > now)
                                 .group_by(Task.task_type)).all()),
           "callbacks": s.scalars(select(Task).where(Task.reserved_for == p.user_id, Task.status == "open")
                                  .order_by(Task.available_at).limit(10)).all()}
    if held is not None:
        contact = s.get(Contact, held.customer_id) if held.customer_id else None
        holder = task_holder(held, contact, now)
        ctx.update(contact=contact, shown_phone=shown_phone(p, held.phone, holder),
                   dial=held.phone if held.phone and sees_full_phone(p, holder) else None,  # a tel: link
                   attempts=attempts_of(s, held.id), history=history(s, held),
                   complaint=s.get(Complaint, held.detail["complaint_id"]) if held.detail.get("complaint_id") else None)
    return ctx


def history(s: Session, task: Task) -> dict:
    """What the call center already knows of this customer: earlier tasks, answers, complaints."""
    if task.customer_id:
        same = Task.customer_id == task.customer_id
    elif task.phone:
        same = Task.phone == task.phone
    else:
        return {"tasks": [], "surveys": [], "complaints": []}
    tasks = s.scalars(select(Task).where(same, Task.id != task.id).order_by(Task.created_at.desc()).limit(8)).all()
    surveys: Sequence[SurveyResponse] = []
    complaints: Sequence[Complaint] = []
    if task.customer_id:
        surveys = s.scalars(select(SurveyResponse).where(SurveyResponse.customer_id == task.customer_id)
                            .order_by(SurveyResponse.created_at.desc()).limit(5)).all()
        complaints = s.scalars(select(Complaint).where(Complaint.customer_id == task.customer_id)
                               .order_by(Complaint.created_at.desc()).limit(5)).all()
    return {"tasks": tasks, "surveys": surveys, "complaints": complaints}


# --- complaints -----------------------------------------------------------------------------------

def find_complaints(s: Session, q: dict, now: datetime) -> Page:
    """The API's list: filterable, most urgent first."""
    stmt = filtered(select(Complaint), Complaint, q, ("status", "severity", "store_id"))
    if q.get("breached"):
        stmt = stmt.where(Complaint.status.in_(ACTIVE), Complaint.due_at < now)
    return page_of(s, stmt.order_by(Complaint.due_at), q["page"], q["per_page"])


def complaints_page(s: Session, f: dict, page: int, per_page: int, now: datetime) -> dict:
    """The complaints page: unresolved first, then by due time, with stores and owners."""
    stmt = select(Complaint)
    if f.get("status") == "active":
        stmt = stmt.where(Complaint.status.in_(ACTIVE))
    elif f.get("status"):
        stmt = stmt.where(Complaint.status == f["status"])
    stmt = filtered(stmt, Complaint, f, ("severity", "store_id"))
    if f.get("late"):
        stmt = stmt.where(Complaint.status.in_(ACTIVE), Complaint.due_at < now)
    found = page_of(s, stmt.order_by(Complaint.status.in_(ACTIVE).desc(), Complaint.due_at), page, per_page)
    return {"rows": found.rows, "total": found.total, "stores": stores(s),
            "staff": staff(s, {c.assignee_id for c in found.rows})}


def complaint_page(s: Session, complaint_id: str) -> dict | None:
    c = s.get(Complaint, complaint_id)
    if c is None:
        return None
    return {"c": c, "store": s.get(StoreRef, c.store_id),
            "staff": staff(s, {c.assignee_id, *(h.get("by") for h in c.history)})}


def stores(s: Session) -> dict[str, StoreRef]:
    return {st.id: st for st in s.scalars(select(StoreRef).order_by(StoreRef.code))}


def brands(s: Session) -> dict[str, str]:
    return {b.id: b.name for b in s.scalars(select(BrandRef).order_by(BrandRef.code))}


def staff(s: Session, ids) -> dict[str, StaffRef]:
    ids = sorted(i for i in ids if i)
    return {u.id: u for u in s.scalars(select(StaffRef).where(StaffRef.id.in_(ids)))} if ids else {}


# --- questionnaires, answers, spot checks -----------------------------------------------------------

def questionnaires(s: Session) -> list[tuple[Questionnaire, QuestionnaireVersion | None]]:
    """Every questionnaire with its current version."""
    return [(q, version_of(s, q.id, q.current_version))
            for q in s.scalars(select(Questionnaire).order_by(Questionnaire.task_type, Questionnaire.brand_id))]


def version_of(s: Session, questionnaire_id: str, version: int) -> QuestionnaireVersion | None:
    return s.scalar(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire_id,
                                                       QuestionnaireVersion.version == version))


def versions_of(s: Session, questionnaire_id: str) -> list[QuestionnaireVersion]:
    return list(s.scalars(select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == questionnaire_id)
                          .order_by(QuestionnaireVersion.version.desc())))


def find_surveys(s: Session, q: dict) -> Page:
    stmt = filtered(select(SurveyResponse), SurveyResponse, q, ("store_id", "task_type", "customer_id"))
    if "low_score" in q:
        stmt = stmt.where(SurveyResponse.low_score.is_(q["low_score"]))
    return page_of(s, stmt.order_by(SurveyResponse.created_at.desc()), q["page"], q["per_page"])


def find_spot_checks(s: Session, q: dict) -> Page:
    """Store callbacks that HQ re-called, newest first."""
    stmt = filtered(select(StoreCallback).where(StoreCallback.sampled.is_(True)), StoreCallback, q, ("store_id",))
    if q.get("disagreement") is not None:
        stmt = stmt.where(StoreCallback.disagreement.is_(q["disagreement"]))
    return page_of(s, stmt.order_by(StoreCallback.created_at.desc()), q["page"], q["per_page"])
