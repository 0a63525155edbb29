"""Identity service wiring: the only place that knows its real adapters."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from shared import config
from shared.auth import TokenSigner, ensure_keypair
from shared.service import ServiceRuntime
from shared.web import create_service_app

from .entrypoints.consumers import handlers
from .entrypoints.delivery import NoticeQueue
from .handlers.sessions import session_state
from .adapters.models import INBOX, OUTBOX, Base

SERVICE_DIR = Path(__file__).resolve().parent


def build(settings: config.Settings | None = None) -> ServiceRuntime:
    """The runtime: tokens are checked against the users table itself, and units of work carry the signer."""
    settings = settings or config.load("identity")
    if settings.jwt_private_key_file is None:  # config.load requires it for identity in production
        raise config.ConfigError("identity signs tokens: set JWT_PRIVATE_KEY_FILE")
    if settings.embedded:
        ensure_keypair(settings.jwt_private_key_file, settings.jwt_public_key_file)
    signer = TokenSigner(
        settings.jwt_private_key_file.read_bytes(),
        settings.jwt_public_key_file.read_bytes(),
        settings.jwt_issuer,
        settings.jwt_audience,
        settings.token_ttl_seconds,
    )
    return ServiceRuntime(settings, Base, OUTBOX, INBOX, SERVICE_DIR, handlers, session_state=session_state,
                          queues=[lambda rt: NoticeQueue(rt.db)], signer=signer)


def create_app(settings: config.Settings | None = None, runtime: ServiceRuntime | None = None) -> Flask:
    from .entrypoints.api import blp
    from .entrypoints.pages import bp

    rt = runtime or build(settings)
    return create_service_app(rt, [blp], [bp], SERVICE_DIR)
