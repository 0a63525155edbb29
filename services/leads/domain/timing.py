"""Time rules with no I/O: follow-up due dates, overdue, staleness, business hours and the SLA,
the daily report deadline. Instants are UTC-aware datetimes; days are local dates of the store.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shared.config import DEFAULT_TIMEZONE

DEFAULT_TZ = DEFAULT_TIMEZONE


def local_date(instant: datetime, tz: str = DEFAULT_TZ) -> date:
    """The calendar day `instant` falls on in the store's time zone."""
    return instant.astimezone(ZoneInfo(tz)).date()


def local_midnight(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """00:00 of `day` in the store's time zone, as an aware datetime."""
    return datetime.combine(day, time(0), ZoneInfo(tz))


@dataclass(frozen=True)
class Due:
    """When the next contact is due: the local day, and the instant from which the lead is overdue."""

    due_on: date
    overdue_at: datetime  # the start of the local day after `due_on`, in UTC


def next_follow_up_due(last_contact: datetime, cadence_days: int | None, tz: str = DEFAULT_TZ) -> Due | None:
    """A lead contacted on local day D with a cadence of N days is due on D+N and overdue from D+N+1 00:00.

    An A lead (every 3 days, i.e. twice a week) last contacted on Monday is due on Thursday.
    None when nothing is due (a closed lead).
    """
    if cadence_days is None:
        return None
    due_on = local_date(last_contact, tz) + timedelta(days=cadence_days)
    return due_from(due_on, tz)


def due_from(due_on: date, tz: str = DEFAULT_TZ) -> Due:
    """A lead due on local day `due_on` is overdue from the next local midnight."""
    return Due(due_on, local_midnight(due_on + timedelta(days=1), tz).astimezone(UTC))


def is_overdue(due: Due | None, now: datetime) -> bool:
    return due is not None and now >= due.overdue_at


def is_stale(last_contact: datetime, now: datetime, stale_days: int) -> bool:
    """No contact for `stale_days` or more: the lead comes up in the card audit (卡片清点)."""
    return now - last_contact >= timedelta(days=stale_days)


def expected_purchase_by(graded_on: date, horizon_days: int | None) -> date | None:
    """The purchase horizon of a level, counted from the day it was judged."""
    return None if horizon_days is None else graded_on + timedelta(days=horizon_days)


# --- business hours and the first-response SLA --------------------------------------------------

@dataclass(frozen=True)
class BusinessHours:
    """Daily opening hours of a store in its time zone (showrooms open every day of the week)."""

    open_at: time = time(9, 0)
    close_at: time = time(18, 0)
    tz: str = DEFAULT_TZ

    def _window(self, day: date) -> tuple[datetime, datetime]:
        z = ZoneInfo(self.tz)
        return datetime.combine(day, self.open_at, z), datetime.combine(day, self.close_at, z)

    def seconds_between(self, start: datetime, end: datetime) -> int:
        """Business seconds from `start` to `end` (0 if end is before start)."""
        if end <= start:
            return 0
        total = 0.0
        day = local_date(start, self.tz)
        last = local_date(end, self.tz)
        while day <= last:
            lo, hi = self._window(day)
            a, b = max(lo, start), min(hi, end)
            if b > a:
                total += (b - a).total_seconds()
            day += timedelta(days=1)
        return int(total)

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant `seconds` of business time after `start` (a lead arriving at night waits for 09:00)."""
        remaining = float(seconds)
        day = local_date(start, self.tz)
        for _ in range(3660):  # ten years of days: a guard, never reached with sane hours
            lo, hi = self._window(day)
            a = max(lo, start)
            if hi > a:
                room = (hi - a).total_seconds()
                if remaining <= room:
                    return (a + timedelta(seconds=remaining)).astimezone(start.tzinfo)
                remaining -= room
            day += timedelta(days=1)
        raise ValueError("business hours are empty")


@dataclass(frozen=True)
class FirstResponse:
    seconds: int
    within_sla: bool


def first_response(arrived: datetime, contacted: datetime, hours: BusinessHours, sla_minutes: int) -> FirstResponse:
    """Business-hours time from a lead's arrival to its first real contact, and whether the SLA held."""
    secs = hours.seconds_between(arrived, contacted)
    return FirstResponse(secs, secs <= sla_minutes * 60)


def first_response_due(arrived: datetime, hours: BusinessHours, sla_minutes: int) -> datetime:
    """The instant the SLA is breached if nobody has contacted the customer."""
    return hours.add(arrived, sla_minutes * 60)


# --- daily activity report deadline -----------------------------------------------------------

REPORT_DUE = time(18, 0)
WEEKEND_DUE = time(9, 30)


def report_deadline(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """A weekday's report is due at 18:00 that day; Saturday's and Sunday's by Monday 09:30 (local)."""
    z = ZoneInfo(tz)
    if day.weekday() >= 5:
        monday = day + timedelta(days=7 - day.weekday())
        return datetime.combine(monday, WEEKEND_DUE, z)
    return datetime.combine(day, REPORT_DUE, z)


def is_late(day: date, submitted_at: datetime, tz: str = DEFAULT_TZ) -> bool:
    return submitted_at > report_deadline(day, tz)


def report_owed(day: date) -> bool:
    """A consultant owes a report for every weekday (Saturday's and Sunday's are optional: they are
    reported on Monday by 09:30 as part of Monday's)."""
    return day.weekday() < 5
