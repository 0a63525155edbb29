"""What every customers API module shares: the blueprint, the service's runtime, read-only units of work."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from shared.web import ApiBlueprint
from shared.auth import Principal
from shared.service import ServiceRuntime

blp = ApiBlueprint("customers", __name__, url_prefix="/customers/api/v1", description="The unified customer view")


def runtime() -> ServiceRuntime:
    """The customers runtime: `runtime().uow(scope)` is a unit of work that saves only on `commit()`."""
    return current_app.extensions["crm"]


@contextmanager
def reading(p: Principal) -> Iterator[Session]:
    """A unit of work that only reads, in the caller's scope: nothing is saved, and the rows read stay
    readable after it ends (they are let go of before the roll-back, which would expire them)."""
    with runtime().uow(p.scope) as uow:
        yield uow.session
        uow.session.expunge_all()
