"""`crm` command: serve, migrate, worker, dead letters, new migrations, and each service's own commands."""
from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import signal
import sys
import tempfile

from shared.config import SERVICES


def runtime_of(service: str, settings=None):
    return importlib.import_module(f"services.{service}.bootstrap").build(settings)


def cmd_migrate(args) -> None:
    for svc in SERVICES if args.all else [args.service]:
        rt = runtime_of(svc)
        rt.migrate()
        rt.declare_topology()
        print(f"{svc}: migrated to head")


def cmd_worker(args) -> None:
    """Run one service's outbox relay, consumer, daily jobs and queued commands until SIGTERM."""
    from shared.service import Worker

    rt = runtime_of(args.service)
    rt.refuse_unsafe_role()
    rt.declare_topology()
    gc.collect()  # what is loaded by now lives as long as the process: out of the collector's reach
    gc.freeze()
    import threading

    worker = Worker(rt).start()
    stop = threading.Event()  # set by the signal handler, which also ends the wait below at once
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"{args.service} worker running", flush=True)
    while not stop.wait(1.0) and all(t.is_alive() for t in worker.threads):
        pass  # a thread that died ends the worker within a second (its supervisor starts it again)
    worker.stop()


def cmd_make_migration(args) -> None:
    """Autogenerate a new revision for one service against a scratch SQLite database."""
    from alembic import command

    from shared import config

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CRM_VAR_DIR=tmp, CRM_MODE="embedded")
        env.pop(f"{args.service.upper()}_DATABASE_URL", None)
        rt = runtime_of(args.service, config.load(args.service, env))
        rt.migrate()
        cfg = rt.alembic_config()
        command.revision(cfg, message=args.message, autogenerate=True, head=rt.own_head())


def cmd_dead_letters(args) -> None:
    from shared.bus import deadletters

    rt = runtime_of(args.service)
    if args.action == "list":
        deadletters.print_list(rt)
    else:
        n = deadletters.replay(rt, args.id)
        print(f"replayed {n} message(s)")


def cmd_serve(args) -> None:
    from crm.starting import EarlyListener

    early = EarlyListener(args.host, args.port)  # the port answers before the platform's modules are imported
    from crm.embedded import serve

    serve(host=args.host, port=args.port, processes=args.processes, early=early)


BUILT_IN = ("serve", "migrate", "worker", "dead-letters", "make-migration")


def _wants_service_commands(argv: list[str] | None) -> bool:
    """False for a built-in command: importing every service's commands costs a second of CPU (minutes'
    worth on a busy machine) before `crm serve` could even bind its port."""
    args = sys.argv[1:] if argv is None else argv
    return not args or args[0] not in BUILT_IN


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    ap = argparse.ArgumentParser(prog="crm", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve", help="embedded mode: every service and consumer at one address")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--processes", type=int, help="processes serving requests (default: cores + 1, at most 4)")
    p.set_defaults(fn=cmd_serve)
    p = sub.add_parser("migrate", help="upgrade a service's database and declare its queues")
    p.add_argument("service", nargs="?", choices=SERVICES)
    p.add_argument("--all", action="store_true")
    p.set_defaults(fn=cmd_migrate)
    p = sub.add_parser("worker", help="run a service's outbox relay, event consumer, daily jobs and queued commands")
    p.add_argument("service", choices=SERVICES)
    p.set_defaults(fn=cmd_worker)
    p = sub.add_parser("dead-letters", help="list or replay a consumer's dead letters")
    p.add_argument("action", choices=("list", "replay"))
    p.add_argument("service", choices=SERVICES)
    p.add_argument("--id", help="replay only the message with this event id")
    p.set_defaults(fn=cmd_dead_letters)
    for svc in SERVICES if _wants_service_commands(argv) else ():  # each service registers its own commands
        try:
            commands = importlib.import_module(f"services.{svc}.entrypoints.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{svc}.entrypoints.cli":
                raise
            continue
        commands.register(sub)
    p = sub.add_parser("make-migration", help="autogenerate an Alembic revision for a service")
    p.add_argument("service", choices=SERVICES)
    p.add_argument("-m", "--message", required=True)
    p.set_defaults(fn=cmd_make_migration)
    args = ap.parse_args(argv)
    if args.cmd == "migrate" and not (args.all or args.service):
        ap.error("migrate needs a service or --all")
    args.fn(args)


if __name__ == "__main__":
    main()
