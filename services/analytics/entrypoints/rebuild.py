"""Recompute every analytics rollup from the stored event log: `python -m services.analytics.entrypoints.rebuild [--group ID]`.

Labels, facts and rollups are deleted and rebuilt in one unit of work, so readers see either the old
or the new figures; the numbers are identical to those built as the events arrived.
"""
from __future__ import annotations

import argparse

from shared.tenancy import Scope


def rebuild_rollups(group_id: str | None = None, settings=None, definitions: int | None = None) -> int:
    """Rebuild one group's (or every group's) rollups, under a version of the KPI definitions (kept in
    force) or the one in force; returns the number of events replayed."""
    from ..bootstrap import build
    from ..handlers.ingest import rebuild

    rt = build(settings)
    with rt.db.session(Scope.system(group_id)) as s:
        return rebuild(s, definitions=definitions)


def compact(group_id: str | None = None, settings=None) -> tuple[int, int]:
    """Fold every fine rollup row older than two days into one row per cell (the worker folds the last
    35 days of them once a day; ingestion appends a row per changed cell and batch, and screens split
    by two dimensions read them)."""
    from .. import bootstrap

    rt = bootstrap.build(settings)
    return bootstrap.compact(rt, rt.local_today(), group_id, window=None)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m services.analytics.entrypoints.rebuild", description=__doc__.splitlines()[0])
    ap.add_argument("--group", help="only this group id (default: every group)")
    ap.add_argument("--definitions", type=_version, metavar="v1|v2",
                    help="rebuild under this version of the KPI definitions and keep it in force (default: the "
                         "version in force; docs/kpis.md lists them)")
    ap.add_argument("--compact", action="store_true",
                    help="instead of rebuilding, fold the fine rollup's rows older than two days (the worker does it daily)")
    args = ap.parse_args(argv)
    if args.compact:
        before, after = compact(args.group)
        print(f"analytics: fine rollup compacted, {before:,} rows into {after:,}")
        return
    n = rebuild_rollups(args.group, definitions=args.definitions)
    under = f" under definitions v{args.definitions}" if args.definitions else ""
    print(f"analytics: rebuilt rollups from {n:,} logged events{under}")


def _version(value: str) -> int:
    from ..domain.definitions import parse_version

    try:
        return parse_version(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


if __name__ == "__main__":
    main()
