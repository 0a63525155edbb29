"""Identity service wiring: the only place that knows its real adapters."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from shared import config
from shared.auth import TokenSigner
from shared.service import ServiceRuntime
from shared.web import create_service_app

from .models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    settings = settings or config.load("identity")
    rt = ServiceRuntime(settings, Base, OUTBOX, INBOX, SERVICE_DIR)
    rt.signer = TokenSigner(  # type: ignore[attr-defined]
        settings.jwt_private_key_file.read_bytes(),
        settings.jwt_public_key_file.read_bytes(),
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.token_ttl_seconds,
    )
    return rt


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .api import blp
    from .pages import bp

    rt = runtime or build(settings)
    return create_service_app(rt, [blp], [bp], SERVICE_DIR)
