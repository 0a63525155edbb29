"""Daily reports missed at the deadline are leads' word (issue 13): leads' daily job publishes
`leads.report.missed` once per consultant and owed day, and analytics' compliance counts those events
instead of re-deriving the weekday/18:00 rule; a day the manager reopens and the consultant then fills
in counts as late, no longer as missing."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.leads.bootstrap import publish_misses
from shared import clock
from tests.conftest import FrozenClock, store_id
from tests.leads.helpers import LEADS, events

SH = ZoneInfo("Asia/Shanghai")
PD = "sh-toyota-pd"


@pytest.fixture
def frozen_clock():
    yield FrozenClock()
    clock.reset()


def compliance(api, month: str) -> dict:
    r = api.get("/analytics/api/v1/compliance", as_="hq.admin", query_string={"month": month})
    assert r.status_code == 200, r.json
    return next(x for x in r.json["items"] if x["store_id"] == store_id(PD))


def travel(api, frozen_clock, platform, moment: datetime) -> None:
    frozen_clock.travel_to(moment)
    api._tokens.clear()  # signed in again on the moved clock
    platform.wait_until_consumed(timeout=120)


def missed(platform, day: str) -> list[str]:
    return sorted(e["data"]["consultant_id"] for e in events(platform, "leads.report.missed")
                  if e["store_id"] == store_id(PD) and e["data"]["day"] == day)


def test_misses_are_published_once_at_the_deadline_and_counted_by_analytics(api, frozen_clock, platform):
    day = clock.now().astimezone(SH).date() + timedelta(days=1)
    while day.weekday() >= 5:  # an owed day: a weekday after the consultants were first known
        day += timedelta(days=1)
    month, iso = day.strftime("%Y-%m"), day.isoformat()
    me = api.get("/identity/api/v1/auth/me", as_=f"{PD}.sales1").json["user_id"]
    late = api.get("/identity/api/v1/auth/me", as_=f"{PD}.sales2").json["user_id"]

    travel(api, frozen_clock, platform, datetime.combine(day, time(17, 0), SH))
    assert api.post(f"{LEADS}/reports", as_=f"{PD}.sales1", json={"day": iso}).status_code == 201
    assert missed(platform, iso) == []  # not before the deadline
    before = compliance(api, month)

    travel(api, frozen_clock, platform, datetime.combine(day, time(17, 59), SH))
    assert missed(platform, iso) == []  # still not: a minute before the deadline
    travel(api, frozen_clock, platform, datetime.combine(day, time(18, 0, 30), SH))
    who = missed(platform, iso)  # at the deadline, the same evening (not at midnight)
    assert who and me not in who and late in who
    after = compliance(api, month)
    assert after["reports_missing"] - before["reports_missing"] == len(who)
    assert publish_misses(platform.runtimes["leads"]) == 0  # once: the next run publishes nothing again

    # the manager reopens the day for sales2, who then fills it in: late, no longer missing
    r = api.post(f"{LEADS}/reports/reopenings", as_=f"{PD}.manager",
                 json={"day": iso, "consultant_id": late, "reason": "外出参加车展"})
    assert r.status_code == 201, r.json
    r = api.post(f"{LEADS}/reports", as_=f"{PD}.sales2", json={"day": iso})
    assert r.status_code == 201 and r.json["late"] is True
    platform.wait_until_consumed()
    final = compliance(api, month)
    assert final["reports_missing"] == after["reports_missing"] - 1
    assert final["reports_late"] == after["reports_late"] + 1
