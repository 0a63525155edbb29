"""Supervisor and HQ figures: queues, SLA breaches, reach rate, agent pace, survey results."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from shared.db import utcnow

from ..domain.complaints import ACTIVE
from ..adapters.models import Attempt, Complaint, StaffRef, StoreRef, SurveyResponse, Task


def _age_hours(oldest: datetime | None, now: datetime) -> float | None:
    return None if oldest is None else round(max(0.0, (now - oldest).total_seconds() / 3600), 1)


def queue_depth(s: Session, now: datetime) -> list[dict]:
    """Open tasks by type and store: how many, how many are due now, the oldest due, expired ones."""
    due_now = func.sum(case((Task.available_at <= now, 1), else_=0))
    expired = func.sum(case((Task.expires_at <= now, 1), else_=0))
    held = func.sum(case((Task.lease_until > now, 1), else_=0))
    rows = s.execute(select(Task.task_type, Task.store_id, func.count(Task.id), due_now, func.min(Task.due_at), expired,
                            held)
                     .where(Task.status == "open").group_by(Task.task_type, Task.store_id)
                     .order_by(Task.task_type, Task.store_id)).all()
    return [{"task_type": r[0], "store_id": r[1], "open": r[2], "due_now": int(r[3] or 0),
             "oldest_due_hours": _age_hours(r[4], now) if r[4] and r[4] <= now else 0.0,
             "expired": int(r[5] or 0), "held": int(r[6] or 0)} for r in rows]


def reach_rate(s: Session, since: datetime) -> dict:
    """Closed tasks since `since`: reached / all closed (unreachable, refused, wrong number)."""
    rows = s.execute(select(Task.outcome, func.count(Task.id)).where(Task.closed_at >= since,
                                                                      Task.status.in_(("done", "failed")))
                     .group_by(Task.outcome)).all()
    by = {r[0]: r[1] for r in rows}
    closed = sum(by.values())
    return {"closed": closed, "reached": by.get("reached", 0), "by_outcome": by,
            "rate": round(by.get("reached", 0) / closed, 3) if closed else None}


def agent_pace(s: Session, since: datetime) -> list[dict]:
    """Per agent: calls, tasks closed, and calls per active hour (hours with at least one call)."""
    rows = s.execute(select(Attempt.agent_id, Attempt.created_at, Attempt.outcome)
                     .where(Attempt.created_at >= since)).all()
    calls: defaultdict[str | None, int] = defaultdict(int)
    hours: defaultdict[str | None, set[datetime]] = defaultdict(set)
    reached: defaultdict[str | None, int] = defaultdict(int)
    for agent, at, outcome in rows:
        calls[agent] += 1
        hours[agent].add(at.replace(minute=0, second=0, microsecond=0))
        reached[agent] += outcome == "reached"
    names: dict[str | None, str | None] = {
        u.id: u.name for u in s.scalars(select(StaffRef).where(StaffRef.id.in_(list(calls))))} if calls else {}
    return sorted(({"agent_id": a, "name": names.get(a, a), "calls": n, "reached": reached[a],
                    "active_hours": len(hours[a]), "calls_per_hour": round(n / max(1, len(hours[a])), 1)}
                   for a, n in calls.items()), key=lambda x: -x["calls"])


def survey_results(s: Session, since: datetime) -> dict:
    """Average score, satisfaction, recommend and low answers by store and by brand."""
    cols = (func.count(SurveyResponse.id), func.avg(SurveyResponse.score), func.avg(SurveyResponse.satisfaction),
            func.avg(SurveyResponse.recommend), func.sum(case((SurveyResponse.low_score.is_(True), 1), else_=0)))

    def rows(key):
        out = []
        for r in s.execute(select(key, *cols).where(SurveyResponse.created_at >= since).group_by(key)):
            out.append({"key": r[0], "answers": r[1], "score": round(float(r[2]), 1) if r[2] is not None else None,
                        "satisfaction": round(float(r[3]), 2) if r[3] is not None else None,
                        "recommend": round(float(r[4]), 1) if r[4] is not None else None, "low": int(r[5] or 0)})
        return sorted(out, key=lambda x: x["score"] if x["score"] is not None else 999)

    return {"by_store": rows(SurveyResponse.store_id), "by_brand": rows(SurveyResponse.brand_id)}


def sla_breaches(s: Session, now: datetime) -> dict:
    expired_tasks = s.scalar(select(func.count(Task.id)).where(Task.status == "open", Task.expires_at <= now)) or 0
    late_complaints = s.scalar(select(func.count(Complaint.id)).where(Complaint.status.in_(ACTIVE),
                                                                       Complaint.due_at < now)) or 0
    open_complaints = s.scalar(select(func.count(Complaint.id)).where(Complaint.status.in_(ACTIVE))) or 0
    return {"expired_tasks": expired_tasks, "late_complaints": late_complaints, "open_complaints": open_complaints}


def board(s: Session, days: int = 7) -> dict:
    now = utcnow()
    since = now - timedelta(days=days)
    stores = {st.id: st for st in s.scalars(select(StoreRef))}
    return {"now": now, "days": days, "queues": queue_depth(s, now), "sla": sla_breaches(s, now),
            "reach": reach_rate(s, since), "agents": agent_pace(s, since), "surveys": survey_results(s, since),
            "stores": {k: {"code": v.code, "name": v.name, "brand_id": v.brand_id} for k, v in stores.items()}}
