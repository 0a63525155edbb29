"""Identity use cases. Each takes a unit of work (or, for login and password checks, a way to open
short ones), raises domain errors (`shared.errors`) and records its events for the outbox."""
from __future__ import annotations

from shared.auth import Principal
from shared.events import Event
from shared.uow import UnitOfWork


def emit(uow: UnitOfWork, kind: str, data: dict, actor: Principal | None, group_id: str, **kw) -> None:
    """Record `identity.<kind>` for the other services."""
    uow.emit(Event(type=f"identity.{kind}", data=data, group_id=group_id, actor=actor.user_id if actor else None, **kw))
