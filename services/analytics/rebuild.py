"""Recompute every analytics rollup from the stored event log: `python -m services.analytics.rebuild [--group ID]`.

Labels, facts and rollups are deleted and rebuilt in one unit of work, so readers see either the old
or the new figures; the numbers are identical to those built as the events arrived.
"""
from __future__ import annotations

import argparse

from shared.tenancy import Scope


def rebuild_rollups(group_id: str | None = None, settings=None) -> int:
    """Rebuild one group's (or every group's) rollups; returns the number of events replayed."""
    from .app import build
    from .ingest import rebuild

    rt = build(settings)
    with rt.db.session(Scope.system(group_id)) as s:
        return rebuild(s)


def compact(group_id: str | None = None, settings=None) -> tuple[int, int]:
    """Fold every fine rollup row older than two days into one row per cell (the worker folds the last
    35 days of them once a day; ingestion appends a row per changed cell and batch, and screens split
    by two dimensions read them)."""
    from .app import build

    rt = build(settings)
    return rt.compact(rt.local_today(), group_id, window=None)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m services.analytics.rebuild", description=__doc__.splitlines()[0])
    ap.add_argument("--group", help="only this group id (default: every group)")
    ap.add_argument("--compact", action="store_true",
                    help="instead of rebuilding, fold the fine rollup's rows older than two days (the worker does it daily)")
    args = ap.parse_args(argv)
    if args.compact:
        before, after = compact(args.group)
        print(f"analytics: fine rollup compacted, {before:,} rows into {after:,}")
        return
    print(f"analytics: rebuilt rollups from {rebuild_rollups(args.group):,} logged events")


if __name__ == "__main__":
    main()
