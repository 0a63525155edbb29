"""Analytics' commands for the `crm` command line: rebuild and compact the rollups."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rebuild-analytics", help="recompute every analytics rollup from the stored event log")
    p.add_argument("--group", help="only this group id")
    p.add_argument("--definitions", metavar="v1|v2", help="under this version of the KPI definitions (kept in force)")
    p.set_defaults(fn=lambda args: _rebuild(args, compact=False))
    p = sub.add_parser("compact-analytics", help="fold the fine rollup's rows older than two days (run nightly)")
    p.add_argument("--group", help="only this group id")
    p.set_defaults(fn=lambda args: _rebuild(args, compact=True))


def _rebuild(args: argparse.Namespace, *, compact: bool) -> None:
    from .rebuild import main as rebuild_main

    rebuild_main([*(["--compact"] if compact else []), *(["--group", args.group] if args.group else []),
                  *(["--definitions", args.definitions] if getattr(args, "definitions", None) else [])])
