"""The worker's scheduler of daily jobs (shared.scheduler): once per group and local day of the group, remembered
in the service's database (a restart runs nothing twice, a downtime is caught up), at a local time of day, a
failed run rolled back with its row and tried again a minute later.

The clock is the platform's movable clock (`shared.clock.freeze`), the database a SQLite file with a service's
bus tables (`known_groups`, `job_runs`): no sleeping, no mock of the database."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import String, event, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from shared import clock
from shared.bus.consumer import Applier, EventHandlers
from shared.bus.tables import bus_tables, known_groups_of
from shared.db import Database, id_column, make_base, utcnow
from shared.events import Event
from shared.scheduler import CATCH_UP, DailyJob, Scheduler, due_day
from shared.tenancy import Scope, Scoped

Base = make_base()
OUTBOX, INBOX = bus_tables(Base.metadata)
KNOWN, RUNS = known_groups_of(INBOX), Base.metadata.tables["job_runs"]


class Mark(Scoped, Base):
    """What a job writes: one row per run, in the group's scope."""

    __tablename__ = "marks"
    id: Mapped[str] = id_column()
    job: Mapped[str] = mapped_column(String(20))
    day: Mapped[str] = mapped_column(String(10))


@pytest.fixture
def db(tmp_path):
    d = Database(f"sqlite:///{tmp_path / 'jobs.sqlite'}", [Mark])
    Base.metadata.create_all(d.engine)
    with d.session(Scope.system()) as s:
        s.execute(insert(KNOWN), [{"group_id": "sh", "known_at": utcnow(), "timezone": "Asia/Shanghai"},
                                  {"group_id": "be", "known_at": utcnow(), "timezone": "Europe/Berlin"}])
    yield d
    d.engine.dispose()


@pytest.fixture
def at():
    """Move the platform clock: `at(datetime)` freezes it there (UTC)."""
    yield lambda moment: clock.freeze(moment)
    clock.reset()


def marking(db: Database, name: str, fail: set | None = None):
    """A job that writes a `Mark` in the group's scope (joining the scheduler's unit of work), and raises
    after writing it for the (group, day) pairs in `fail`."""

    def run(group_id: str, day: date) -> None:
        with db.session(Scope.system(group_id)) as s:
            s.add(Mark(group_id=group_id, job=name, day=day.isoformat()))
        if fail and (group_id, day) in fail:
            raise RuntimeError("database away")

    return DailyJob(name, run)


def marks(db: Database, group_id: str | None = None) -> list[tuple[str, str, str]]:
    with db.session(Scope.system()) as s:
        q = select(Mark.group_id, Mark.job, Mark.day).order_by(Mark.group_id, Mark.day)
        if group_id:
            q = q.where(Mark.group_id == group_id)
        return [tuple(r) for r in s.execute(q)]


def scheduler(db: Database, *jobs: DailyJob) -> Scheduler:
    """A worker's scheduler, as `ServiceRuntime.scheduler()` builds it (a new one is a restarted worker)."""
    return Scheduler(list(jobs), db, RUNS, KNOWN, "Asia/Shanghai")


def test_a_restart_on_the_same_day_runs_nothing_again(db, at):
    at(datetime(2026, 11, 30, 4, tzinfo=UTC))  # noon in Shanghai, 05:00 in Berlin
    first = scheduler(db, marking(db, "care"))
    assert first.run_once() == 2 and first.run_once() == 0
    assert marks(db) == [("be", "care", "2026-11-30"), ("sh", "care", "2026-11-30")]
    restarted = scheduler(db, marking(db, "care"))  # the worker process restarts: memory is gone
    assert not restarted.pending()
    assert restarted.run_once() == 0
    assert len(marks(db)) == 2
    with db.session(Scope.system()) as s:
        assert {g: d for g, d in s.execute(select(RUNS.c.group_id, RUNS.c.day))} == {"sh": date(2026, 11, 30),
                                                                        "be": date(2026, 11, 30)}


def test_a_restart_after_missed_days_catches_each_day_up_oldest_first(db, at):
    at(datetime(2026, 11, 30, 4, tzinfo=UTC))
    assert scheduler(db, marking(db, "care")).run_once() == 2
    at(datetime(2026, 12, 3, 4, tzinfo=UTC))  # the worker was down for 1 and 2 December
    restarted = scheduler(db, marking(db, "care"))
    assert restarted.run_once() == 6 and restarted.run_once() == 0
    assert [d for _, _, d in marks(db, "sh")] == ["2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"]
    at(datetime(2027, 1, 30, 4, tzinfo=UTC))  # down for two months: only the last CATCH_UP days are run
    again = scheduler(db, marking(db, "care"))
    assert again.run_once() == 2 * CATCH_UP
    assert [d for _, _, d in marks(db, "sh")][-CATCH_UP:] == [
        (date(2027, 1, 30) - timedelta(days=n)).isoformat() for n in range(CATCH_UP - 1, -1, -1)]


def test_each_group_runs_at_its_own_local_midnight(db, at):
    s = scheduler(db, marking(db, "care"))
    at(datetime(2026, 11, 30, 15, 59, tzinfo=UTC))  # 23:59 in Shanghai, 16:59 in Berlin
    assert s.run_once() == 2
    at(datetime(2026, 11, 30, 16, 0, tzinfo=UTC))  # midnight in Shanghai: 1 December there, not in Berlin
    assert s.pending() and s.run_once() == 1
    assert marks(db, "sh")[-1] == ("sh", "care", "2026-12-01") and marks(db, "be")[-1][2] == "2026-11-30"
    at(datetime(2026, 11, 30, 22, 59, tzinfo=UTC))  # 23:59 in Berlin: nothing yet
    assert s.run_once() == 0 and not s.pending()
    at(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))  # Berlin's midnight
    assert s.run_once() == 1 and marks(db, "be")[-1] == ("be", "care", "2026-12-01")


def test_a_job_at_a_local_time_of_day_runs_when_each_groups_clock_passes_it(db, at):
    job = marking(db, "deadline")
    job.at = time(18, 0)  # as `Daily(run, at=time(18, 0))` declares it
    s = scheduler(db, job)
    at(datetime(2026, 11, 30, 9, 59, tzinfo=UTC))  # 17:59 in Shanghai, 10:59 in Berlin: both still on the 29th
    assert s.run_once() == 2
    assert {d for _, _, d in marks(db)} == {"2026-11-29"}
    at(datetime(2026, 11, 30, 10, 0, tzinfo=UTC))  # 18:00 in Shanghai
    assert s.run_once() == 1 and marks(db, "sh")[-1][2] == "2026-11-30"
    at(datetime(2026, 11, 30, 16, 59, tzinfo=UTC))  # 17:59 in Berlin
    assert s.run_once() == 0
    at(datetime(2026, 11, 30, 17, 0, tzinfo=UTC))  # 18:00 in Berlin
    assert s.run_once() == 1 and marks(db, "be")[-1][2] == "2026-11-30"
    assert due_day(datetime(2026, 11, 30, 17, 0, tzinfo=UTC), "Europe/Berlin", time(18, 0)) == date(2026, 11, 30)


def test_a_failed_run_is_rolled_back_with_its_row_and_tried_again_a_minute_later(db, at, monkeypatch):
    import shared.scheduler as scheduling

    moment = [1000.0]
    monkeypatch.setattr(scheduling.time, "monotonic", lambda: moment[0])
    at(datetime(2026, 11, 30, 4, tzinfo=UTC))
    fail = {("sh", date(2026, 11, 30))}
    s = scheduler(db, marking(db, "care", fail), marking(db, "other"))
    assert s.run_once() == 3  # Shanghai's care run failed; Berlin's and the other job's runs did not wait for it
    assert ("sh", "care", "2026-11-30") not in marks(db)  # what the failed run wrote is rolled back
    with db.session(Scope.system()) as s_:
        assert s_.scalar(select(func.count()).select_from(RUNS).where(RUNS.c.group_id == "sh",
                                                                       RUNS.c.job == "care")) == 0
    assert s.pending()
    fail.clear()
    moment[0] += 30
    assert s.run_once() == 0  # not before a minute has passed
    moment[0] += 31
    assert s.run_once() == 1 and ("sh", "care", "2026-11-30") in marks(db) and not s.pending()


def test_two_workers_of_one_service_do_not_both_run_a_day(db, at):
    at(datetime(2026, 11, 30, 4, tzinfo=UTC))
    one, two = scheduler(db, marking(db, "care")), scheduler(db, marking(db, "care"))
    assert two.pending()  # the second worker has read the runs: none yet
    assert one.run_once() == 2
    assert two.run_once() == 0  # it finds each day taken when it claims it …
    assert len(marks(db)) == 2  # … and does not run the job
    assert not two.pending()


def test_a_new_group_learnt_from_identity_keeps_its_time_zone_for_the_jobs(db, at):
    applier = Applier(db, INBOX, EventHandlers("test"))
    applier.apply(Event(type="identity.group.created", group_id="ur", data={
        "id": "ur", "code": "xj", "name": "新疆汽车集团", "timezone": "Asia/Urumqi"}))
    s = scheduler(db, marking(db, "care"))
    assert ("ur", "Asia/Urumqi") in s.groups(refresh=True)
    at(datetime(2026, 11, 30, 17, 59, tzinfo=UTC))  # 01:59 on 1 December in Shanghai, 23:59 on the 30th in Urumqi
    s.run_once()
    assert marks(db, "ur") == [("ur", "care", "2026-11-30")] and marks(db, "sh")[-1][2] == "2026-12-01"


def test_a_group_recorded_by_the_workers_consumer_is_scheduled_at_once_and_an_idle_scheduler_reads_nothing(db, at):
    """The scheduler keeps its copy of the known groups until its own consumer records a new one (the
    slow fallback read is for another replica's): an idle worker does not read them on every turn."""
    at(datetime(2026, 11, 30, 4, tzinfo=UTC))
    s = scheduler(db, marking(db, "care"))
    assert s.run_once() == 2  # sh and be
    reads: list[str] = []

    def read(conn, cursor, statement, *rest) -> None:
        reads.append(statement)

    event.listen(db.engine, "before_cursor_execute", read)
    try:
        for _ in range(50):  # fifty turns of the worker's loop with nothing new: no statement at all
            assert s.run_once() == 0
        assert reads == []
        Applier(db, INBOX, EventHandlers("test")).apply(Event(type="identity.group.created", group_id="ur", data={
            "id": "ur", "code": "xj", "name": "新疆汽车集团", "timezone": "Asia/Urumqi"}))
        assert s.run_once() == 1  # the next turn, long before the fallback read
    finally:
        event.remove(db.engine, "before_cursor_execute", read)
    assert marks(db, "ur") == [("ur", "care", "2026-11-30")]  # 10:00 on the 30th in Urumqi


def test_a_group_known_from_before_time_zones_were_kept_runs_in_the_default_zone(db):
    with db.session(Scope.system()) as s:
        s.execute(insert(KNOWN).values(group_id="old", known_at=utcnow(), timezone=None))
    assert ("old", "Asia/Shanghai") in scheduler(db).groups(refresh=True)


def test_the_services_worker_runs_its_daily_jobs_and_queued_commands_in_threads_of_their_own(db, at):
    import threading
    from types import SimpleNamespace

    from sqlalchemy.orm import Session

    from shared.service import Worker
    from shared.wake import notify
    from tests.conftest import wait_until

    class IdleRelay:
        def __init__(self):
            self.stopped = threading.Event()

        def run_forever(self):
            self.stopped.wait()

        def stop(self):
            self.stopped.set()

    class Queue:
        channel = "test_queue"

        def __init__(self, jobs: int):
            self.left, self.done = jobs, 0

        def due_in(self) -> None:
            return None

        def run_once(self) -> bool:
            if not self.left:
                return False
            self.left, self.done = self.left - 1, self.done + 1
            return True

    at(datetime(2026, 11, 30, 4, tzinfo=UTC))
    queue = Queue(3)
    runtime = SimpleNamespace(name="test", relay=IdleRelay, consumer=lambda: None, db=db,
                              scheduler=lambda: scheduler(db, marking(db, "care")), queues=[queue])
    worker = Worker(runtime).start()
    try:
        assert {t.name for t in worker.threads} == {"test-relay", "test-scheduler", "test-commands"}
        assert wait_until(lambda: len(marks(db)) == 2 and queue.done == 3, 60)
        at(datetime(2026, 12, 1, 4, tzinfo=UTC))  # the next day: its runs follow at once
        assert wait_until(lambda: {d for _, _, d in marks(db)} == {"2026-11-30", "2026-12-01"}, 60)
        queue.left = 2  # a command queued later (a commit notifying its channel) is taken without a restart
        with Session(db.engine) as s:
            notify(s, Queue.channel)
            s.commit()
        assert wait_until(lambda: queue.done == 5, 60)
    finally:
        worker.stop()
    assert not any(t.is_alive() for t in worker.threads)


@pytest.mark.postgres
def test_on_postgresql_a_second_worker_waits_for_the_first_and_finds_the_day_taken(pg_url, at):
    """Two workers at the same moment: the second's claim waits on the first's row until it commits."""
    import threading

    d = Database(pg_url, [Mark])
    Base.metadata.create_all(d.engine)
    try:
        with d.session(Scope.system()) as s:
            s.execute(insert(KNOWN).values(group_id="sh", known_at=utcnow(), timezone="Asia/Shanghai"))
        at(datetime(2026, 11, 30, 4, tzinfo=UTC))
        assert scheduler(d, marking(d, "care")).run_once() == 1
        at(datetime(2026, 12, 1, 4, tzinfo=UTC))
        inside, release = threading.Event(), threading.Event()
        mark = marking(d, "care").run

        def held(group_id: str, day: date) -> None:
            mark(group_id, day)
            inside.set()  # the day is claimed, its row locked until this unit of work commits
            assert release.wait(60)

        first_job = DailyJob("care", held)
        first, second, results = scheduler(d, first_job), scheduler(d, marking(d, "care")), {}
        t1 = threading.Thread(target=lambda: results.setdefault("first", first.run_once()))
        t1.start()
        assert inside.wait(60)  # the first worker has claimed 1 December and is running the job
        t2 = threading.Thread(target=lambda: results.setdefault("second", second.run_once()))
        t2.start()
        release.set()
        t1.join(60)
        t2.join(60)
        assert results == {"first": 1, "second": 0}
        assert [m for m in marks(d) if m[2] == "2026-12-01"] == [("sh", "care", "2026-12-01")]
    finally:
        d.engine.dispose()
