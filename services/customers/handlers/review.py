"""Reviewing likely duplicates (合并待审): the queue, merge, reject, and undoing a merge — one set of rules
for the API and the pages.

- The caller must see both records (another store's answers 404, like a random id).
- A store manager decides only about records their own stores alone know: merging or unmerging moves
  every row of both records, other stores' relationships and visits included, so records known at
  another store are HQ's decision (403). Rejecting a pair changes no row and is the manager's to do.
- A pair already decided, or a merge already undone, is a conflict (409).
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.auth import Principal
from shared.db import utcnow
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.uow import UnitOfWork

from ..adapters.models import Customer, MatchCandidate, MergeRecord
from .common import visible
from .merge import merge, unmerge


def queue(s: Session, status: str = "open", page: int = 1, per_page: int = 50) -> list[MatchCandidate]:
    """Pairs to review in the session's scope (a manager: pairs whose two records both know their store)."""
    stmt = select(MatchCandidate).order_by(MatchCandidate.created_at.desc(), MatchCandidate.id)
    if status != "all":
        stmt = stmt.where(MatchCandidate.status == status)
    return list(s.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))


def open_count(s: Session) -> int:
    return s.scalar(select(func.count(MatchCandidate.id)).where(MatchCandidate.status == "open")) or 0


def merges(s: Session, page: int = 1, per_page: int = 50) -> list[MergeRecord]:
    """Merges, newest first (each can be undone)."""
    stmt = select(MergeRecord).order_by(MergeRecord.merged_at.desc(), MergeRecord.id)
    return list(s.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))


def queue_with_people(s: Session, limit: int = 100) -> tuple[list[MatchCandidate], dict[str, Customer]]:
    """The open pairs whose two live records the caller sees, and those records by id (the review page)."""
    cands = queue(s, "open", 1, limit)
    ids = {i for m in cands for i in (m.customer_a, m.customer_b)}
    people = {c.id: c for c in s.scalars(select(Customer).where(Customer.id.in_(ids),
                                                                Customer.status == "active"))} if ids else {}
    return [m for m in cands if m.customer_a in people and m.customer_b in people], people


def _may_decide(p: Principal, *customers: Customer) -> None:
    if p.store_ids is None:
        return
    stores = {st for c in customers for st in (c.known_at or [])}
    if not stores <= p.store_ids:
        raise Forbidden("these records are known at another store too; group HQ decides about them", "known_elsewhere")


def _open_pair(s: Session, candidate_id: str) -> tuple[MatchCandidate, Customer, Customer]:
    cand = s.get(MatchCandidate, candidate_id)
    if cand is None:
        raise NotFound("match")
    try:
        a, b = visible(s, cand.customer_a), visible(s, cand.customer_b)
    except NotFound:
        raise NotFound("match") from None
    if cand.status != "open":
        raise Conflict(f"this match was already {cand.status}", "already_decided")
    return cand, a, b


def merge_pair(uow: UnitOfWork, p: Principal, candidate_id: str, survivor_id: str | None = None) -> MergeRecord:
    """They are one person: merge the pair; the chosen record stays (by default the older one)."""
    s = uow.session
    cand, a, b = _open_pair(s, candidate_id)
    survivor_id = survivor_id or min((a, b), key=lambda c: (c.created_at, c.id)).id
    if survivor_id not in (a.id, b.id):
        raise Invalid("survivor must be one of the pair", "survivor_not_in_pair", {"survivor_id": ["not in this match"]})
    survivor, absorbed = (a, b) if survivor_id == a.id else (b, a)
    _may_decide(p, survivor, absorbed)
    return merge(s, survivor, absorbed, p.user_id, f"match:{cand.reason}", candidate=cand)


def reject_pair(uow: UnitOfWork, p: Principal, candidate_id: str) -> MatchCandidate:
    """They are different people: close the pair without merging."""
    cand, _, _ = _open_pair(uow.session, candidate_id)
    cand.status, cand.decided_by, cand.decided_at = "rejected", p.user_id, utcnow()
    return cand


def merge_into(uow: UnitOfWork, p: Principal, customer_id: str, other_id: str, reason: str | None) -> MergeRecord:
    """Merge another record of the same person into this one (both must be the caller's to see)."""
    s = uow.session
    survivor, absorbed = visible(s, customer_id), visible(s, other_id)
    _may_decide(p, survivor, absorbed)
    return merge(s, survivor, absorbed, p.user_id, reason)


def undo_merge(uow: UnitOfWork, p: Principal, merge_id: str) -> MergeRecord:
    """Both records and all their links come back as they were before the merge."""
    s = uow.session
    m = s.get(MergeRecord, merge_id)
    if m is None:
        raise NotFound("merge")
    survivor = s.get(Customer, m.survivor_id)
    if survivor is not None:
        _may_decide(p, survivor)
    unmerge(s, m, p.user_id)
    return m
