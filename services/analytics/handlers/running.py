"""Running totals (base customers, owners, pending defeats) kept as month-end snapshots.

A cell (store, brand, one dimension and its value, metric, key) has one row per month, from the
first month it changed in up to the group's horizon (the latest month any running total of the group
changed in); each row holds the total as of the end of its month. A change in month m adds to the
rows m..horizon; a change after the horizon first carries every cell's horizon row forward. A
month's total is then one row per cell (the row of that month, or the horizon's for a later month)
instead of a sum over every month before it. A row's value is the sum of the cell's changes up to
its month, so it does not depend on the order the changes arrive in.
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.orm import Session

from ..adapters import bulk
from ..domain import kpis as K
from ..adapters.models import RollupRunning

# (group, store, brand, month, dim, dim value, metric, key) → change in the month
Changes = dict[tuple[str, str, str, str, str, str, str, str], int]
KEYS = ["group_id", "month", "dim", "store_id", "dim_value", "metric", "key", "brand_id"]
COLS = ("group_id", "store_id", "brand_id", "month", "dim", "dim_value", "metric", "key", "value")
COPIED = ("group_id", "store_id", "brand_id", "dim", "dim_value", "metric", "key", "value")


def months_from(first: str, last: str) -> list[str]:
    """Every month from `first` to `last`, both included ('2026-11' … '2027-01')."""
    out = []
    while first <= last:
        out.append(first)
        first = K.shift_month(first, 1)
    return out


def add_changes(s: Session, changes: Changes) -> None:
    """Add summed month changes to the snapshots of every month from theirs to the horizon."""
    by_group: dict[str, Changes] = defaultdict(dict)
    for cell, v in changes.items():
        if v:
            by_group[cell[0]][cell] = v
    for gid, cells in sorted(by_group.items()):
        _lock(s, gid)
        horizon = horizon_of(s, gid)
        latest = max(cell[3] for cell in cells)
        if horizon is not None and latest > horizon:
            _carry_forward(s, gid, horizon, latest)
        horizon = latest if horizon is None else max(horizon, latest)
        rows: dict[tuple, int] = defaultdict(int)
        for (g, store, brand, month, dim, dim_value, metric, key), v in cells.items():
            for m in months_from(month, horizon):
                rows[(g, store, brand, m, dim, dim_value, metric, key)] += v
        bulk.add_rows(s, RollupRunning, COLS, [(*cell, v) for cell, v in rows.items() if v], KEYS)


def horizon_of(s: Session, group_id: str) -> str | None:
    """The latest month the group's snapshots reach."""
    R = RollupRunning
    return s.scalar(select(func.max(R.month)).where(R.group_id == group_id))


def _lock(s: Session, group_id: str) -> None:
    # the horizon is read, then written: concurrent consumers of one group take turns (until commit)
    if bulk.is_pg(s):
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext('rollup_running:' || :g))"), {"g": group_id})


def _carry_forward(s: Session, group_id: str, horizon: str, until: str) -> None:
    """Copy every cell's horizon row to each month after it, up to `until`."""
    R = RollupRunning
    for month in months_from(K.shift_month(horizon, 1), until):
        cols = [literal(month).label("month") if c == "month" else getattr(R, c) for c in ("month", *COPIED)]
        s.execute(insert(R).from_select(["month", *COPIED],
                                        select(*cols).where(R.group_id == group_id, R.month == horizon)))
