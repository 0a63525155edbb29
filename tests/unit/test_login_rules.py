"""Login rules: failures counted per account name and per address, doors shut at the limit for a while."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.identity.domain import ACCOUNT, Tally, Throttle, after_failure, ends_sessions, is_time_zone, retry_after

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
FIVE = Throttle(limit=5, window=timedelta(minutes=15), lockout=timedelta(minutes=15))


def _fail(times: int, start: datetime = NOW, every: timedelta = timedelta(seconds=10)) -> Tally | None:
    t = None
    for i in range(times):
        t = after_failure(FIVE, t, start + i * every)
    return t


def test_the_fifth_failure_within_the_window_shuts_the_door_for_the_lockout():
    assert retry_after(_fail(4), NOW + timedelta(minutes=1)) is None
    t = _fail(5)
    assert retry_after(t, NOW + timedelta(minutes=1)) == 15 * 60 - 20
    assert retry_after(t, NOW + timedelta(minutes=16)) is None


def test_failures_spread_beyond_the_window_do_not_add_up():
    t = _fail(5, every=timedelta(minutes=4))  # the fifth, 16 minutes after the first, starts a new window
    assert retry_after(t, NOW + timedelta(minutes=17)) is None and t.failures == 1


def test_a_failure_counted_while_the_door_is_shut_does_not_open_it():
    t = _fail(5)
    assert after_failure(FIVE, t, NOW + timedelta(minutes=2)) == t


def test_the_account_rule_is_five_failures_in_fifteen_minutes():
    assert (ACCOUNT.limit, ACCOUNT.window, ACCOUNT.lockout) == (5, timedelta(minutes=15), timedelta(minutes=15))


def test_time_zones_come_from_the_tz_database():
    assert is_time_zone("Asia/Shanghai") and is_time_zone("Asia/Urumqi") and is_time_zone("UTC")
    assert not any(is_time_zone(z) for z in ("Mars/Olympus", "asia/shanghai", "", "../etc/passwd", "Asia/"))


def test_access_changes_end_sessions_and_other_changes_do_not():
    before = {"role": "store_manager", "store_id": "s1", "active": True, "password_hash": "h1", "name": "a"}
    assert ends_sessions(before, {**before, "role": "sales_consultant"})
    assert ends_sessions(before, {**before, "store_id": "s2"})
    assert ends_sessions(before, {**before, "active": False})
    assert ends_sessions(before, {**before, "password_hash": "h2"})
    assert not ends_sessions(before, {**before, "name": "b"})
