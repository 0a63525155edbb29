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


def report_misses(rt: ServiceRuntime, group_id: str, day: date | None = None) -> int:
    """The daily job, for one group: `leads.report.missed` for every owed report of that day and the week
    before not in by its deadline (once each)."""
    from .handlers.reports import publish_misses as publish_group_misses

    with rt.db.session(Scope.system(group_id)) as s:
        return publish_group_misses(s, clock.now())


def publish_misses(rt: ServiceRuntime, today: date | None = None) -> int:
    """`report_misses` in every group with stores."""
    from sqlalchemy import select

    from .adapters.models import StoreRef

    with rt.db.session(Scope.system()) as s:
        groups = sorted(set(s.scalars(select(StoreRef.group_id))))
    return sum(report_misses(rt, group_id, today) for group_id in groups)


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    """The runtime: its worker runs the reports-missed check once per group and local day at the reports'
    deadline (a weekday's report is owed by 18:00 local; unless LEADS_DAILY_REPORT_MISSES=0) and the
    queued CSV imports."""
    from shared.refcache import ReferenceCache
    from shared.scheduler import Daily

    from .domain.timing import REPORT_DUE
    from .entrypoints.worker import ImportQueue
    from .handlers.common import REFERENCE

    daily = {"report_misses": Daily(report_misses, at=REPORT_DUE)} \
        if os.environ.get("LEADS_DAILY_REPORT_MISSES", "1") == "1" else {}
    cache = ReferenceCache()  # this process's stores, rules and catalogues (`handlers.common.reference`)
    rt = ServiceRuntime(settings or config.load("leads"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers,
                        daily=daily, queues=[lambda rt: ImportQueue(rt.db)], session_info={REFERENCE: cache})
    cache.install(rt.db.factory)
    return rt


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blp
    from .entrypoints.pages import bp

    return create_service_app(runtime or build(settings), [blp], [bp], SERVICE_DIR)
