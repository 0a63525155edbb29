"""Embedded mode: every service, its relay and its consumer in one process at one address.

Like the all-in-one modes of Jaeger or Loki: the same code as production, with SQLite files under
var/ and the kombu filesystem transport instead of PostgreSQL and RabbitMQ (`CRM_EMBEDDED_ENGINE=postgres`:
a PostgreSQL server of its own under var/pg instead of the SQLite files, `crm.embedded_pg`). `crm serve` serves from a
few processes on one port (`default_processes`): one Python process runs one thread at a time.
"""
from __future__ import annotations

import importlib
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

from flask import Flask
from werkzeug.wrappers import Response

from crm.embedded_pg import EmbeddedPostgres, engine_of
from crm.starting import THREADS, EarlyListener, StartProgress
from shared import config
from shared.db import read_only
from shared.service import ServiceRuntime, Worker

log = logging.getLogger(__name__)
#: after a crash the embedded bus may have lost in-flight messages; re-send the recent ones (inboxes dedupe)
REPLAY_MINUTES = 10


class Platform:
    """All five services wired together in one process."""

    def __init__(self, env: dict | None = None):
        self.runtimes: dict[str, ServiceRuntime] = {}
        self.apps: dict[str, Flask] = {}
        self.workers: list[Worker] = []
        #: True when `prepare(seed=True)` created the demo group in this start (the first start)
        self.created_demo = False
        for svc in config.SERVICES:
            mod = importlib.import_module(f"services.{svc}.bootstrap")
            rt = mod.build(config.load(svc, env))
            self.runtimes[svc] = rt
            self.apps[svc] = mod.create_app(runtime=rt)

    def prepare(self, seed: bool = True, migrate: bool = True) -> Platform:
        for rt in self.runtimes.values() if migrate else ():
            rt.migrate()
            rt.declare_topology()
        if seed:
            from services.identity.entrypoints.seed import seed_demo

            outcome = seed_demo(self.runtimes["identity"])
            self.created_demo = outcome == "demo group created"
            log.info("identity: %s", outcome)
        return self

    def start(self, replay_minutes: int = 0) -> Platform:
        for rt in self.runtimes.values():
            w = Worker(rt)
            if replay_minutes:
                w.relay.replay_recent(replay_minutes)
            self.workers.append(w.start())
        for w in self.workers:
            w.wait_ready()
        return self

    def wait_until_consumed(self, timeout: float = 30.0) -> None:
        """Block until every event committed so far has been applied by every consumer it concerns."""
        from sqlalchemy import select

        from shared.bus.consumer import _topic_match
        from shared.bus.relay import wait_until

        def settled() -> bool:
            with read_only():  # polled often: reads that take no write lock
                return _settled()

        def _settled() -> bool:
            # a daily job (customers' schedules, analytics' compaction) due for the clock's day has run:
            # what it emits is then in an outbox below; a test that moved the clock reads after it
            if any(w.scheduler.pending() for w in self.workers):
                return False
            # by event id, not by count: a test may feed a consumer events that are in no outbox (analytics'
            # history), which a count would take for the ones still to come. The inboxes are read before
            # the outboxes: an event a consumer emits while applying another (a chain: a survey's low score
            # -> a complaint -> analytics) is then either in the outboxes read below, and wanted, or emitted
            # after every inbox was read, when the event that set it off was not yet in its inbox
            applied: list[tuple[set[str], tuple[str, ...]]] = []
            for rt in self.runtimes.values():
                if rt.handlers is not None:
                    with rt.db.engine.connect() as c:
                        applied.append((set(c.execute(select(rt.inbox.c.event_id)).scalars()),
                                        tuple(rt.handlers.spec.patterns)))
            published: list[tuple[str, str]] = []
            for rt in self.runtimes.values():
                with rt.db.engine.connect() as c:
                    published += [(r.event_id, r.routing_key) for r in c.execute(
                        select(rt.outbox.c.event_id, rt.outbox.c.routing_key))]
            for ids, patterns in applied:
                wanted: dict[str, bool] = {}  # routing key -> bound to this consumer
                for event_id, key in published:
                    if key not in wanted:
                        wanted[key] = any(_topic_match(p, key) for p in patterns)
                    if wanted[key] and event_id not in ids:
                        return False
            return True

        wait_until(settled, timeout=timeout, interval=0.1)

    def stop(self) -> None:
        """Stop every service's worker at once: a consumer ends at its next poll (at most 0.1 s on the
        filesystem bus, a second on AMQP), so one after the other took the sum of five such waits."""
        stopping = [threading.Thread(target=w.stop, name=f"{w.runtime.name}-stop") for w in self.workers]
        for t in stopping:
            t.start()
        for t in stopping:
            t.join()
        self.workers.clear()

    def wsgi(self):
        """Route `/<service>/...` to that service's app, without stripping the prefix."""
        apps = self.apps

        def dispatch(environ, start_response):
            first = environ.get("PATH_INFO", "/").lstrip("/").split("/", 1)[0]
            app = apps.get(first)
            if app is None:
                target = "/identity/" if first == "" else None
                resp = Response(status=302, headers={"Location": target}) if target else Response(
                    '{"code":"not_found","message":"no such service","errors":{}}', 404,
                    content_type="application/json")
                return resp(environ, start_response)
            return app(environ, start_response)

        return dispatch


def default_processes() -> int:
    """Processes that serve requests: one more than the cores, at most four. One Python process runs one
    thread at a time (the GIL), so one process uses at most one core; and on a busy machine the kernel
    shares the cores between runnable processes, so one process would get a share of one core."""
    return min(4, (os.cpu_count() or 1) + 1)


def serve(host: str = "127.0.0.1", port: int = 8000, processes: int | None = None,
          early: EarlyListener | None = None) -> None:
    """Embedded mode: the port answers at once with the start's progress (`crm.starting`; `early` when the
    caller bound it already) while this process migrates, seeds and starts every relay and consumer; then
    the same socket serves the platform. The others (`processes - 1`) start then and join the port when
    ready, each with the relays of its own commits (an in-process wake-up; a file lock per database keeps two
    relays from sending a row twice: `shared.bus.relay`)."""
    processes = processes or default_processes()
    # a socket per process on the same port (SO_REUSEPORT): the kernel spreads new connections evenly over
    # them, where processes accepting from one shared socket take connections unevenly (and a browser's
    # keep-alive connection stays with the process that took it)
    early = early or EarlyListener(host, port)
    if threading.current_thread() is threading.main_thread():  # a service manager's stop: as orderly as Ctrl-C
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        # Ctrl-C too when started with SIGINT ignored (`nohup … &` from a script: Python then installs no
        # handler of its own), so that the PostgreSQL server and the other processes are stopped in order
        signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"Dealer CRM (embedded mode) starting at http://{host}:{port}/  (progress shown there)", flush=True)
    children: list[subprocess.Popen] = []
    platform: Platform | None = None
    database = None
    try:
        if engine_of() == "postgres":  # the services on a PostgreSQL server of their own under var/pg
            early.progress.begin("databases")
            database = EmbeddedPostgres(config.var_dir())
            os.environ.update(database.start())  # the serving processes started below inherit it
        platform = _prepare(early.progress)
        early.gate.open(platform.wsgi())  # ready: this process serves the platform while the others start
        children = [_wait_ready(*_start_more(host, port)) for _ in range(processes - 1)]
        print(f"Dealer CRM (embedded mode) at http://{host}:{port}/  (log in as demo / hq.admin / demo-pass-2026;"
              f" {processes} processes)", flush=True)
        early.wait()
    finally:
        early.close()
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        if platform is not None:
            platform.stop()
        if database is not None:
            database.stop()


def _prepare(progress: StartProgress) -> Platform:
    """Migrate, seed the demo group, start the relays and consumers; on the first start, the demo activity."""
    progress.begin("databases")
    platform = Platform().prepare(seed=False)
    progress.begin("demo_group")
    platform.prepare(seed=True, migrate=False)
    progress.begin("relays")
    platform.start(replay_minutes=REPLAY_MINUTES)
    platform.wait_until_consumed(timeout=120)
    if platform.created_demo:  # first start only: a demo with leads, callbacks and dashboards to look at
        from crm.demo import seed_activity

        progress.begin("activity")
        print("seeding demo activity…", flush=True)
        try:
            counts = seed_activity(platform, days=int(os.environ.get("CRM_DEMO_DAYS", "60")),
                                   leads_per_store=int(os.environ.get("CRM_DEMO_LEADS_PER_STORE", "20")),
                                   progress=lambda done, total: progress.count("activity", done, total),
                                   settling=lambda: progress.begin("dashboards"))
        except Exception:  # the demo still works without the activity
            log.exception("seeding demo activity failed")
        else:
            print(f"demo activity: {counts['leads']} leads, {counts['orders']} orders, {counts['deliveries']}"
                  f" deliveries, {counts['errors']} errors, in {counts['seconds']} s", flush=True)
    return platform


def _start_more(host: str, port: int) -> tuple[subprocess.Popen, int]:
    """Start a `serve_more` process on `host:port`; returns it and the pipe it says it is ready on."""
    ready_r, ready_w = os.pipe()
    child = subprocess.Popen([sys.executable, "-m", "crm.embedded", host, str(port), str(os.getpid()),
                              str(ready_w)], pass_fds=[ready_w])
    os.close(ready_w)
    return child, ready_r


def _wait_ready(child: subprocess.Popen, ready_r: int, timeout: float = 300) -> subprocess.Popen:
    with os.fdopen(ready_r, "rb") as ready:
        if not select.select([ready], [], [], timeout)[0] or ready.read(1) != b"1":
            log.warning("a serving process did not start within %s s (exit code %s)", timeout, child.poll())
    return child


def serve_more(host: str, port: int, parent: int, ready_fd: int) -> None:
    """Another serving process of `serve`: the five apps and their relays, on a socket of its own on the
    same port; it says it is ready on `ready_fd`, and ends when the first process (`parent`) does."""
    from waitress import serve as waitress_serve

    from shared.bus.publisher import Publisher
    from shared.bus.relay import Relay

    def orphaned() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=orphaned, name="orphaned", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    platform = Platform()  # the first process has migrated and seeded
    relays = [Relay(rt.db.engine, rt.outbox, Publisher(rt.settings.bus_url)) for rt in platform.runtimes.values()]
    for relay in relays:
        threading.Thread(target=relay.run_forever, name="relay", daemon=True).start()
    sock = socket.create_server((host, port), backlog=1024, reuse_port=True)  # only now: ready to serve
    with os.fdopen(ready_fd, "wb") as ready:
        ready.write(b"1")
    try:
        waitress_serve(platform.wsgi(), sockets=[sock], threads=THREADS, ident="dealer-crm")
    finally:
        for relay in relays:
            relay.stop()


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve_more(sys.argv[1], *(int(a) for a in sys.argv[2:5]))
