"""Leads service wiring."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from flask import Flask

from shared import clock, config
from shared.service import ServiceRuntime
from shared.tenancy import Scope
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .adapters.models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent


def publish_misses(rt: ServiceRuntime, today: date | None = None) -> int:
    """The daily job: `leads.report.missed` for every owed report of the last week not in by its deadline
    (once each)."""
    from sqlalchemy import select

    from .adapters.models import StoreRef
    from .handlers.reports import publish_misses as publish_group_misses

    with rt.db.session(Scope.system()) as s:
        groups = sorted(set(s.scalars(select(StoreRef.group_id))))
    n = 0
    for group_id in groups:
        with rt.db.session(Scope.system(group_id)) as s:
            n += publish_group_misses(s, clock.now())
    return n


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    """The runtime: its worker runs the reports-missed check once per local day (unless
    LEADS_DAILY_REPORT_MISSES=0) and the queued CSV imports."""
    from .entrypoints.worker import ImportQueue

    daily = {"leads": publish_misses} if os.environ.get("LEADS_DAILY_REPORT_MISSES", "1") == "1" else {}
    return ServiceRuntime(settings or config.load("leads"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers,
                          daily=daily, queues=[lambda rt: ImportQueue(rt.db)])


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blp
    from .entrypoints.pages import bp

    return create_service_app(runtime or build(settings), [blp], [bp], SERVICE_DIR)
