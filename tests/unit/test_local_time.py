"""The group's time zone is one setting; every local day and every time a page shows follow it."""
from __future__ import annotations

from datetime import datetime

from shared import clock
from shared.config import Settings
from shared.web import local_time, spaced_phone


def test_a_store_without_a_zone_of_its_own_has_the_groups_default():
    default = Settings.__dataclass_fields__["default_timezone"].default
    assert clock.zone_name(None) == clock.zone_name("") == default
    assert clock.zone_name("Asia/Urumqi") == "Asia/Urumqi"
    assert str(clock.zone()) == default


def test_pages_show_utc_instants_in_the_group_zone():
    at = datetime(2026, 1, 31, 16, 30)  # naive: UTC, as SQLite gives it back
    assert local_time(at) == "02-01 00:30"  # Asia/Shanghai is UTC+8: the next day
    assert local_time("2026-01-31T16:30:00+00:00", "%Y-%m-%d %H:%M") == "2026-02-01 00:30"  # a history's ISO text
    assert local_time(None) == ""


def test_a_mainland_mobile_is_spaced_for_reading_out_and_others_stay_as_they_are():
    assert spaced_phone("+8613912345678") == "+86 139 1234 5678"
    assert spaced_phone("+86 139 **** 5678") == "+86 139 **** 5678"
    assert spaced_phone(None) == ""
