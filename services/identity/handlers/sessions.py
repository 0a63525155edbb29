"""Ending sessions, and what a token is checked against in identity itself (`shared.sessions`)."""
from __future__ import annotations

from sqlalchemy import Connection, select

from shared.auth import Principal
from shared.sessions import SessionState
from shared.uow import UnitOfWork

from ..adapters.models import User
from . import emit


def end_sessions(uow: UnitOfWork, p: Principal) -> None:
    """Logout: every token of the user stops working on every service, not only this browser's."""
    user = uow.session.get(User, p.user_id)
    if user is None:
        return
    user.token_version += 1
    uow.session.flush()
    emit(uow, "session.ended", {"user_id": user.id, "token_version": user.token_version, "reason": "logout"},
         p, user.group_id, store_id=user.store_id)


def session_state(conn: Connection, group_id: str, user_id: str) -> SessionState:
    """Identity's own users table; a user it does not know has no valid session at all."""
    row = conn.execute(select(User.token_version, User.active).where(User.id == user_id, User.group_id == group_id)).first()
    return SessionState(0, active=False) if row is None else SessionState(row.token_version, row.active)
