"""Customers commands: `python -m services.customers.entrypoints.cli run-schedules [--date YYYY-MM-DD] [--group ID]`.

Publishes the care schedules due on the date (default: today in the group's time zone). Safe to run
as often as you like: every trigger has a stable schedule id and is published once.
"""
from __future__ import annotations

import argparse
import json
import logging
from datetime import date

from ..bootstrap import build, group_scopes
from ..handlers.schedules import run_schedules


def register(sub: argparse._SubParsersAction) -> None:
    """The customers' commands on the `crm` command line."""
    p = sub.add_parser("run-schedules", help="publish the customers' care schedules due on a date (idempotent)")
    p.add_argument("--date", help="local date YYYY-MM-DD (default today)")
    p.add_argument("--group", help="only this group id")
    p.set_defaults(fn=lambda args: main(["run-schedules"] + (["--date", args.date] if args.date else [])
                                        + (["--group", args.group] if args.group else [])))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m services.customers.entrypoints.cli", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run-schedules", help="publish the schedules due on a date (idempotent)")
    p.add_argument("--date", type=date.fromisoformat, default=None, help="local date, default today")
    p.add_argument("--group", default=None, help="one group id (default: every group)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    rt = build()
    day = args.date or rt.local_today()
    print(json.dumps({"date": day.isoformat(), "published": run_schedules(rt.db, day, group_scopes(rt, args.group))}))


if __name__ == "__main__":
    main()
