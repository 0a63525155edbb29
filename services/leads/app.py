"""Leads service wiring."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from shared import config
from shared.service import ServiceRuntime
from shared.web import create_service_app

from .consumers import handlers
from .models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    from .worker import ImportQueue

    rt = ServiceRuntime(settings or config.load("leads"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers)
    rt.queues.append(ImportQueue(rt.db))  # CSV imports, run by the leads worker
    return rt


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .api import blp
    from .pages import bp

    return create_service_app(runtime or build(settings), [blp], [bp], SERVICE_DIR)
