"""Pure rules: cadence and overdue, purchase horizons, business hours and the SLA, report deadlines."""
from __future__ import annotations

from datetime import UTC, date, datetime, time

from services.leads.domain import GroupRules
from services.leads.domain.timing import (BusinessHours, expected_purchase_by, first_response, first_response_due,
                                        is_late, is_overdue, is_stale, next_follow_up_due, report_deadline)

SH = "Asia/Shanghai"
RULES = GroupRules()


def sh(y, mo, d, h=0, mi=0) -> datetime:
    """A Shanghai wall-clock time as an aware UTC datetime."""
    from zoneinfo import ZoneInfo

    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(SH)).astimezone(UTC)


MONDAY = (2026, 11, 16)


def test_a_level_lead_contacted_monday_is_due_thursday_and_overdue_after():
    due = next_follow_up_due(sh(*MONDAY, 10), RULES.cadence_for("A"), SH)
    assert due.due_on == date(2026, 11, 19) and due.due_on.weekday() == 3  # Thursday
    assert not is_overdue(due, sh(2026, 11, 19, 23, 59))
    assert is_overdue(due, sh(2026, 11, 20, 0, 0))


def test_default_cadence_follows_domain_md():
    contacted = sh(*MONDAY, 10)
    days = {lv: (next_follow_up_due(contacted, RULES.cadence_for(lv), SH).due_on - date(*MONDAY)).days
            for lv in ("N", "H", "A", "B", "C", "O")}
    assert days == {"N": 1, "H": 1, "A": 3, "B": 7, "C": 15, "O": 7}
    assert next_follow_up_due(contacted, RULES.cadence_for("delivered"), SH) is None


def test_changing_the_groups_cadence_changes_the_due_date():
    faster = GroupRules.from_dict({"cadence_days": {"A": 2}})
    assert next_follow_up_due(sh(*MONDAY, 10), faster.cadence_for("A"), SH).due_on == date(2026, 11, 18)
    assert faster.cadence_for("B") == 7  # the other levels keep their defaults


def test_due_date_counts_in_shanghai_days_not_utc_days():
    # 01:30 on Tuesday in Shanghai is still Monday in UTC: the contact counts for Tuesday
    contacted = sh(2026, 11, 17, 1, 30)
    assert contacted.date() == date(2026, 11, 16)
    due = next_follow_up_due(contacted, 3, SH)
    assert due.due_on == date(2026, 11, 20)
    # overdue from Saturday 00:00 Shanghai, which is Friday 16:00 UTC
    assert due.overdue_at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert not is_overdue(due, datetime(2026, 11, 20, 15, 59, tzinfo=UTC))
    assert is_overdue(due, datetime(2026, 11, 20, 16, 0, tzinfo=UTC))


def test_purchase_horizons():
    judged = date(2026, 11, 16)
    assert expected_purchase_by(judged, RULES.horizon_days["H"]) == date(2026, 11, 23)
    assert expected_purchase_by(judged, RULES.horizon_days["C"]) == date(2027, 5, 15)
    assert expected_purchase_by(judged, None) is None


def test_stale_after_the_configured_period():
    last = sh(2026, 10, 1, 10)
    assert not is_stale(last, sh(2026, 10, 30, 10), 30)
    assert is_stale(last, sh(2026, 10, 31, 10), 30)


HOURS = BusinessHours(time(9), time(18), SH)


def test_response_time_counts_business_hours_only():
    # an online lead at 17:55, called back at 09:05 the next morning: 10 business minutes
    fr = first_response(sh(*MONDAY, 17, 55), sh(2026, 11, 17, 9, 5), HOURS, 15)
    assert fr.seconds == 600 and fr.within_sla
    late = first_response(sh(*MONDAY, 10, 0), sh(*MONDAY, 10, 16), HOURS, 15)
    assert late.seconds == 960 and not late.within_sla


def test_sla_deadline_of_a_lead_arriving_at_night_is_next_morning():
    assert first_response_due(sh(*MONDAY, 22, 0), HOURS, 15) == sh(2026, 11, 17, 9, 15)
    assert first_response_due(sh(*MONDAY, 17, 50), HOURS, 15) == sh(2026, 11, 17, 9, 5)


def test_business_hours_are_a_group_setting():
    rules = GroupRules.from_dict({"open_at": "08:30", "close_at": "20:00", "sla_minutes": 30})
    hours = BusinessHours(rules.open_at, rules.close_at, SH)
    assert first_response_due(sh(*MONDAY, 8, 0), hours, rules.sla_minutes) == sh(*MONDAY, 9, 0)


def test_weekday_report_is_due_at_six_pm_weekend_by_monday_half_past_nine():
    assert report_deadline(date(2026, 11, 20), SH) == sh(2026, 11, 20, 18, 0)  # Friday
    assert report_deadline(date(2026, 11, 21), SH) == sh(2026, 11, 23, 9, 30)  # Saturday
    assert report_deadline(date(2026, 11, 22), SH) == sh(2026, 11, 23, 9, 30)  # Sunday
    assert not is_late(date(2026, 11, 20), sh(2026, 11, 20, 17, 59), SH)
    assert is_late(date(2026, 11, 20), sh(2026, 11, 20, 18, 1), SH)
    assert not is_late(date(2026, 11, 22), sh(2026, 11, 23, 9, 0), SH)
