"""The platform's notion of "now" (UTC). Tests move it to check deadlines without waiting.

`CRM_CLOCK_OFFSET` (seconds, test runs only) shifts the clock of every process that starts with it,
so a whole suite, the processes it spawns included, can run as if it were 23:30 on a month end:
the test session computes the offset once from `CRM_TEST_CLOCK_START` and hands it down. Production
mode refuses the variable unless `CRM_ALLOW_TEST_CLOCK=1` (the end-to-end tests' processes).
`reset()` goes back to that starting offset, not to the real time.
"""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.config import DEFAULT_TIMEZONE

OFFSET_VAR = "CRM_CLOCK_OFFSET"


def _env_offset() -> timedelta:
    raw = os.environ.get(OFFSET_VAR)
    return timedelta(seconds=float(raw)) if raw else timedelta(0)


_base = _env_offset()
_offset = _base
_frozen: datetime | None = None  # tests: "now" stands still here until moved or reset


def zone_name(name: str | None = None) -> str:
    """The time zone of a store or group: its own (`name`, as its record keeps it) or, when it keeps none,
    the group's default (`Settings.default_timezone`). Every local day and local time is reckoned in it."""
    return name or DEFAULT_TIMEZONE


def zone(name: str | None = None) -> ZoneInfo:
    """`zone_name(name)` as a tzinfo."""
    return ZoneInfo(zone_name(name))


def now() -> datetime:
    return _frozen if _frozen is not None else datetime.now(UTC) + _offset


def travel_to(moment: datetime) -> None:
    """Pretend it is `moment` from now on (the clock keeps running from there)."""
    global _offset, _frozen
    _offset, _frozen = moment - datetime.now(UTC), None


def freeze(moment: datetime) -> None:
    """Stop the clock at `moment` (tests: a deadline is exact however slow the machine is)."""
    global _frozen
    _frozen = moment.astimezone(UTC)


def advance(delta: timedelta) -> None:
    global _offset, _frozen
    if _frozen is not None:
        _frozen += delta
    else:
        _offset += delta


def is_frozen() -> bool:
    return _frozen is not None


def is_moved() -> bool:
    """Whether "now" is not the run's own time (frozen, or moved since the run started)."""
    return _frozen is not None or _offset != _base


def reset() -> None:
    """Back to the run's own time: the real time, or the test run's starting offset."""
    global _offset, _frozen
    _offset, _frozen = _base, None


def start_run_at(moment: datetime) -> None:
    """Make `moment` the run's "now" for this process and every process it starts from here on."""
    global _base, _offset
    _base = _offset = moment - datetime.now(UTC)
    os.environ[OFFSET_VAR] = repr(_base.total_seconds())
