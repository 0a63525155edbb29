"""A service's runtime: settings, database with scoping and outbox, migrations, bus worker."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from datetime import date
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import NullPool, Table, create_engine, make_url
from sqlalchemy.orm import Session

from shared import clock, config, rls
from shared.auth import ensure_keypair
from shared.bus.consumer import Applier, EventConsumer, EventHandlers
from shared.bus.outbox import install_outbox
from shared.bus.publisher import Publisher
from shared.bus.relay import Relay
from shared.bus.topology import connect, declare
from shared.db import Database, read_only
from shared.sessions import MIGRATIONS as SESSION_MIGRATIONS
from shared.sessions import SessionCheck, StateReader, session_table, stored_state, with_session_copy
from shared.migrations import grant_app_role
from shared.tenancy import NO_GROUP, Scope
from shared.uow import MessageBus, UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class DailyJob:
    """A job its service's worker runs once per local day (`today()` says which day it is); the job is
    idempotent, so running it again after a failure or a restart does no harm."""

    name: str
    today: Callable[[], date]
    run: Callable[[date], object]
    last_day: date | None = None
    next_try: float = 0.0

    def pending(self) -> bool:
        """Today's run has not succeeded yet."""
        return self.last_day != self.today()


class Scheduler:
    """The worker's loop over its service's daily jobs (a tiny loop: a library would add nothing).

    A job runs as soon as its local day changes, once per day; a failed run is tried again a minute
    later; a worker started after a downtime runs today's at once, and each job covers the days it
    missed within its own windows (the care run publishes what is due and not yet sent: maintenance
    60 days back, lapsed policies, birthdays within their notice days; the compaction folds 35 days).
    The last run day is kept in memory, not in the database: a restart runs today's again (the jobs
    are idempotent), and a day missed beyond those windows is not run on its own."""

    RETRY = 60.0

    def __init__(self, jobs: list[DailyJob], interval: float = 0.2):
        self.jobs, self.interval = jobs, interval
        self._stop = threading.Event()

    def pending(self) -> bool:
        return any(job.pending() for job in self.jobs)

    def run_once(self) -> int:
        """Run the jobs that are due now, one after the other; returns how many ran successfully."""
        ran = 0
        for job in self.jobs:
            today = job.today()
            if job.last_day == today or time.monotonic() < job.next_try:
                continue
            try:
                job.run(today)
            except Exception:  # tried again a minute later
                job.next_try = time.monotonic() + self.RETRY
                log.exception("%s: daily job failed", job.name)
            else:
                job.last_day, job.next_try = today, 0.0
                ran += 1
        return ran

    def run_forever(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


class WorkQueue(Protocol):
    """Queued commands a worker runs (e.g. leads' imports): `run_once` does one step of one command
    (one chunk, committed) and says whether it found work."""

    def run_once(self) -> bool: ...


class Commands:
    """The worker's loop over its service's work queues: steps while there is work, else polls."""

    def __init__(self, name: str, queues: list[WorkQueue], idle: float = 0.5):
        self.name, self.queues, self.idle = name, queues, idle
        self._stop = threading.Event()

    def run_once(self) -> bool:
        busy = False
        for q in self.queues:
            try:
                busy = q.run_once() or busy
            except Exception:  # a queue's own errors are its commands' (marked failed); this is the database
                log.exception("%s: work queue failed", self.name)
        return busy

    def run_forever(self) -> None:
        while not self._stop.is_set():
            if not self.run_once():
                self._stop.wait(self.idle)

    def stop(self) -> None:
        self._stop.set()


#: a service's daily job: given its runtime and the local day
DailyRun = Callable[["ServiceRuntime", date], object]


class ServiceRuntime:
    """Everything one service needs at run time, built from its settings (the only wiring point).

    Session validity (`shared.sessions`): unless the service reads its users' token versions itself
    (`session_state`, identity), the runtime gives it the `session_versions` table, its migration and
    the handler of identity's user events that keeps it; `sessions` is what the request
    authentication asks. `uow_extras` become attributes of every unit of work (e.g. identity's
    `signer`, customers' `pii`).

    A service's extras are constructor arguments, not subclasses: `daily` (name → `run(runtime, day)`,
    run once per local day by the worker's scheduler), `queues` (factories of the worker's queued
    commands), `relay` (a factory of its outbox relay, e.g. identity's, which also sends notices) and
    `session_info` (values every session carries in `session.info`).
    """

    def __init__(
        self,
        settings: config.Settings,
        base,
        outbox: Table,
        inbox: Table,
        service_dir: Path,
        handlers: EventHandlers | None = None,
        bus: MessageBus | None = None,
        session_state: StateReader | None = None,
        daily: Mapping[str, DailyRun] | None = None,
        queues: Sequence[Callable[[ServiceRuntime], WorkQueue]] = (),
        relay: Callable[[ServiceRuntime], Relay] | None = None,
        session_info: Mapping[str, object] | None = None,
        **uow_extras,
    ):
        self.settings = settings
        self.name = settings.service
        self.base, self.outbox, self.inbox = base, outbox, inbox
        self.service_dir = service_dir
        self.session_versions: Table | None = None
        if session_state is None:
            self.session_versions = session_table(base.metadata)
            session_state = stored_state(self.session_versions)
            handlers = with_session_copy(handlers, self.name, self.session_versions)
        self.handlers = handlers
        if settings.embedded and settings.jwt_private_key_file is not None:  # embedded mode always sets it
            ensure_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file)
        models = [m.class_ for m in base.registry.mappers]
        self.db = Database(settings.database_url, models)
        if session_info:  # e.g. customers' PII keys, read by its models' hooks
            self.db.factory.kw.setdefault("info", {}).update(session_info)
        install_outbox(self.db.factory, outbox)
        self.sessions = SessionCheck(self.db.engine, session_state)
        self.bus = bus or MessageBus()
        self.uow_extras = {"settings": settings, **uow_extras}
        #: run by the service's worker (`Worker`): daily jobs on its scheduler, queued commands
        self.daily_jobs = [DailyJob(name, self.local_today, partial(run, self)) for name, run in (daily or {}).items()]
        self.queues: list[WorkQueue] = [make(self) for make in queues]
        self._relay = relay

    def uow(self, scope: Scope) -> UnitOfWork:
        """A unit of work on this service's database: nothing is saved unless `commit()` is called."""
        return UnitOfWork(self.db.factory, scope, self.bus, **self.uow_extras)

    def scope_of_unsigned(self, group_of: Callable[[Session], str | None]) -> Scope:
        """The scope of a caller who is not signed in (the login form, a customer's survey link): the one
        group `group_of` finds for what the caller brought (a group code, a link's token), looked up in a
        session that sees every group and writes nothing. A caller whose group is not found gets a scope
        that sees no group's rows. The only way an entrypoint without a signed-in caller gets a scope;
        the handlers it calls take it as given."""
        with read_only(), self.db.session(Scope.system()) as s:
            group_id = group_of(s)
        return Scope.system(group_id or NO_GROUP)

    def local_today(self) -> date:
        """Today in the platform's default time zone (daily jobs run once per local day)."""
        return clock.now().astimezone(ZoneInfo(self.settings.default_timezone)).date()

    def alembic_config(self) -> Config:
        cfg = Config()
        url = self.settings.migrate_database_url or self.settings.database_url
        cfg.set_main_option("script_location", str(self.service_dir / "migrations"))
        locations = [self.service_dir / "migrations" / "versions"]
        if self.session_versions is not None:  # a branch of its own, the same revision in every service
            locations.append(SESSION_MIGRATIONS)
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        cfg.attributes["service"] = self.name
        return cfg

    def own_head(self) -> str:
        """The head of the service's own history (beside it runs the shared `sessions` branch)."""
        script = ScriptDirectory.from_config(self.alembic_config())
        heads = [h for h in script.get_heads() if "sessions" not in script.get_revision(h).branch_labels]
        if len(heads) != 1:
            raise RuntimeError(f"{self.name}: expected one head of its own history, found {heads}")
        return heads[0]

    def migrate(self) -> None:
        """Bring this service's database to the newest Alembic revision, as the owner of its tables
        (`migrate_database_url`), then let the service's own role, if another, use them."""
        owner_url = self.settings.migrate_database_url
        engine = self.db.engine if owner_url is None else create_engine(owner_url, poolclass=NullPool)
        app_role = make_url(self.settings.database_url).username
        try:
            with engine.begin() as conn:
                cfg = self.alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
                if owner_url is not None and app_role is not None and conn.dialect.name == "postgresql" \
                        and app_role != make_url(owner_url).username:
                    grant_app_role(conn, app_role)
        finally:
            if engine is not self.db.engine:
                engine.dispose()

    def refuse_unsafe_role(self) -> None:
        """Production: the APIs and workers must not run as a role above the row-level-security
        policies (a superuser, or the owner of the tables); see shared.rls.check_role."""
        if not self.settings.embedded and not self.settings.allow_owner_role:
            rls.check_role(self.db.engine)

    def declare_topology(self) -> None:
        if self.handlers is None:
            return
        with connect(self.settings.bus_url) as conn:
            declare(conn, [self.handlers.spec])

    def relay(self) -> Relay:
        if self._relay is not None:
            return self._relay(self)
        return Relay(self.db.engine, self.outbox, Publisher(self.settings.bus_url))

    def consumer(self) -> EventConsumer | None:
        if self.handlers is None:
            return None
        return EventConsumer(self.settings.bus_url, Applier(self.db, self.inbox, self.handlers))


class Worker:
    """Runs a service's outbox relay, its consumer, its daily jobs' scheduler and its queued commands
    (each in a background thread; the last two only if the service has any)."""

    def __init__(self, runtime: ServiceRuntime):
        self.runtime = runtime
        self.relay = runtime.relay()
        self.consumer = runtime.consumer()
        self.scheduler = Scheduler(runtime.daily_jobs)
        self.commands = Commands(runtime.name, runtime.queues)
        self.threads: list[threading.Thread] = []

    def start(self) -> Worker:
        name = self.runtime.name
        self.threads.append(threading.Thread(target=self.relay.run_forever, name=f"{name}-relay", daemon=True))
        if self.scheduler.jobs:
            self.threads.append(threading.Thread(target=self.scheduler.run_forever, name=f"{name}-scheduler",
                                                 daemon=True))
        if self.commands.queues:
            self.threads.append(threading.Thread(target=self.commands.run_forever, name=f"{name}-commands",
                                                 daemon=True))
        if self.consumer is not None:
            self.threads.append(
                threading.Thread(target=self.consumer.run, name=f"{name}-consumer", daemon=True)
            )
        for t in self.threads:
            t.start()
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        if self.consumer is not None and not self.consumer.ready.wait(timeout):
            raise TimeoutError(f"{self.runtime.name} consumer did not start within {timeout}s")

    def stop(self) -> None:
        self.relay.stop()
        self.scheduler.stop()
        self.commands.stop()
        if self.consumer is not None:
            self.consumer.stop()
        for t in self.threads:
            t.join(timeout=5)
