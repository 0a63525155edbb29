"""A service's runtime: settings, database with scoping and outbox, migrations, bus worker."""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, NullPool, Table, create_engine, make_url
from sqlalchemy.orm import Session

from shared import clock, config, rls
from shared.auth import ensure_keypair
from shared.bus.consumer import Applier, EventConsumer, EventHandlers
from shared.bus.outbox import install_outbox
from shared.bus.publisher import Publisher
from shared.bus.relay import Relay
from shared.bus.topology import connect, declare
from shared.db import Database, read_only
from shared.bus.tables import known_groups_of
from shared.scheduler import INTERVAL, Daily, Scheduler, bind
from shared.sessions import MIGRATIONS as SESSION_MIGRATIONS
from shared.sessions import SessionCheck, StateReader, session_table, stored_state, with_session_copy
from shared.migrations import grant_app_role
from shared.tenancy import NO_GROUP, Scope
from shared.uow import MessageBus, UnitOfWork
from shared.wake import Wakeup

log = logging.getLogger(__name__)


class WorkQueue(Protocol):
    """Queued commands a worker runs (e.g. leads' imports, identity's notices): `run_once` does one step
    of one command (one chunk, committed) and says whether it found work; a commit that queues work
    for it notifies its `channel` (`shared.wake.notify`); `due_in` says in how many seconds work it
    already holds falls due (a retry, a quiet hour's end), or None."""

    channel: str

    def run_once(self) -> bool: ...

    def due_in(self) -> float | None: ...


#: embedded mode (no LISTEN): how often an idle worker looks at its queues anyway, for work queued by
#: another serving process (an in-process wake-up covers its own); a read-only SQLite transaction
QUEUE_FALLBACK_POLL = 1.0


class Commands:
    """The worker's loop over its service's work queues: steps while there is work, else sleeps until a
    commit queues some (`shared.wake`), until the earliest due time a queue names, or the fallback poll."""

    def __init__(self, name: str, queues: list[WorkQueue], engine: Engine):
        self.name, self.queues = name, queues
        self.wakeup = Wakeup(engine, *dict.fromkeys(q.channel for q in queues), fallback=QUEUE_FALLBACK_POLL)

    def run_once(self) -> bool:
        busy = False
        for q in self.queues:
            try:
                busy = q.run_once() or busy
            except Exception:  # a queue's own errors are its commands' (marked failed); this is the database
                log.exception("%s: work queue failed", self.name)
        return busy

    def due_in(self) -> float | None:
        """Seconds until the earliest work a queue already holds falls due (None: none known)."""
        due = [d for d in (q.due_in() for q in self.queues) if d is not None]
        return min(due) if due else None

    def run_forever(self) -> None:
        try:
            while not self.wakeup.stopping.is_set():
                self.wakeup.clear()  # before looking: a commit during the look wakes the next wait
                if not self.run_once():
                    self.wakeup.wait(self.due_in())
        finally:
            self.wakeup.close()

    def stop(self) -> None:
        self.wakeup.stop()


#: a service's daily job: given its runtime, the group and the group's local day (or a `Daily` with its time)
DailyRun = Callable[["ServiceRuntime", str, date], object] | Daily


class ServiceRuntime:
    """Everything one service needs at run time, built from its settings (the only wiring point).

    Session validity (`shared.sessions`): unless the service reads its users' token versions itself
    (`session_state`, identity), the runtime gives it the `session_versions` table, its migration and
    the handler of identity's user events that keeps it; `sessions` is what the request
    authentication asks. `uow_extras` become attributes of every unit of work (e.g. identity's
    `signer`, customers' `pii`).

    A service's extras are constructor arguments, not subclasses: `daily` (name → `run(runtime, group_id,
    day)` or `Daily(run, at=time(18, 0))`, run once per group and local day of the group by the worker's
    scheduler, `shared.scheduler`), `queues` (factories of the worker's queued commands, e.g. leads'
    imports and identity's notices) and
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
        session_info: Mapping[str, object] | None = None,
        **uow_extras,
    ):
        self.settings = settings
        self.name = settings.service
        self.base, self.outbox, self.inbox = base, outbox, inbox
        self.service_dir = service_dir
        self.session_versions: Table | None = None
        under_rls = session_state is not None  # identity reads its users table, a tenant's table
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
        self.sessions = SessionCheck(self.db.engine, session_state, under_rls=under_rls)
        self.bus = bus or MessageBus()
        self.uow_extras = {"settings": settings, **uow_extras}
        #: run by the service's worker (`Worker`): daily jobs on its scheduler, queued commands
        self.daily_jobs = bind(self, (daily or {}).items())
        self.queues: list[WorkQueue] = [make(self) for make in queues]

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

    def scheduler(self, interval: float = INTERVAL) -> Scheduler:
        """The scheduler of this service's daily jobs (`shared.scheduler`), on its own tables."""
        return Scheduler(self.daily_jobs, self.db, self.base.metadata.tables.get("job_runs"),
                         known_groups_of(self.inbox), self.settings.default_timezone, interval=interval)

    def local_today(self) -> date:
        """Today in the platform's default time zone (what a command run by hand takes as today)."""
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
        self.scheduler = runtime.scheduler()
        self.commands = Commands(runtime.name, runtime.queues, runtime.db.engine)
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
