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


def test_the_services_worker_runs_its_daily_jobs_and_queued_commands_in_threads_of_their_own():
    import threading
    from types import SimpleNamespace

    from shared.service import Worker
    from tests.conftest import wait_until

    class IdleRelay:
        def __init__(self):
            self.stopped = threading.Event()

        def run_forever(self):
            self.stopped.wait()

        def stop(self):
            self.stopped.set()

    class Queue:
        def __init__(self, jobs: int):
            self.left, self.done = jobs, 0

        def run_once(self) -> bool:
            if not self.left:
                return False
            self.left, self.done = self.left - 1, self.done + 1
            return True

    today, ran, queue = Day(date(2026, 11, 30)), [], Queue(3)
    runtime = SimpleNamespace(name="test", relay=IdleRelay, consumer=lambda: None,
                              daily_jobs=[DailyJob("test", today, ran.append)], queues=[queue])
    worker = Worker(runtime).start()
    try:
        assert {t.name for t in worker.threads} == {"test-relay", "test-scheduler", "test-commands"}
        assert wait_until(lambda: ran == [date(2026, 11, 30)] and queue.done == 3, 10)
        today.day += timedelta(days=1)  # midnight: the next day's run follows at once
        assert wait_until(lambda: ran == [date(2026, 11, 30), date(2026, 12, 1)], 10)
        queue.left = 2  # a command queued later is taken without a restart
        assert wait_until(lambda: queue.done == 5, 10)
    finally:
        worker.stop()
    assert not any(t.is_alive() for t in worker.threads)
