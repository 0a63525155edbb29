"""Leads service wiring."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from flask import Flask

from shared import clock, config
from shared.service import DailyJob, ServiceRuntime
from shared.tenancy import Scope
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .adapters.models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent


class LeadsRuntime(ServiceRuntime):
    def __init__(self, settings: config.Settings, *a, **kw):
        super().__init__(settings, *a, **kw)
        self.daily_misses = os.environ.get("LEADS_DAILY_REPORT_MISSES", "1") == "1"
        if self.daily_misses:  # on the worker's scheduler, once per local day
            self.daily_jobs.append(DailyJob("leads", self.local_today, self.publish_misses))

    def publish_misses(self, today: date | None = None) -> int:
        """`leads.report.missed` for every owed report of the last week not in by its deadline (once each)."""
        from sqlalchemy import select

        from .handlers.reports import publish_misses
        from .adapters.models import StoreRef

        with self.db.session(Scope.system()) as s:
            groups = sorted(set(s.scalars(select(StoreRef.group_id))))
        n = 0
        for group_id in groups:
            with self.db.session(Scope.system(group_id)) as s:
                n += publish_misses(s, clock.now())
        return n


def build(settings: config.Settings | None = None) -> LeadsRuntime:
    from .entrypoints.worker import ImportQueue

    rt = LeadsRuntime(settings or config.load("leads"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers)
    rt.queues.append(ImportQueue(rt.db))  # CSV imports, run by the leads worker
    return rt


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blp
    from .entrypoints.pages import bp

    return create_service_app(runtime or build(settings), [blp], [bp], SERVICE_DIR)
