"""HQ spot checks: stores log their own callbacks, a share is re-called by HQ and compared."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import fail

from ..domain.spotcheck import disagreements, sampled
from ..models import Contact, StoreCallback, StoreRef
from .config import settings_for


def record_store_callback(s: Session, p: Principal, data: dict) -> StoreCallback:
    """A store records a callback it made; the sampled share becomes an HQ spot-check task."""
    from .tasks import create_tasks

    store_id = data.get("store_id") if p.store_ids is None else p.home_store
    if p.store_ids is not None and data.get("store_id") and data["store_id"] not in p.store_ids:
        fail(404, "store not found")
    store = s.get(StoreRef, store_id) if store_id else None
    if store is None:
        fail(422, "unknown store", errors={"store_id": ["required for group roles"]})
    called_at: datetime = data.get("called_at") or utcnow()
    cb = StoreCallback(group_id=p.group_id, store_id=store.id, brand_id=store.brand_id,
                       customer_id=data["customer_id"], kind=data["kind"], called_at=called_at,
                       reported_reached=data["reached"], reported_satisfaction=data.get("satisfaction"),
                       note=(data.get("note") or "")[:2000], by_user=p.user_id)
    s.add(cb)
    s.flush()
    cb.sampled = sampled(cb.id, settings_for(s, p.group_id).spot_check_share)
    if cb.sampled:
        contact = s.get(Contact, cb.customer_id)
        tasks = create_tasks(s, group_id=p.group_id, store_id=store.id, brand_id=store.brand_id, task_type="spot_check",
                             anchor=utcnow().date(), subject=cb.id, customer_id=cb.customer_id,
                             name=contact.name if contact else "", phone=contact.phone if contact else None,
                             detail={"store_callback_id": cb.id, "kind": cb.kind}, actor=p.user_id)
        cb.spot_task_id = tasks[0].id if tasks else None
    return cb


def record_spot_check(s: Session, callback_id: str, called: str | None, satisfaction: int | None) -> StoreCallback:
    """Compare the customer's answer with the store's record."""
    cb = s.get(StoreCallback, callback_id)
    if cb is None:
        fail(404, "store callback not found")
    confirms = None if called is None else called == "yes"
    reasons = disagreements(cb.reported_reached, cb.reported_satisfaction, confirms, satisfaction)
    cb.checked_at, cb.customer_confirms_call, cb.customer_satisfaction = utcnow(), confirms, satisfaction
    cb.disagreement, cb.disagreement_reasons = bool(reasons), reasons
    return cb


def spot_check_summary(s: Session) -> list[dict]:
    """Per store: callbacks logged, sampled, checked, disagreements."""
    def count_true(col):
        return func.sum(case((col.is_(True), 1), else_=0))

    rows = s.execute(select(StoreCallback.store_id, func.count(StoreCallback.id), count_true(StoreCallback.sampled),
                            func.count(StoreCallback.checked_at), count_true(StoreCallback.disagreement))
                     .group_by(StoreCallback.store_id)).all()
    return [{"store_id": r[0], "logged": r[1], "sampled": int(r[2] or 0), "checked": r[3],
             "disagreements": int(r[4] or 0)} for r in rows]
