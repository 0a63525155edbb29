"""Tasks: created from events, claimed exactly once under a lease, held, renewed and given back."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BindParameter, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus import emit
from shared.db import utcnow
from shared.errors import Conflict, NotFound
from shared.uow import UnitOfWork

from ..domain.events import ComplaintResolved, StoreCallbackSampled
from ..adapters.models import Complaint, Contact, StoreCallback, Task
from .config import claim_settings, settings_for, store_timezone
from .planning import EVENT_FIELDS, create_tasks, task_message


def task_event(s: Session, verb: str, t: Task, actor: str | None = None, outcome: str | None = None) -> None:
    emit(s, task_message(verb, {c: getattr(t, c) for c in EVENT_FIELDS}, actor, outcome))


# --- tasks that follow from other use cases (subscribers of the message bus) ----------------------

def _local_day(s: Session, group_id: str, store_id: str, at: datetime) -> date:
    """The store's local date of `at`: a follow-on task is dated by when its cause happened, not by when
    it is planned."""
    return at.astimezone(ZoneInfo(store_timezone(s, settings_for(s, group_id), store_id))).date()


def plan_complaint_follow_up(uow: UnitOfWork, ev: ComplaintResolved) -> None:
    """A resolved complaint is confirmed with the customer by a follow-up call (one per resolution), the
    day after the resolution."""
    c = uow.session.get_one(Complaint, ev.complaint_id)
    resolved = _local_day(uow.session, c.group_id, c.store_id, c.resolved_at or utcnow())
    create_tasks(uow.session, group_id=c.group_id, store_id=c.store_id, brand_id=c.brand_id,
                 task_type="complaint_followup", anchor=resolved, subject=f"{c.id}/{ev.resolutions}",
                 customer_id=c.customer_id, name=c.customer_name,
                 detail={"complaint_id": c.id, "summary": c.summary[:200]}, actor=ev.actor_id)


def plan_spot_check(uow: UnitOfWork, ev: StoreCallbackSampled) -> None:
    """HQ re-calls the customer of a sampled store callback, dated by the day the store called."""
    s = uow.session
    cb = s.get_one(StoreCallback, ev.callback_id)
    contact = s.get(Contact, cb.customer_id)
    tasks = create_tasks(s, group_id=cb.group_id, store_id=cb.store_id, brand_id=cb.brand_id, task_type="spot_check",
                         anchor=_local_day(s, cb.group_id, cb.store_id, cb.called_at), subject=cb.id,
                         customer_id=cb.customer_id,
                         name=contact.name if contact else "", phone=contact.phone if contact else None,
                         detail={"store_callback_id": cb.id, "kind": cb.kind}, actor=ev.actor_id)
    cb.spot_task_id = tasks[0] if tasks else None


# --- claiming ------------------------------------------------------------------------------------

@dataclass
class Claim:
    task: Task | None
    reason: str = ""  # when no task: outside_window | empty


def _claim_statement(by_store: bool, by_type: bool, by_brand: bool, in_window_stores: bool):
    """The claim as one statement with bound parameters, built once per filter combination.

    `UPDATE tasks … WHERE id = COALESCE((own call-back), (next in queue)) RETURNING`, each candidate
    picked with `FOR UPDATE SKIP LOCKED`, so on PostgreSQL concurrent agents pass each other's rows
    instead of waiting.
    """
    key = (by_store, by_type, by_brand, in_window_stores)
    stmt = _CLAIMS.get(key)
    if stmt is not None:
        return stmt
    now: BindParameter[datetime] = bindparam("p_now")

    def candidate(own_callbacks: bool):
        q = (select(Task.id).outerjoin(Contact, Contact.id == Task.customer_id)
             .where(Task.status == "open", Task.available_at <= now, Task.expires_at > now,
                    or_(Contact.id.is_(None), Contact.callable.is_(True))))
        if own_callbacks:
            q = q.where(Task.reserved_for == bindparam("p_agent"))
        else:
            q = q.where(or_(Task.reserved_for.is_(None), Task.reserved_until <= now))
        if in_window_stores:
            q = q.where(Task.store_id.in_(bindparam("p_stores", expanding=True)))
        for on, col, name in ((by_type, Task.task_type, "p_type"), (by_store, Task.store_id, "p_store"),
                              (by_brand, Task.brand_id, "p_brand")):
            if on:
                q = q.where(col == bindparam(name))
        q = q.order_by(Task.priority, Task.due_at).limit(1).with_for_update(skip_locked=True, of=Task)
        return q.scalar_subquery()

    stmt = (update(Task).where(Task.id == func.coalesce(candidate(True), candidate(False)))
            .values(agent_id=bindparam("p_agent"), lease_until=bindparam("p_lease"),
                    available_at=bindparam("p_lease"), claims=Task.claims + 1)
            .returning(Task).execution_options(synchronize_session=False))
    _CLAIMS[key] = stmt
    return stmt


_CLAIMS: dict[tuple, object] = {}


def claim_next_task(uow: UnitOfWork, agent_id: str, group_id: str, task_type: str | None = None,
                    store_id: str | None = None, brand_id: str | None = None) -> Claim:
    """Give the agent one task nobody else holds: their promised call-backs first, then by priority and due time.

    One conditional UPDATE … RETURNING claims (see `_claim_statement`). SQLite drops FOR UPDATE, but
    every SQLite transaction here starts with BEGIN IMMEDIATE, so claims there run one at a time and the
    conditional UPDATE stays exactly-once. Calling windows and do-not-call / consent are checked here,
    at claim time, not only when the task was made.
    """
    s = uow.session
    now = utcnow()
    cfg = claim_settings(s, group_id)
    allowed = cfg.stores_in_window(now)
    if allowed == []:
        return Claim(None, "outside_window")
    params = {"p_now": now, "p_agent": agent_id, "p_lease": now + timedelta(minutes=cfg.lease_minutes),
              "p_type": task_type, "p_store": store_id, "p_brand": brand_id, "p_stores": allowed}
    stmt = _claim_statement(bool(store_id), bool(task_type), bool(brand_id), allowed is not None)
    task = s.scalars(stmt, {k: v for k, v in params.items() if v is not None}).first()
    if task is None:
        return Claim(None, "empty")
    task_event(s, "claimed", task, agent_id)
    return Claim(task)


# --- holding a task ------------------------------------------------------------------------------

def held_task(s: Session, agent_id: str) -> Task | None:
    """The task the agent holds right now (a live lease), if any."""
    return s.scalar(select(Task).where(Task.agent_id == agent_id, Task.status == "open",
                                       Task.lease_until > utcnow()).order_by(Task.lease_until.desc()).limit(1))


def holds(t: Task, agent_id: str | None, now: datetime) -> bool:
    """The agent holds the task: claimed by them, open, lease not expired."""
    return (agent_id is not None and t.agent_id == agent_id and t.status == "open"
            and t.lease_until is not None and t.lease_until > now)


def locked_task(s: Session, task_id: str) -> Task:
    t = s.scalar(select(Task).where(Task.id == task_id).with_for_update())
    if t is None:
        raise NotFound("task")
    return t


def require_lease(s: Session, t: Task, agent_id: str, now: datetime) -> None:
    """Refuse an answer from anyone but the holder of a live lease (409), so nothing is written."""
    if t.status != "open":
        raise Conflict(f"This task is already closed ({t.status}); nothing was recorded.", "task_closed")
    if holds(t, agent_id, now):
        return
    since = ""
    if t.agent_id == agent_id and t.lease_until is not None:
        tz = store_timezone(s, settings_for(s, t.group_id), t.store_id)
        since = f" at {t.lease_until.astimezone(ZoneInfo(tz)):%H:%M}"
    other = " (another agent has it now)" if t.agent_id not in (None, agent_id) else ""
    raise Conflict(f"Your hold on this task expired{since} and the task went back to the queue{other}; "
                   "your answer was not recorded. Take the next task.", "lease_expired")


def renew_lease(uow: UnitOfWork, p: Principal, task_id: str) -> Task:
    """Keep holding a task while still on the call."""
    s, now = uow.session, utcnow()
    t = locked_task(s, task_id)
    require_lease(s, t, p.user_id, now)
    t.lease_until = t.available_at = now + timedelta(minutes=settings_for(s, t.group_id).lease_minutes)
    return t


def release_task(uow: UnitOfWork, p: Principal, task_id: str) -> Task:
    """Give a task back to the queue without calling."""
    s, now = uow.session, utcnow()
    t = locked_task(s, task_id)
    require_lease(s, t, p.user_id, now)
    t.agent_id, t.lease_until, t.available_at = None, None, now
    return t
