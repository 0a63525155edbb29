"""The platform's notion of "now" (UTC). Tests move it to check deadlines without waiting."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    return datetime.now(UTC) + _offset


def travel_to(moment: datetime) -> None:
    """Pretend it is `moment` from now on (the clock keeps running from there)."""
    global _offset
    _offset = moment - datetime.now(UTC)


def advance(delta: timedelta) -> None:
    global _offset
    _offset += delta


def reset() -> None:
    global _offset
    _offset = timedelta(0)
