"""An agent's call on a task they hold: the attempt, the retry policy, the answers, the announcements.

`log_attempt` is the use case; its parts are the lease and consent checks, the outcome's validation,
the task's next state (the pure policy in `domain.calling`), and the events. What the answers set off
(a complaint, a spot-check comparison, a confirmed resolution) follows from `surveys.answer`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Invalid
from shared.events import Event
from shared.uow import UnitOfWork

from ..domain.calling import OUTCOMES, AfterAttempt, CallingWindow, after_attempt
from ..domain.rules import DEFAULT_RULES
from ..adapters.models import Attempt, Complaint, Contact, GroupSettings, SurveyResponse, Task
from .config import settings_for, store_timezone, window_of
from .surveys import answer
from .tasks import locked_task, require_lease, task_event


@dataclass(frozen=True)
class Call:
    """What the agent reports about one call."""

    outcome: str
    note: str = ""
    callback_at: datetime | None = None
    answers: dict = field(default_factory=dict)
    idempotency_key: str | None = None  # the caller's own: another user's same key is another request


@dataclass
class AttemptResult:
    task: Task
    attempt: Attempt
    response: SurveyResponse | None = None
    complaint: Complaint | None = None


def log_attempt(uow: UnitOfWork, p: Principal, task_id: str, call: Call) -> AttemptResult:
    """Record a call and its outcome on a task the agent holds; apply the retry policy; score the answers."""
    s, now = uow.session, utcnow()
    done = _already_logged(s, p, task_id, call.idempotency_key)
    if done is not None:
        return done
    t = locked_task(s, task_id)
    require_lease(s, t, p.user_id, now)
    require_callable(s, t)
    cfg = settings_for(s, t.group_id)
    tz, window = store_timezone(s, cfg, t.store_id), window_of(cfg)
    _check(call, now, window, tz, cfg)
    attempt = _record(s, t, p.user_id, call, now)
    result = AttemptResult(t, attempt)
    if call.answers:
        result.response = answer(uow, t, call.answers, channel="phone", agent_id=p.user_id)
        result.complaint = s.scalar(select(Complaint).where(Complaint.response_id == result.response.id))
    res = after_attempt(call.outcome, t.failed_attempts, t.max_attempts,
                        tuple(t.retry_minutes or DEFAULT_RULES[t.task_type].retry_minutes), now, window, tz,
                        p.user_id, call.callback_at, cfg.callback_release_minutes)
    _move_on(t, res, p.user_id, now)
    _announce(uow, t, attempt, res, p.user_id)
    return result


def require_callable(s: Session, t: Task) -> None:
    """Do-not-call (or phone consent withdrawn) stops a call even on a task already held."""
    contact = s.get(Contact, t.customer_id) if t.customer_id else None
    if contact is not None and not contact.callable:
        raise Conflict("The customer asked not to be called; nothing was recorded. Give the task back to the queue.",
                       "do_not_call")


def _already_logged(s: Session, p: Principal, task_id: str, key: str | None) -> AttemptResult | None:
    """A retried request (same caller, same Idempotency-Key) gets the attempt it recorded the first time."""
    if not key:
        return None
    done = s.scalar(select(Attempt).where(Attempt.agent_id == p.user_id, Attempt.idempotency_key == key))
    if done is None:
        return None
    if done.task_id != task_id:
        raise Conflict("This Idempotency-Key was already used for a call on another task; send a new key.",
                       "idempotency_key_reused")
    return AttemptResult(s.get_one(Task, done.task_id), done)


def _check(call: Call, now: datetime, window: CallingWindow, tz: str, cfg: GroupSettings) -> None:
    """The outcome is known; a call-back has a future time inside the calling window; answers need a reach."""
    if call.outcome not in OUTCOMES:
        raise Invalid("unknown outcome", errors={"outcome": [f"one of {', '.join(OUTCOMES)}"]})
    if call.outcome == "call_back":
        if call.callback_at is None or call.callback_at <= now:
            raise Invalid("give the call-back time promised to the customer",
                          errors={"callback_at": ["a time in the future"]})
        if not window.contains(call.callback_at, tz):
            raise Invalid("the call-back time is outside the calling window",
                          errors={"callback_at": [f"between {cfg.window_start} and {cfg.window_end} local time"]})
    if call.answers and call.outcome != "reached":
        raise Invalid("answers can only be recorded when the customer was reached",
                      errors={"answers": ["only with outcome reached"]})


def _record(s: Session, t: Task, agent_id: str, call: Call, now: datetime) -> Attempt:
    t.attempts += 1
    attempt = Attempt(group_id=t.group_id, store_id=t.store_id, task_id=t.id, agent_id=agent_id,
                      number=t.attempts, outcome=call.outcome, note=(call.note or "")[:2000],
                      callback_at=call.callback_at, idempotency_key=call.idempotency_key, created_at=now)
    s.add(attempt)
    try:
        s.flush()
    except IntegrityError:  # the same caller sent the same key twice at the same moment
        raise Conflict("This call is being recorded by another request with the same Idempotency-Key.",
                       "idempotency_key_in_use") from None
    return attempt


def _move_on(t: Task, res: AfterAttempt, agent_id: str, now: datetime) -> None:
    """The task after the call: the lease ends; it closes, waits for a retry, or stays promised to the agent."""
    t.status, t.failed_attempts = res.status, res.failed_attempts
    t.agent_id, t.lease_until = None, None
    t.reserved_for, t.reserved_until = res.reserved_for, res.reserved_until
    if res.available_at is not None:
        t.available_at = res.available_at
    if res.status != "open":
        t.outcome, t.closed_at, t.closed_by = res.outcome, now, agent_id


def _announce(uow: UnitOfWork, t: Task, attempt: Attempt, res: AfterAttempt, agent_id: str) -> None:
    uow.session.flush()
    uow.emit(Event(type="callcenter.attempt.logged", group_id=t.group_id, brand_id=t.brand_id, store_id=t.store_id,
                   actor=agent_id, data={"task_id": t.id, "task_type": t.task_type,
                                         "customer_id": t.customer_id or "", "agent_id": agent_id,
                                         "outcome": attempt.outcome, "attempt": attempt.number,
                                         "callback_at": attempt.callback_at}))
    if res.status == "done":
        task_event(uow.session, "completed", t, agent_id, "reached")
    elif res.status == "failed":
        task_event(uow.session, "failed", t, agent_id, res.outcome)
