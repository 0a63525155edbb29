"""HQ spot checks: stores log their own callbacks, a share is re-called by HQ and compared.

A store logs callbacks only for its own customers: the call center's copy of the store relationships
(`Contact.store_ids`, kept from customers' events) must name the store. Another store's customer and
an unknown id get the same 404, so the answer tells nothing about who exists elsewhere.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Invalid, NotFound
from shared.phones import InvalidPhone, normalize
from shared.uow import UnitOfWork

from ..domain.events import StoreCallbackSampled, SurveyAnswered
from ..domain.rules import TASK_TYPES
from ..domain.spotcheck import disagreements, sampled
from ..adapters.models import Contact, StoreCallback, StoreRef, SurveyResponse, Task
from .config import settings_for


def record_store_callback(uow: UnitOfWork, p: Principal, data: dict) -> StoreCallback:
    """A store records a callback it made; the sampled share becomes an HQ spot-check task.

    `data` names the customer by `customer_id`, or (the page) by `customer`: their phone number or id."""
    s = uow.session
    if data.get("kind") not in TASK_TYPES:
        raise Invalid("unknown kind of callback", errors={"kind": [f"one of {', '.join(TASK_TYPES)}"]})
    if data.get("satisfaction") is not None and not 1 <= data["satisfaction"] <= 5:
        raise Invalid("satisfaction is 1 to 5", errors={"satisfaction": ["between 1 and 5"]})
    store = _callers_store(s, p, data.get("store_id"))
    contact = _own_customer(s, store.id, data.get("customer_id"), data.get("customer"))
    called_at: datetime = data.get("called_at") or utcnow()
    cb = StoreCallback(group_id=p.group_id, store_id=store.id, brand_id=store.brand_id, customer_id=contact.id,
                       kind=data["kind"], called_at=called_at, reported_reached=data["reached"],
                       reported_satisfaction=data.get("satisfaction"), note=(data.get("note") or "")[:2000],
                       by_user=p.user_id)
    s.add(cb)
    s.flush()
    cb.sampled = sampled(cb.id, settings_for(s, p.group_id).spot_check_share)
    if cb.sampled:
        uow.record(StoreCallbackSampled(cb.id, p.user_id))
    return cb


def _callers_store(s: Session, p: Principal, wanted: str | None) -> StoreRef:
    """The store the callback is logged for: the caller's own (one of theirs when they have several)."""
    if p.store_ids is not None and wanted and wanted not in p.store_ids:
        raise NotFound("store")
    store_id = wanted if wanted else p.home_store
    store = s.get(StoreRef, store_id) if store_id else None
    if store is None:
        raise Invalid("unknown store", errors={"store_id": ["name one of your stores"]})
    return store


def _own_customer(s: Session, store_id: str, customer_id: str | None, typed: str | None) -> Contact:
    """The customer behind an id (or what a user typed: a phone number or the id), if the store has its
    own relationship with them."""
    candidates: list[Contact] = []
    if typed and not customer_id:
        try:
            candidates = list(s.scalars(select(Contact).where(Contact.phone == normalize(typed))))
        except InvalidPhone:
            customer_id = typed.strip()
    if customer_id:
        found = s.get(Contact, customer_id)
        candidates = [found] if found is not None else []
    mine = [c for c in candidates if store_id in (c.store_ids or [])]
    if not mine:
        raise NotFound("customer")
    return mine[0]


def compare_on_spot_check(uow: UnitOfWork, ev: SurveyAnswered) -> None:
    """HQ's call of a sampled callback: compare the customer's answer with the store's record."""
    s = uow.session
    t = s.get_one(Task, ev.task_id)
    callback_id = t.detail.get("store_callback_id")
    if t.task_type != "spot_check" or not callback_id:
        return
    r = s.get_one(SurveyResponse, ev.response_id)
    cb = s.get(StoreCallback, callback_id)
    if cb is None:
        return
    called = {a["key"]: a["value"] for a in r.answers}.get("called")
    confirms = None if called is None else called == "yes"
    reasons = disagreements(cb.reported_reached, cb.reported_satisfaction, confirms, r.satisfaction)
    cb.checked_at, cb.customer_confirms_call, cb.customer_satisfaction = utcnow(), confirms, r.satisfaction
    cb.disagreement, cb.disagreement_reasons = bool(reasons), reasons


def spot_check_summary(s: Session) -> list[dict]:
    """Per store: callbacks logged, sampled, checked, disagreements."""
    def count_true(col):
        return func.sum(case((col.is_(True), 1), else_=0))

    rows = s.execute(select(StoreCallback.store_id, func.count(StoreCallback.id), count_true(StoreCallback.sampled),
                            func.count(StoreCallback.checked_at), count_true(StoreCallback.disagreement))
                     .group_by(StoreCallback.store_id)).all()
    return [{"store_id": r[0], "logged": r[1], "sampled": int(r[2] or 0), "checked": r[3],
             "disagreements": int(r[4] or 0)} for r in rows]
