"""Business dates outside 1900–2199 are refused at the edge instead of overflowing later."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from marshmallow import Schema, ValidationError

from shared.fields import AwareDateTime, Date


class Visit(Schema):
    day = Date()
    at = AwareDateTime()


@pytest.mark.parametrize("field, raw", [
    ("day", "9999-12-31"), ("day", "0001-01-01"), ("day", "1899-12-31"), ("day", "2200-01-01"),
    ("at", "9999-12-31T23:59:59+00:00"), ("at", "0001-01-01T00:00:00+08:00"), ("at", "2200-01-01T00:00:00Z"),
])
def test_a_date_a_dealer_never_records_is_a_field_error(field, raw):
    with pytest.raises(ValidationError) as exc:
        Visit().load({field: raw})
    assert list(exc.value.messages) == [field] and "between 1900-01-01 and 2199-12-31" in exc.value.messages[field][0]


def test_the_bounds_themselves_can_be_shifted_a_day_and_a_time_zone_either_way():
    v = Visit().load({"day": "1900-01-01", "at": "2199-12-31T23:59:59+14:00"})
    assert v["day"] == date(1900, 1, 1) and v["day"] - timedelta(days=1)
    assert (v["at"] + timedelta(days=7)).astimezone(UTC) > datetime(2199, 12, 31, tzinfo=UTC)


def test_instants_still_need_their_offset():
    with pytest.raises(ValidationError):
        Visit().load({"at": "2026-11-30T10:00:00"})


def test_a_day_range_is_at_most_92_days_and_not_backwards():
    from shared.fields import DayRange

    assert DayRange().load({"from": "2026-01-01", "to": "2026-04-02"}) == {
        "day_from": date(2026, 1, 1), "day_to": date(2026, 4, 2)}  # 92 days, both counted
    for to, why in (("2026-04-03", "at most 92 days at a time"), ("2025-12-31", "to is before from")):
        with pytest.raises(ValidationError) as exc:
            DayRange().load({"from": "2026-01-01", "to": to})
        assert exc.value.messages == {"to": [why]}
