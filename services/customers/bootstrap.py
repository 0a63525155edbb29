"""Customers service wiring: runtime (database with PII keys, bus, daily care run) and the Flask app."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from flask import Flask

from shared import config
from shared.service import ServiceRuntime
from shared.tenancy import Scope
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .adapters.models import INBOX, OUTBOX, Base
from .pii import Pii

SERVICE_DIR = Path(__file__).resolve().parent


def group_scopes(rt: ServiceRuntime, group_id: str | None = None) -> list[Scope]:
    """The scope of `group_id`, or one per group with customers: what the daily job and `crm` run the
    care schedules in."""
    from .handlers.schedules import groups_with_customers

    if group_id:
        return [Scope.system(group_id)]
    with rt.db.session(Scope.system()) as s:
        return [Scope.system(gid) for gid in groups_with_customers(s)]


def daily_schedules(rt: ServiceRuntime, group_id: str, today: date) -> None:
    """The daily job, for one group: the group's care schedules of its local day."""
    from .handlers.schedules import run_schedules

    run_schedules(rt.db, today, group_scopes(rt, group_id))


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    """The runtime: every session carries the PII keys; the worker runs the care schedules once per group
    and local day (unless CUSTOMERS_DAILY_SCHEDULES=0)."""
    settings = settings or config.load("customers")
    daily = {"care_schedules": daily_schedules} if os.environ.get("CUSTOMERS_DAILY_SCHEDULES", "1") == "1" else {}
    return ServiceRuntime(settings, Base, OUTBOX, INBOX, SERVICE_DIR, handlers, daily=daily,
                          session_info={"pii": Pii(settings.secret_key)})


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blueprints
    from .entrypoints.pages import bp as pages

    return create_service_app(runtime or build(settings), blueprints, [pages], SERVICE_DIR)
