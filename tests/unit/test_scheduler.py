"""The worker's scheduler of daily jobs: once per local day, again after a failure, today's at once after a downtime."""
from __future__ import annotations

from datetime import date, timedelta

from shared.service import DailyJob, Scheduler


class Day:
    def __init__(self, day: date):
        self.day = day

    def __call__(self) -> date:
        return self.day


def test_a_daily_job_runs_once_per_local_day_and_again_when_the_day_changes():
    today, ran = Day(date(2026, 11, 30)), []
    scheduler = Scheduler([DailyJob("test", today, ran.append)])
    assert scheduler.pending()
    assert scheduler.run_once() == 1 and scheduler.run_once() == 0
    assert not scheduler.pending()
    today.day += timedelta(days=3)  # the worker was down for two days: today's run at once, no backlog of runs
    assert scheduler.pending() and scheduler.run_once() == 1 and scheduler.run_once() == 0
    assert ran == [date(2026, 11, 30), date(2026, 12, 3)]


def test_a_failed_daily_job_is_tried_again_a_minute_later_and_others_still_run(monkeypatch):
    import shared.service as service

    moment = [1000.0]
    monkeypatch.setattr(service.time, "monotonic", lambda: moment[0])
    today, calls, other = Day(date(2026, 11, 30)), [], []

    def flaky(day: date) -> None:
        calls.append(day)
        if len(calls) == 1:
            raise RuntimeError("database away")

    scheduler = Scheduler([DailyJob("flaky", today, flaky), DailyJob("other", today, other.append)])
    assert scheduler.run_once() == 1 and other == [today.day]  # the failure does not hold the other job back
    assert scheduler.pending()
    moment[0] += 30
    assert scheduler.run_once() == 0 and len(calls) == 1  # not before a minute has passed
    moment[0] += 31
    assert scheduler.run_once() == 1 and len(calls) == 2 and not scheduler.pending()
