"""Failed logins counted per account name and per client address (`domain.ACCOUNT`, `domain.ADDRESS`)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .. import domain
from ..adapters.models import LoginThrottle

_STALE = max(domain.ACCOUNT.window, domain.ADDRESS.window)


def account_key(group_code: str, username: str) -> str:
    """The same key whether or not the account exists, so unknown names lock as real ones do."""
    return f"account:{group_code.strip().lower()}/{username.strip()}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def tally(s: Session, key: str) -> domain.Tally | None:
    row = s.get(LoginThrottle, key)
    return None if row is None else domain.Tally(row.failures, row.window_start, row.locked_until)


def count_failure(s: Session, key: str, throttle: domain.Throttle, now: datetime) -> None:
    """One more failure against `key`, counted under a row lock (parallel failures all count)."""
    dialect = {"postgresql": postgresql, "sqlite": sqlite}[s.get_bind().dialect.name]
    s.execute(dialect.insert(LoginThrottle).values(key=key, failures=0).on_conflict_do_nothing())
    row = s.get_one(LoginThrottle, key, with_for_update=True, populate_existing=True)
    t = domain.after_failure(throttle, domain.Tally(row.failures, row.window_start, row.locked_until), now)
    row.failures, row.window_start, row.locked_until = t.failures, t.window_start, t.locked_until


def forget(s: Session, key: str) -> None:
    s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def prune(s: Session, now: datetime) -> None:
    """Drop tallies whose window has passed and whose lock (if any) has ended."""
    s.execute(delete(LoginThrottle).where(
        or_(LoginThrottle.window_start.is_(None), LoginThrottle.window_start < now - _STALE),
        or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now)))
