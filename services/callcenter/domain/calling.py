"""Calling windows (no calls outside them) and what an attempt's outcome does to the task."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OUTCOMES = ("reached", "no_answer", "busy", "wrong_number", "call_back", "refused")
#: outcomes that count towards the attempts limit
UNANSWERED = ("no_answer", "busy")


@dataclass(frozen=True)
class CallingWindow:
    """Local hours in which customers may be called (default 09:00–20:00)."""

    start: time = time(9, 0)
    end: time = time(20, 0)

    @classmethod
    def parse(cls, start: str, end: str) -> CallingWindow:
        """From "HH:MM" strings; an end of "24:00" means until midnight."""
        return cls(time.fromisoformat(start), time.max if end == "24:00" else time.fromisoformat(end))

    def contains(self, moment: datetime, tz: str) -> bool:
        local = moment.astimezone(ZoneInfo(tz)).time()
        return self.start <= local < self.end

    def opens_on(self, day: date, tz: str) -> datetime:
        return datetime.combine(day, self.start, ZoneInfo(tz)).astimezone(UTC)

    def closes_on(self, day: date, tz: str) -> datetime:
        return datetime.combine(day, self.end, ZoneInfo(tz)).astimezone(UTC)

    def next_open(self, moment: datetime, tz: str) -> datetime:
        """`moment` if calls are allowed then, else the start of the next window."""
        if self.contains(moment, tz):
            return moment
        local = moment.astimezone(ZoneInfo(tz))
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return self.opens_on(day, tz)


@dataclass(frozen=True)
class AfterAttempt:
    """The task's state after an attempt."""

    status: str  # open | done | failed
    outcome: str | None = None  # the final outcome of a closed task (reached, unreachable, refused, wrong_number)
    available_at: datetime | None = None  # when the task comes back to the queue
    reserved_for: str | None = None  # a promised callback stays with this agent...
    reserved_until: datetime | None = None  # ...until then, after which anyone may take it
    failed_attempts: int = 0


def after_attempt(
    outcome: str,
    failed_before: int,
    max_attempts: int,
    retry_minutes: tuple[int, ...],
    now: datetime,
    window: CallingWindow,
    tz: str,
    agent_id: str | None = None,
    callback_at: datetime | None = None,
    release_minutes: int = 30,
) -> AfterAttempt:
    """Apply the retry policy: reached closes, refused / wrong number fail, unanswered calls retry then fail."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome}")
    if outcome == "reached":
        return AfterAttempt("done", "reached", failed_attempts=failed_before)
    if outcome in ("refused", "wrong_number"):
        return AfterAttempt("failed", outcome, failed_attempts=failed_before)
    if outcome == "call_back":
        if callback_at is None:
            raise ValueError("a call-back needs the time promised to the customer")
        return AfterAttempt("open", available_at=callback_at, reserved_for=agent_id,
                            reserved_until=callback_at + timedelta(minutes=release_minutes),
                            failed_attempts=failed_before)
    failed = failed_before + 1
    if failed >= max_attempts:
        return AfterAttempt("failed", "unreachable", failed_attempts=failed)
    delay = retry_minutes[min(failed - 1, len(retry_minutes) - 1)] if retry_minutes else 120
    return AfterAttempt("open", available_at=window.next_open(now + timedelta(minutes=delay), tz),
                        failed_attempts=failed)
