"""Identity rules with no I/O: roles and store scope, passwords (argon2id), login throttles, token versions."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import available_timezones

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.tenancy import HQ_ROLES, ROLES

STORE_ROLES = ROLES - HQ_ROLES
MIN_PASSWORD = 10
#: argon2id at OWASP's documented minimum (Password Storage Cheat Sheet: m=19 MiB, t=2, p=1): about a
#: sixth of the library's default (64 MiB, t=3, p=4) in CPU, which made 50 logins at once queue for
#: seconds on a 2-core machine (docs/performance.md). Hashes made with other parameters still verify:
#: the parameters are stored in each hash.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(hashed: str | None, password: str) -> bool:
    """Check `password` against `hashed`; with no hash (an unknown or locked account) the same work is
    done against a dummy hash, so that the time taken does not tell which accounts exist."""
    try:
        return _hasher.verify(hashed or _DUMMY, password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def validate_role_scope(role: str, store_id: str | None) -> str | None:
    """Return an error message if the role and store scope don't fit together."""
    if role not in ROLES:
        return f"unknown role {role!r}"
    if role in STORE_ROLES and not store_id:
        return f"role {role} needs a store"
    if role in HQ_ROLES and store_id:
        return f"role {role} works for the whole group and takes no store"
    return None


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def is_time_zone(name: str) -> bool:
    """A name from the tz database (`Asia/Shanghai`), not a made-up one (`Mars/Olympus`)."""
    return name in _time_zones()


# ---- login throttles -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Throttle:
    """At most `limit` failed logins within `window`; the next one shuts the door for `lockout`."""

    limit: int
    window: timedelta
    lockout: timedelta


#: per account name (group code and username, whether or not such a user exists)
ACCOUNT = Throttle(limit=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))
#: per client address: a whole showroom may share one, so it allows more than one person's typos
ADDRESS = Throttle(limit=30, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


@dataclass(frozen=True)
class Tally:
    """The failures counted against one account name or address."""

    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None


def retry_after(tally: Tally | None, now: datetime) -> int | None:
    """Seconds until `tally` lets a login through again, or None when it does now."""
    if tally is None or tally.locked_until is None or tally.locked_until <= now:
        return None
    return max(1, math.ceil((tally.locked_until - now).total_seconds()))


def after_failure(throttle: Throttle, tally: Tally | None, now: datetime) -> Tally:
    """One more failure; at the limit within the window the door shuts for the lockout (a failure
    counted while it is shut, by a login that started before, changes nothing)."""
    tally = tally or Tally()
    if retry_after(tally, now) is not None:
        return tally
    fresh = tally.window_start is None or now - tally.window_start >= throttle.window
    failures, start = (1, now) if fresh else (tally.failures + 1, tally.window_start)
    if failures >= throttle.limit:
        return Tally(0, None, now + throttle.lockout)
    return Tally(failures, start, None)


# ---- when sessions end -------------------------------------------------------------------------------

#: changes to a user after which the tokens they hold must stop working
ACCESS_FIELDS = ("role", "store_id", "active", "password_hash")


def ends_sessions(before: dict, after: dict) -> bool:
    """Does this change of a user (field → value, before and after) end the sessions they hold?"""
    return any(before.get(f) != after.get(f) for f in ACCESS_FIELDS)
