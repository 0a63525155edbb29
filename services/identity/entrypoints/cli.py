"""Identity's commands for the `crm` command line: the demo group."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("seed", help="create the demo group (idempotent)")
    p.add_argument("--group", default="demo")
    p.add_argument("--password", help="password of every demo user (required outside embedded mode)")
    p.set_defaults(fn=_seed)


def _seed(args: argparse.Namespace) -> None:
    """Create the demo group; outside embedded mode only with an explicit, non-default password."""
    from ..bootstrap import build
    from .seed import DEMO_PASSWORD, seed_group

    rt = build()
    password = args.password or DEMO_PASSWORD
    if not rt.settings.embedded and (not args.password or args.password == DEMO_PASSWORD):
        raise SystemExit("production mode: give the demo users a real password with --password")
    gid = seed_group(rt, code=args.group, password=password)
    print(f"group {args.group}: " + ("created" if gid else "already present"))
