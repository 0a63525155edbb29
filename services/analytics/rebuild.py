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


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m services.analytics.rebuild", description=__doc__.splitlines()[0])
    ap.add_argument("--group", help="only this group id (default: every group)")
    args = ap.parse_args(argv)
    print(f"analytics: rebuilt rollups from {rebuild_rollups(args.group):,} logged events")


if __name__ == "__main__":
    main()
