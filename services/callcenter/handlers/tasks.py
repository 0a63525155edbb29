"""Tasks: created from events, claimed exactly once under a lease, worked through attempts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.bus import emit
from shared.db import utcnow
from shared.errors import fail
from shared.events import Event

from ..domain.calling import OUTCOMES, after_attempt
from ..domain.rules import DEFAULT_RULES, dedupe_key, plan_tasks
from ..models import Attempt, Contact, Task
from .config import claim_settings, rule_for, settings_for, store_timezone, window_of


def task_event(s: Session, verb: str, t: Task, actor: str | None = None, outcome: str | None = None) -> None:
    emit(s, Event(
        type=f"callcenter.task.{verb}", group_id=t.group_id, brand_id=t.brand_id, store_id=t.store_id, actor=actor,
        data={"task_id": t.id, "task_type": t.task_type, "customer_id": t.customer_id or "",
              "agent_id": t.agent_id or actor, "due_at": t.due_at, "outcome": outcome, "lead_id": t.lead_id,
              "attempts": t.attempts, "priority": t.priority},
    ))


def create_tasks(s: Session, *, group_id: str, store_id: str, brand_id: str | None, task_type: str, anchor: date,
                 subject: str, customer_id: str | None = None, lead_id: str | None = None, name: str = "",
                 phone: str | None = None, detail: dict | None = None, source_event_id: str | None = None,
                 actor: str | None = None) -> list[Task]:
    """Create the tasks a rule plans for `anchor`; a task whose business key exists is never created twice."""
    cfg = settings_for(s, group_id)
    rule = rule_for(s, task_type, brand_id)
    plans = plan_tasks(rule, anchor, store_timezone(s, cfg, store_id), window_of(cfg), utcnow())
    contact = s.get(Contact, customer_id) if customer_id else (
        s.scalar(select(Contact).where(Contact.phone == phone).limit(1)) if phone else None)
    created = []
    for i, plan in enumerate(plans):
        key = dedupe_key(task_type, subject, i if len(rule.offsets_days) > 1 else None)
        if s.scalar(select(Task.id).where(Task.dedupe_key == key)) is not None:
            continue
        t = Task(group_id=group_id, store_id=store_id, brand_id=brand_id, task_type=task_type,
                 customer_id=contact.id if contact else customer_id, lead_id=lead_id,
                 customer_name=name or (contact.name if contact else ""),
                 phone=phone or (contact.phone if contact else None),
                 priority=rule.priority, due_at=plan.due_at, expires_at=plan.expires_at, available_at=plan.due_at,
                 max_attempts=rule.max_attempts, retry_minutes=list(rule.retry_minutes), dedupe_key=key,
                 source_event_id=source_event_id, detail=detail or {})
        try:
            with s.begin_nested():
                s.add(t)
                s.flush()
        except IntegrityError:  # a concurrent consumer replica created it first
            continue
        task_event(s, "created", t, actor)
        created.append(t)
    return created


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
    now = bindparam("p_now")

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


def claim_next_task(s: Session, agent_id: str, group_id: str, task_type: str | None = None,
                    store_id: str | None = None, brand_id: str | None = None) -> Claim:
    """Give the agent one task nobody else holds: their promised call-backs first, then by priority and due time.

    One conditional UPDATE … RETURNING claims (see `_claim_statement`). SQLite drops FOR UPDATE, but
    every SQLite transaction here starts with BEGIN IMMEDIATE, so claims there run one at a time and the
    conditional UPDATE stays exactly-once. Calling windows and do-not-call / consent are checked here,
    at claim time, not only when the task was made.
    """
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


def held_task(s: Session, agent_id: str) -> Task | None:
    """The task the agent holds right now (a live lease), if any."""
    return s.scalar(select(Task).where(Task.agent_id == agent_id, Task.status == "open",
                                       Task.lease_until > utcnow()).order_by(Task.lease_until.desc()).limit(1))


def _locked_task(s: Session, task_id: str) -> Task:
    t = s.scalar(select(Task).where(Task.id == task_id).with_for_update())
    if t is None:
        fail(404, "task not found")
    return t


def _require_lease(s: Session, t: Task, agent_id: str, now: datetime) -> None:
    """Refuse an answer from anyone but the holder of a live lease: 409, and nothing is written."""
    if t.status != "open":
        fail(409, f"This task is already closed ({t.status}); nothing was recorded.", "task_closed")
    if t.agent_id != agent_id or t.lease_until is None or t.lease_until <= now:
        tz = store_timezone(s, settings_for(s, t.group_id), t.store_id)
        since = ""
        if t.agent_id == agent_id and t.lease_until is not None:
            since = f" at {t.lease_until.astimezone(ZoneInfo(tz)):%H:%M}"
        fail(409, f"Your hold on this task expired{since} and the task went back to the queue"
                  f"{' (another agent has it now)' if t.agent_id not in (None, agent_id) else ''}; "
                  "your answer was not recorded. Take the next task.", "lease_expired")


def renew_lease(s: Session, p: Principal, task_id: str) -> Task:
    """Keep holding a task while still on the call."""
    now = utcnow()
    t = _locked_task(s, task_id)
    _require_lease(s, t, p.user_id, now)
    t.lease_until = t.available_at = now + timedelta(minutes=settings_for(s, t.group_id).lease_minutes)
    return t


def release_task(s: Session, p: Principal, task_id: str) -> Task:
    """Give a task back to the queue without calling."""
    now = utcnow()
    t = _locked_task(s, task_id)
    _require_lease(s, t, p.user_id, now)
    t.agent_id, t.lease_until, t.available_at = None, None, now
    return t


@dataclass
class AttemptResult:
    task: Task
    attempt: Attempt
    response: object | None = None
    complaint: object | None = None


def log_attempt(s: Session, p: Principal, task_id: str, outcome: str, note: str = "",
                callback_at: datetime | None = None, answers: dict | None = None,
                idempotency_key: str | None = None) -> AttemptResult:
    """Record a call and its outcome on a task the agent holds; apply the retry policy; score the answers."""
    from .surveys import after_answers, submit_survey

    if idempotency_key:
        done = s.scalar(select(Attempt).where(Attempt.idempotency_key == idempotency_key))
        if done is not None:
            return AttemptResult(s.get(Task, done.task_id), done)
    now = utcnow()
    t = _locked_task(s, task_id)
    _require_lease(s, t, p.user_id, now)
    if outcome not in OUTCOMES:
        fail(422, "unknown outcome", errors={"outcome": [f"one of {', '.join(OUTCOMES)}"]})
    cfg = settings_for(s, t.group_id)
    tz, window = store_timezone(s, cfg, t.store_id), window_of(cfg)
    if outcome == "call_back":
        if callback_at is None or callback_at <= now:
            fail(422, "give the call-back time promised to the customer",
                 errors={"callback_at": ["a time in the future"]})
        if not window.contains(callback_at, tz):
            fail(422, "the call-back time is outside the calling window",
                 errors={"callback_at": [f"between {cfg.window_start} and {cfg.window_end} local time"]})
    if answers and outcome != "reached":
        fail(422, "answers can only be recorded when the customer was reached",
             errors={"answers": ["only with outcome reached"]})
    res = after_attempt(outcome, t.failed_attempts, t.max_attempts,
                        tuple(t.retry_minutes or DEFAULT_RULES[t.task_type].retry_minutes), now, window, tz,
                        p.user_id, callback_at, cfg.callback_release_minutes)
    t.attempts += 1
    attempt = Attempt(group_id=t.group_id, store_id=t.store_id, task_id=t.id, agent_id=p.user_id,
                      number=t.attempts, outcome=outcome, note=(note or "")[:2000], callback_at=callback_at,
                      idempotency_key=idempotency_key, created_at=now)
    s.add(attempt)
    result = AttemptResult(t, attempt)
    if answers:
        result.response, result.complaint = submit_survey(s, t, answers, channel="phone", agent_id=p.user_id)
    t.status, t.failed_attempts = res.status, res.failed_attempts
    t.agent_id, t.lease_until = None, None
    t.reserved_for, t.reserved_until = res.reserved_for, res.reserved_until
    if res.available_at is not None:
        t.available_at = res.available_at
    if res.status != "open":
        t.outcome, t.closed_at, t.closed_by = res.outcome, now, p.user_id
    s.flush()
    emit(s, Event(type="callcenter.attempt.logged", group_id=t.group_id, brand_id=t.brand_id, store_id=t.store_id,
                  actor=p.user_id, data={"task_id": t.id, "task_type": t.task_type, "customer_id": t.customer_id or "",
                                         "agent_id": p.user_id, "outcome": outcome, "attempt": attempt.number,
                                         "callback_at": callback_at}))
    if res.status == "done":
        task_event(s, "completed", t, p.user_id, "reached")
    elif res.status == "failed":
        task_event(s, "failed", t, p.user_id, res.outcome)
    if res.status == "done" and result.response is not None:
        after_answers(s, p, t, result.response)
    return result
