"""Daily jobs: each group's run once per local day of the group, from a local time of day, remembered in
the service's own database.

A service declares its jobs (`ServiceRuntime(daily={name: job})`): a job is `run(runtime, group_id, day)`,
or `Daily(run, at=time(18, 0))` to be due from a local time other than midnight. The service's worker
runs the `Scheduler` in a thread of its own:

- **Per group, in the group's zone.** The groups are the service's `known_groups` (learnt from
  `identity.group.created`, which carries the group's time zone; a group known from before the zone was
  kept counts in the platform's default zone). Day D of a group is due once it is `at` on D in the
  group's zone: a group in Urumqi gets its midnight run two hours after one in Shanghai.
- **Persisted.** The last day run per job and group is a row of the service's `job_runs` table,
  written in the same transaction as the job's work: the scheduler opens
  `Database.enclosing(Scope.system(group_id))`, so the job's own `rt.db.session(Scope.system(group_id))`
  blocks join it, and the job's effects and its row commit together or not at all. A restart on the
  same day runs nothing again; two workers of one service do not both run a day (the row is claimed
  with a conditional update first; the second waits for the first's commit, then finds the day taken).
- **Catching up.** A worker that was down runs each day it missed, oldest first, up to `CATCH_UP` days
  back (a group never run before starts with its current day). A failed run is rolled back and tried
  again a minute later; the other groups and jobs still run.

No library: APScheduler and the like keep a schedule in one zone per trigger; this is one loop over a
small table.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from datetime import date, datetime, timedelta
from datetime import time as dtime

from sqlalchemy import Column, CursorResult, Date, MetaData, String, Table, select, update

from shared import clock
from shared.bus.tables import KNOWN_GROUPS_CHANNEL
from shared.db import Database, UTCDateTime, utcnow
from shared.tenancy import Scope
from shared.wake import commits_notifying

log = logging.getLogger(__name__)

#: how many missed days a job catches up after a downtime (older ones are not run on their own)
CATCH_UP = 7
#: seconds between the loop's looks at what is due: a day's run starts within this of its time (or of a
#: new group's arrival, read every `GROUPS_EVERY`); a look costs no query, but five a second in every
#: worker were a visible part of an idle worker's CPU
INTERVAL = 1.0
MIDNIGHT = dtime(0, 0)


def job_runs_table(metadata: MetaData) -> Table:
    """`job_runs` on a service's metadata: the last local day each daily job ran for each group."""
    return Table(
        "job_runs",
        metadata,
        Column("job", String(60), primary_key=True),
        Column("group_id", String(36), primary_key=True),
        Column("day", Date, nullable=False),
        Column("ran_at", UTCDateTime(), nullable=False),
        info={"owned_by": "group"},  # row-level security by group, as every table with a group_id (shared.rls)
    )


@dataclass(frozen=True)
class Daily:
    """A daily job as a service declares it: `run(runtime, group_id, day)`, due from `at` (local time)."""

    run: Callable[..., object]
    at: dtime = MIDNIGHT


@dataclass
class DailyJob:
    """A job bound to its runtime: `run(group_id, day)` once per group and local day, from `at`."""

    name: str
    run: Callable[[str, date], object]
    at: dtime = MIDNIGHT


def due_day(now: datetime, zone: str, at: dtime = MIDNIGHT) -> date:
    """The latest local day whose `at` has passed at `now` in `zone`."""
    local = now.astimezone(clock.zone(zone))
    return local.date() if local.time() >= at else local.date() - timedelta(days=1)


@dataclass
class _State:
    last: dict[tuple[str, str], date] = field(default_factory=dict)  # (job, group) → last day run
    next_try: dict[tuple[str, str], float] = field(default_factory=dict)  # after a failure (monotonic)


class Scheduler:
    """The worker's loop over its service's daily jobs (see the module's docstring)."""

    RETRY = 60.0
    #: the known groups are read again when this process's consumer has recorded a new one (a commit that
    #: notified `KNOWN_GROUPS_CHANNEL`) and, for one recorded by another replica's consumer, every
    #: `GROUPS_EVERY` seconds (was every 5 s: an idle worker's only database commits)
    GROUPS_EVERY = 300.0

    def __init__(self, jobs: list[DailyJob], db: Database | None, runs: Table | None, known_groups: Table | None,
                 default_zone: str | None = None, interval: float = INTERVAL, catch_up: int = CATCH_UP):
        self.jobs, self.db, self.runs, self.known = jobs, db, runs, known_groups
        self.default_zone = clock.zone_name(default_zone)
        self.interval, self.catch_up = interval, catch_up
        self._state: _State | None = None
        self._groups: list[tuple[str, str]] = []
        self._groups_read = float("-inf")
        self._groups_seen = -1  # `commits_notifying(…, KNOWN_GROUPS_CHANNEL)` at the last read
        self._stop = threading.Event()
        self._lock = threading.Lock()

    # --- what is stored ---

    def _load(self) -> _State:
        with self._lock:  # the worker's loop and the embedded platform's settled check may both ask first
            return self._read_state()

    def _read_state(self) -> _State:
        if self._state is None:
            state = _State()
            if self.jobs and self.db is not None and self.runs is not None:
                with self.db.reading(Scope.system()) as s:
                    for job, gid, day in s.execute(select(self.runs.c.job, self.runs.c.group_id, self.runs.c.day)):
                        state.last[(job, gid)] = day
            self._state = state
        return self._state

    def groups(self, refresh: bool = False) -> list[tuple[str, str]]:
        """(group id, time zone) of every group the service knows, read again once a new one is recorded
        in this process, and every `GROUPS_EVERY` seconds."""
        if self.db is None or self.known is None:
            return []
        seen = commits_notifying(self.db.engine, KNOWN_GROUPS_CHANNEL)
        if refresh or seen != self._groups_seen or time.monotonic() - self._groups_read >= self.GROUPS_EVERY:
            with self.db.reading(Scope.system()) as s:  # ends with ROLLBACK: no commit while idle
                rows = s.execute(select(self.known.c.group_id, self.known.c.timezone).order_by(self.known.c.group_id))
                self._groups = [(gid, tz or self.default_zone) for gid, tz in rows]
            self._groups_read, self._groups_seen = time.monotonic(), seen
        return self._groups

    def _claim(self, job: str, gid: str, day: date) -> bool:
        """Record `day` as run, inside the open unit of work; False when it is run already (by another
        worker: on PostgreSQL the update waits for that worker's commit, then finds the day taken)."""
        assert self.runs is not None and self.db is not None
        runs = self.runs
        with self.db.session(Scope.system(gid)) as s:
            moved: CursorResult = s.execute(update(runs).where(runs.c.job == job, runs.c.group_id == gid, runs.c.day < day)
                              .values(day=day, ran_at=utcnow()))  # type: ignore[assignment]
            if moved.rowcount:
                return True
            if s.execute(select(runs.c.day).where(runs.c.job == job, runs.c.group_id == gid)).first() is not None:
                return False
            # the first run for this group (two workers at once: one insert fails, its run is retried)
            s.execute(runs.insert().values(job=job, group_id=gid, day=day, ran_at=utcnow()))
            return True

    # --- the loop ---

    def days_due(self, job: DailyJob, gid: str, zone: str, now: datetime | None = None) -> list[date]:
        """The days `job` has yet to run for group `gid`, oldest first."""
        today = due_day(now or clock.now(), zone, job.at)
        last = self._load().last.get((job.name, gid))
        if last is None:
            return [today]
        first = max(last + timedelta(days=1), today - timedelta(days=self.catch_up - 1))
        return [first + timedelta(days=n) for n in range((today - first).days + 1)]

    def pending(self) -> bool:
        """Some group's run of some job is due and not done (as far as this worker knows)."""
        now = clock.now()
        return any(self.days_due(job, gid, zone, now) for job in self.jobs for gid, zone in self.groups())

    def run_once(self) -> int:
        """Run every job's due days for every group; returns how many runs succeeded."""
        if not self.jobs:
            return 0
        state, ran, now = self._load(), 0, clock.now()
        for job in self.jobs:
            for gid, zone in self.groups():
                key = (job.name, gid)
                if time.monotonic() < state.next_try.get(key, 0.0):
                    continue
                for day in self.days_due(job, gid, zone, now):
                    done = self._run(job, gid, day)
                    if done is None:
                        break
                    ran += done
        return ran

    def _run(self, job: DailyJob, gid: str, day: date) -> bool | None:
        """Run `job` for `gid` and `day`: True when it ran, False when the day was taken, None on failure."""
        state = self._load()
        key = (job.name, gid)
        try:
            assert self.db is not None
            with self.db.enclosing(Scope.system(gid)):
                claimed = self._claim(job.name, gid, day)
                if claimed:
                    job.run(gid, day)
                else:
                    log.info("%s: %s for group %s was run by another worker", job.name, day, gid)
        except Exception:  # rolled back, the day's row with it: tried again a minute later
            state.next_try[key] = time.monotonic() + self.RETRY
            log.exception("%s: daily job for group %s, %s, failed", job.name, gid, day)
            return None
        state.last[key], state.next_try[key] = day, 0.0
        return claimed

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the database is away: the loop goes on
                log.exception("daily jobs: scheduler pass failed")
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def bind(runtime: object, daily: Iterable[tuple[str, Callable[..., object] | Daily]]) -> list[DailyJob]:
    """The runtime's jobs from `ServiceRuntime(daily=…)`: a plain function is due from local midnight."""
    jobs = []
    for name, spec in daily:
        job = spec if isinstance(spec, Daily) else Daily(spec)
        jobs.append(DailyJob(name, partial(_call, job.run, runtime), job.at))
    return jobs


def _call(run: Callable[..., object], runtime: object, group_id: str, day: date) -> object:
    return run(runtime, group_id, day)
