"""Erasure (PIPL): the call center forgets a person in every copy it keeps, and keeps the figures.

Names become `shared.privacy.pseudonym(customer_id)` (so counts per person still add up), phones and
free text go; states, outcomes, scores and dates stay. Open tasks are cancelled (nobody calls an
erased person), and the call center's outbox rows already sent lose the person's fields.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shared.bus.outbox import scrub
from shared.db import utcnow
from shared.privacy import forget, pseudonym

from ..adapters.models import Attempt, Complaint, Contact, StoreCallback, SurveyResponse, Task


def forget_customer(s: Session, customer_id: str, lead_ids: Iterable[str] = ()) -> dict[str, int]:
    """Forget the customer (and the leads customers had matched to them); returns what changed, by kind."""
    name, now, lead_ids = pseudonym(customer_id), utcnow(), [i for i in lead_ids if i]
    contact = s.get(Contact, customer_id)
    if contact is not None:
        contact.name, contact.phone, contact.callable, contact.updated_at = name, None, False, now
    whose = Task.customer_id == customer_id
    tasks = list(s.scalars(select(Task).where(or_(whose, Task.lead_id.in_(lead_ids)) if lead_ids else whose)))
    task_ids = [t.id for t in tasks]
    for t in tasks:
        t.customer_name, t.phone, t.detail = name, None, forget(t.detail or {}, customer_id)
        if t.status == "open":
            t.status, t.outcome, t.closed_at, t.agent_id, t.lease_until = "cancelled", "erased", now, None, None
    for a in _of_tasks(s, Attempt, task_ids):
        a.note = ""
    complaints = list(s.scalars(select(Complaint).where(_theirs(Complaint, customer_id, task_ids))))
    for c in complaints:
        c.customer_name, c.summary, c.resolution = name, "", ""
        c.history = [forget(h, customer_id) for h in c.history or []]
    answers = list(s.scalars(select(SurveyResponse).where(_theirs(SurveyResponse, customer_id, task_ids))))
    for r in answers:
        r.answers = [_without_free_text(a) for a in r.answers or []]
    for cb in s.scalars(select(StoreCallback).where(StoreCallback.customer_id == customer_id)):
        cb.note = ""
    sent = scrub(s, {customer_id, *lead_ids, *task_ids, *(c.id for c in complaints)}, customer_id)
    return {"tasks": len(tasks), "complaints": len(complaints), "answers": len(answers), "outbox": sent}


def _theirs(model, customer_id: str, task_ids: list[str]):
    return or_(model.customer_id == customer_id, model.task_id.in_(task_ids)) if task_ids else (
        model.customer_id == customer_id)


def _of_tasks(s: Session, model, task_ids: list[str]):
    return s.scalars(select(model).where(model.task_id.in_(task_ids))) if task_ids else []


def _without_free_text(a: dict) -> dict:
    """An answer keeps its question, choice and score; what the customer said in their own words goes."""
    return {**a, "value": "", "label": ""} if a.get("type") == "text" else a
