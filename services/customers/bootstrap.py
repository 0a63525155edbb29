"""Customers service wiring: runtime (database with PII keys, bus, daily care run) and the Flask app."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from flask import Flask

from shared import config
from shared.service import DailyJob, ServiceRuntime
from shared.tenancy import Scope
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .adapters.models import INBOX, OUTBOX, Base
from .pii import Pii

SERVICE_DIR = Path(__file__).resolve().parent


class CustomersRuntime(ServiceRuntime):
    def __init__(self, settings: config.Settings, *a, **kw):
        super().__init__(settings, *a, **kw)
        self.db.factory.kw.setdefault("info", {})["pii"] = Pii(settings.secret_key)
        self.daily_schedules = os.environ.get("CUSTOMERS_DAILY_SCHEDULES", "1") == "1"
        if self.daily_schedules:  # the worker's scheduler runs the day's care schedules once per local day
            self.daily_jobs.append(DailyJob("customers", self.local_today, self._daily_schedules))

    def _daily_schedules(self, today: date) -> None:
        from .handlers.schedules import run_schedules

        run_schedules(self.db, today, self.group_scopes())

    def group_scopes(self, group_id: str | None = None) -> list[Scope]:
        """The scope of `group_id`, or one per group with customers: what the daily job and `crm` run the
        care schedules in."""
        from .handlers.schedules import groups_with_customers

        if group_id:
            return [Scope.system(group_id)]
        with self.db.session(Scope.system()) as s:
            return [Scope.system(gid) for gid in groups_with_customers(s)]


def build(settings: config.Settings | None = None) -> CustomersRuntime:
    return CustomersRuntime(settings or config.load("customers"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers)


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blueprints
    from .entrypoints.pages import bp as pages

    return create_service_app(runtime or build(settings), blueprints, [pages], SERVICE_DIR)
