"""Customers service wiring: runtime (database with PII keys, bus, daily care run) and the Flask app."""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask

from shared import clock, config
from shared.bus.relay import Relay
from shared.service import ServiceRuntime
from shared.web import create_service_app

from .consumers import handlers
from .models import INBOX, OUTBOX, Base
from .pii import Pii

SERVICE_DIR = Path(__file__).resolve().parent
log = logging.getLogger(__name__)


class DailyCareRelay(Relay):
    """The outbox relay that also runs the daily care schedules once per local day (idempotent)."""

    def __init__(self, runtime: CustomersRuntime, *a, **kw):
        super().__init__(*a, **kw)
        self.runtime = runtime
        self.last_day: date | None = None
        self.thread: threading.Thread | None = None
        self.next_try = 0.0

    def run_once(self) -> int:
        n = super().run_once()
        today = self.runtime.local_today()
        busy = self.thread is not None and self.thread.is_alive()
        if self.runtime.daily_schedules and today != self.last_day and not busy and time.monotonic() >= self.next_try:
            self.next_try = time.monotonic() + 60  # after a failure, try again a minute later
            self.thread = threading.Thread(target=self._daily, args=(today,), name="customers-daily", daemon=True)
            self.thread.start()
        return n

    def _daily(self, today: date) -> None:
        from .handlers.schedules import run_schedules

        try:
            run_schedules(self.runtime.db, today)
            self.last_day = today
        except Exception:  # the next tick tries again; publishing is idempotent
            log.exception("customers: daily schedules failed")


class CustomersRuntime(ServiceRuntime):
    def __init__(self, settings: config.Settings, *a, **kw):
        super().__init__(settings, *a, **kw)
        self.db.factory.kw.setdefault("info", {})["pii"] = Pii(settings.secret_key)
        self.daily_schedules = os.environ.get("CUSTOMERS_DAILY_SCHEDULES", "1") == "1"

    def local_today(self) -> date:
        return clock.now().astimezone(ZoneInfo(self.settings.default_timezone)).date()

    def relay(self) -> Relay:
        base = super().relay()
        return DailyCareRelay(self, base.engine, base.outbox, base.publisher)


def build(settings: config.Settings | None = None) -> CustomersRuntime:
    return CustomersRuntime(settings or config.load("customers"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers)


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .api import blueprints
    from .pages import bp as pages

    return create_service_app(runtime or build(settings), blueprints, [pages], SERVICE_DIR)
