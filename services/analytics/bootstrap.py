"""Analytics service wiring."""
from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

from flask import Flask

from shared import config
from shared.service import DailyRun, ServiceRuntime
from shared.tenancy import Scope
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .adapters.models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent
#: the nightly reconciliation compares the week before the day it runs (late events rarely reach further)
RECONCILED_DAYS = 7


def request_reconciliation(rt: ServiceRuntime, group_id: str, today: date, days: int = RECONCILED_DAYS) -> None:
    """Ask every source for its own counts of group `group_id` over the `days` days before today (their
    answers are compared as they arrive, `consumers.compare_counts`)."""
    from uuid6 import uuid7

    from shared.bus import emit
    from shared.daily_counts import REQUESTED
    from shared.events import Event

    with rt.db.session(Scope.system(group_id)) as s:
        emit(s, Event(type=REQUESTED, group_id=group_id, data={
            "request_id": str(uuid7()), "day_from": today - timedelta(days=days),
            "day_to": today - timedelta(days=1)}))


def compact(rt: ServiceRuntime, today: date, group_id: str | None = None, window: int | None = 35) -> tuple[int, int]:
    """Fold the fine rollup's rows older than two days into one row per cell, over the last `window`
    days (the daily run: late events rarely reach further back) or all of them (None); returns the
    rows before and after."""
    from .handlers.ingest import compact_fine

    until = today - timedelta(days=2)
    with rt.db.session(Scope.system(group_id)) as s:
        return compact_fine(s, until, None if window is None else until - timedelta(days=window))


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    """The runtime: its worker folds the fine rollup (unless ANALYTICS_DAILY_COMPACTION=0) and asks the
    sources for their counts (unless ANALYTICS_NIGHTLY_RECONCILIATION=0) once per group and local day."""
    daily: dict[str, DailyRun] = {}
    if os.environ.get("ANALYTICS_DAILY_COMPACTION", "1") == "1":
        daily["compaction"] = lambda rt, group_id, today: compact(rt, today, group_id)
    if os.environ.get("ANALYTICS_NIGHTLY_RECONCILIATION", "1") == "1":
        daily["reconciliation"] = request_reconciliation
    return ServiceRuntime(settings or config.load("analytics"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers,
                          daily=daily)


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import platform_clock  # noqa: F401  (their views register on the blueprints)
    from .entrypoints.api import reconcile  # noqa: F401
    from .entrypoints import targets_upload  # noqa: F401
    from .entrypoints.api import blp
    from .entrypoints.pages import bp

    return create_service_app(runtime or build(settings), [blp], [bp], SERVICE_DIR)
