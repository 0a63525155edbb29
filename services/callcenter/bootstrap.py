"""Callcenter service wiring."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from shared import config
from shared.service import ServiceRuntime
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .handlers import message_bus
from .adapters.models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    return ServiceRuntime(settings or config.load("callcenter"), Base, OUTBOX, INBOX, SERVICE_DIR, handlers,
                          bus=message_bus())


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blp
    from .entrypoints.pages import bp

    return create_service_app(runtime or build(settings), [blp], [bp], SERVICE_DIR)
